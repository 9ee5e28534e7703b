using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Agents;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;

namespace Homeroom.Server.Classroom;

/// <summary>A student's screen as last captured.</summary>
public sealed record Thumbnail(ReadOnlyMemory<byte> Image, ThumbnailFormat Format, DateTimeOffset CapturedAt, DateTimeOffset ReceivedAt);

/// <summary>
/// Live screen viewing for a class: which devices are being watched, by whom and until when, and
/// the latest thumbnail of each. Devices are told (a <c>screenView</c> frame with the viewer's name,
/// which they show) and send thumbnails only while watched; images are passed through as they came,
/// never decoded, kept only in memory and dropped when the view ends. A view ends when the teacher
/// stops it or the class session ends, whichever is first. How long each class watched is added to its
/// classroom use when the view ends (<see cref="Insights.ClassUsageRecorder"/>).
/// </summary>
public sealed class ScreenViews(ConnectionRegistry registry, Insights.ClassUsageRecorder usage, JobLeases leases, TimeProvider time, ILogger<ScreenViews> logger)
    : PeriodicTask(TimeSpan.FromSeconds(1), leases, time, logger)
{
    public const int IntervalMilliseconds = 1000;

    /// <summary>Views live in this node's memory, for devices connected to it.</summary>
    public override bool RunsOnEveryNode => true;
    public const int MaxWidth = 400;

    private sealed record Viewing(Guid GroupId, string ViewerName, DateTimeOffset Until);

    private readonly ConcurrentDictionary<Guid, Viewing> _viewing = new();
    private readonly ConcurrentDictionary<Guid, Thumbnail> _latest = new();

    // When each class started watching, and until when it may; a view started again keeps its start.
    private readonly ConcurrentDictionary<Guid, (DateTimeOffset Started, DateTimeOffset Until)> _classViews = new();

    public async Task StartAsync(Guid groupId, string viewerName, DateTimeOffset until, IReadOnlyCollection<Guid> deviceIds)
    {
        var now = Time.GetUtcNow();
        _classViews.AddOrUpdate(groupId, (now, until), (_, view) => (view.Started, until));
        foreach (var deviceId in deviceIds)
        {
            _viewing[deviceId] = new Viewing(groupId, viewerName, until);
            if (registry.Get(deviceId) is { } connection)
            {
                await connection.SendAsync(new ScreenViewFrame(true, viewerName, IntervalMilliseconds, MaxWidth));
            }
        }
    }

    public async Task StopAsync(Guid groupId)
    {
        if (_classViews.TryRemove(groupId, out var view))
        {
            var now = Time.GetUtcNow();
            await usage.AddViewingAsync(groupId, view.Started, now < view.Until ? now : view.Until);
        }

        foreach (var (deviceId, viewing) in _viewing.Where(v => v.Value.GroupId == groupId).ToList())
        {
            if (_viewing.TryRemove(new KeyValuePair<Guid, Viewing>(deviceId, viewing)))
            {
                _latest.TryRemove(deviceId, out _);
                if (registry.Get(deviceId) is { } connection)
                {
                    await connection.SendAsync(new ScreenViewFrame(false, null, IntervalMilliseconds, MaxWidth));
                }
            }
        }
    }

    /// <summary>Whether this group is watching this device now.</summary>
    public bool IsViewing(Guid groupId, Guid deviceId) =>
        _viewing.TryGetValue(deviceId, out var viewing) && viewing.GroupId == groupId && viewing.Until > Time.GetUtcNow();

    /// <summary>Takes a thumbnail from a device; kept only while someone watches it. True when kept.</summary>
    public bool Accept(Guid deviceId, ReadOnlySpan<byte> frame)
    {
        if (_viewing.TryGetValue(deviceId, out var viewing) && viewing.Until > Time.GetUtcNow()
            && ThumbnailFrame.TryDecode(frame, out var format, out var capturedAt, out var offset))
        {
            _latest[deviceId] = new Thumbnail(frame[offset..].ToArray(), format, capturedAt, Time.GetUtcNow());
            return true;
        }

        return false;
    }

    public Thumbnail? Latest(Guid groupId, Guid deviceId) => IsViewing(groupId, deviceId) ? _latest.GetValueOrDefault(deviceId) : null;

    /// <summary>A device that reconnects while watched is told again.</summary>
    public async Task OnConnectedAsync(AgentConnection connection)
    {
        if (_viewing.TryGetValue(connection.DeviceId, out var viewing) && viewing.Until > Time.GetUtcNow())
        {
            await connection.SendAsync(new ScreenViewFrame(true, viewing.ViewerName, IntervalMilliseconds, MaxWidth));
        }
    }

    // Views whose class session ended stop by themselves.
    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        foreach (var group in _viewing.Where(v => v.Value.Until <= now).Select(v => v.Value.GroupId)
            .Concat(_classViews.Where(v => v.Value.Until <= now).Select(v => v.Key)).Distinct().ToList())
        {
            await StopAsync(group);
        }
    }
}
