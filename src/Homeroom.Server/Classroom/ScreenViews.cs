using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Agents;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;

namespace Homeroom.Server.Classroom;

/// <summary>A student's screen as last captured.</summary>
public sealed record Thumbnail(ReadOnlyMemory<byte> Image, ThumbnailFormat Format, DateTimeOffset CapturedAt, DateTimeOffset ReceivedAt);

/// <summary>
/// Live screen viewing for a class: which devices are being watched, by whom and until when, and
/// the latest thumbnail of each. Devices are told (a <c>screenView</c> frame with the viewer's name,
/// which they show) and send thumbnails only while watched; images are passed through as they came,
/// never decoded, and dropped when the view ends. A view ends when the teacher stops it or the class
/// session ends, whichever is first. How long each class watched is added to its classroom use when
/// the view ends (<see cref="Insights.ClassUsageRecorder"/>).
/// <para>
/// On SQLite all of it lives in this node's memory. On PostgreSQL with the backplane (<see cref="ScreenViewStore"/>)
/// the views are also rows every node reads, so a view started on one node reaches devices connected to any other (and
/// again when they reconnect anywhere); the node holding a watched device writes its newest image at most once a
/// second, and a node whose teacher looks at a device held elsewhere reads the image when a notice says it changed.
/// Each node also reads all views again every <see cref="ReloadTicks"/> seconds, so a lost notice costs seconds only.
/// </para>
/// </summary>
public sealed class ScreenViews(
    ConnectionRegistry registry,
    Insights.ClassUsageRecorder usage,
    ScreenViewStore store,
    DeviceLiveState live,
    JobLeases leases,
    TimeProvider time,
    ILogger<ScreenViews> logger)
    : PeriodicTask(TimeSpan.FromSeconds(1), leases, time, logger)
{
    public const int IntervalMilliseconds = 1000;

    /// <summary>On PostgreSQL, every this many ticks a node reads all views again (a notice it missed).</summary>
    public const int ReloadTicks = 10;

    /// <summary>Views live in this node's memory, for devices connected to it.</summary>
    public override bool RunsOnEveryNode => true;
    public const int MaxWidth = 400;

    private sealed record Viewing(Guid GroupId, string ViewerName, DateTimeOffset Until);

    private readonly ConcurrentDictionary<Guid, Viewing> _viewing = new();
    private readonly ConcurrentDictionary<Guid, Thumbnail> _latest = new();

    // When each class started watching, and until when it may; a view started again keeps its start (one node only:
    // on PostgreSQL the rows hold it).
    private readonly ConcurrentDictionary<Guid, (DateTimeOffset Started, DateTimeOffset Until)> _classViews = new();

    // PostgreSQL only. Devices connected here whose newest image is not written yet; devices held elsewhere whose image
    // a notice announced (capture time), the image last read for each, and the reads under way.
    private readonly ConcurrentDictionary<Guid, byte> _unsaved = new();
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _announced = new();
    private readonly ConcurrentDictionary<Guid, Thumbnail> _fetched = new();
    private readonly ConcurrentDictionary<Guid, byte> _fetching = new();

    // A view's rows and this node's memory change together: a reload never undoes a start it read before.
    private readonly SemaphoreSlim _changes = new(1, 1);
    private int _ticks;

    /// <summary>
    /// Raised with a class's id when this node stopped watching some of its devices: the teacher stopped the view (on this
    /// node or, on PostgreSQL, another), its session ended, or another class took a device over. An open classroom page
    /// drops those screens, and stops showing the class as watched once none of its devices is. Handlers must be quick.
    /// </summary>
    public event Action<Guid>? Ended;

    public async Task StartAsync(Guid groupId, string viewerName, DateTimeOffset until, IReadOnlyCollection<Guid> deviceIds)
    {
        var now = Time.GetUtcNow();
        var taken = new HashSet<Guid>(); // classes that watched one of these devices until now
        await _changes.WaitAsync();
        try
        {
            if (store.Enabled && deviceIds.Count > 0)
            {
                await store.StartAsync(groupId, viewerName, now, until, deviceIds, CancellationToken.None);
            }
            else
            {
                // On PostgreSQL too for a class with no devices: there is nothing for another node to show, and its
                // viewing time is counted here when it stops or ends.
                _classViews.AddOrUpdate(groupId, (now, until), (_, view) => (view.Started, until));
            }

            foreach (var deviceId in deviceIds)
            {
                if (_viewing.TryGetValue(deviceId, out var previous) && previous.GroupId != groupId)
                {
                    taken.Add(previous.GroupId);
                }

                _viewing[deviceId] = new Viewing(groupId, viewerName, until);
                await TellAsync(deviceId, new ScreenViewFrame(true, viewerName, IntervalMilliseconds, MaxWidth));
            }
        }
        finally
        {
            _changes.Release();
        }

        RaiseEnded(taken);
    }

    public async Task StopAsync(Guid groupId)
    {
        await _changes.WaitAsync();
        try
        {
            var now = Time.GetUtcNow();
            if (store.Enabled)
            {
                // Whichever node deletes the rows counts the class's viewing time, once.
                if (await store.StopAsync(groupId, CancellationToken.None) is { } ended)
                {
                    await usage.AddViewingAsync(groupId, ended.StartedAt, now < ended.Until ? now : ended.Until);
                }
            }

            if (_classViews.TryRemove(groupId, out var view))
            {
                await usage.AddViewingAsync(groupId, view.Started, now < view.Until ? now : view.Until);
            }

            foreach (var (deviceId, viewing) in _viewing.Where(v => v.Value.GroupId == groupId).ToList())
            {
                await EndLocallyAsync(deviceId, viewing);
            }
        }
        finally
        {
            _changes.Release();
        }

        Ended?.Invoke(groupId);
    }

    /// <summary>Forgets a device's view here; the device is told to stop if it is connected here.</summary>
    private async Task EndLocallyAsync(Guid deviceId, Viewing viewing)
    {
        if (_viewing.TryRemove(new KeyValuePair<Guid, Viewing>(deviceId, viewing)))
        {
            _latest.TryRemove(deviceId, out _);
            _unsaved.TryRemove(deviceId, out _);
            _announced.TryRemove(deviceId, out _);
            _fetched.TryRemove(deviceId, out _);
            await TellAsync(deviceId, new ScreenViewFrame(false, null, IntervalMilliseconds, MaxWidth));
        }
    }

    /// <summary>
    /// Tells a device that a view starts or ends: its agent, and, for a desktop whose agent does not say it can show the
    /// screen (no user-session helper connected, or Windows and macOS, where none is built), the Homeroom extension in its
    /// browsers (its companions, connected here), which sends the visible tab instead. An end goes to all of them.
    /// </summary>
    private async Task TellAsync(Guid deviceId, ScreenViewFrame frame)
    {
        var agent = registry.Get(deviceId);
        if (agent is not null)
        {
            agent.ScreenViewTold = true;
            await agent.SendAsync(frame);
        }

        if (!frame.Active || !AgentShowsScreen(deviceId, agent))
        {
            foreach (var companion in registry.Companions(deviceId))
            {
                companion.ScreenViewTold = true;
                await companion.SendAsync(frame);
            }
        }
    }

    private bool AgentShowsScreen(Guid deviceId, AgentConnection? agent) =>
        agent is not null && live.Capabilities(deviceId) is { } capabilities
        && capabilities.Any(c => c.Name == CapabilityNames.ScreenView && c.Available);

    /// <summary>Whether this group is watching this device now.</summary>
    public bool IsViewing(Guid groupId, Guid deviceId) =>
        _viewing.TryGetValue(deviceId, out var viewing) && viewing.GroupId == groupId && viewing.Until > Time.GetUtcNow();

    /// <summary>
    /// Takes a thumbnail from a device's connection; kept only while someone watches the device. A desktop's browser
    /// extension's is the desktop's, taken only while the desktop's agent does not show the screen itself. True when kept.
    /// </summary>
    public bool Accept(AgentConnection from, ReadOnlySpan<byte> frame)
    {
        var deviceId = from.CompanionOf ?? from.DeviceId;
        if (from.CompanionOf is not null && AgentShowsScreen(deviceId, registry.Get(deviceId)))
        {
            return false;
        }

        if (_viewing.TryGetValue(deviceId, out var viewing) && viewing.Until > Time.GetUtcNow()
            && ThumbnailFrame.TryDecode(frame, out var format, out var capturedAt, out var offset))
        {
            _latest[deviceId] = new Thumbnail(frame[offset..].ToArray(), format, capturedAt, Time.GetUtcNow());
            if (store.Enabled)
            {
                // Written for the other nodes at the next tick: at most once a second however often the device sends.
                _unsaved[deviceId] = 0;
            }

            return true;
        }

        return false;
    }

    // On PostgreSQL a device connected to another node has its image there; this node knows it from that node's notices.
    private bool HeldElsewhere(Guid deviceId) => store.Enabled && !registry.Holds(deviceId) && _announced.ContainsKey(deviceId);

    /// <summary>
    /// The newest image of a watched device, for a page that cannot wait: for a device held by another node it is the
    /// image last read here, and a newer one announced is read in the background (<see cref="DeviceLiveState.Changed"/>
    /// fires when it is in).
    /// </summary>
    public Thumbnail? Latest(Guid groupId, Guid deviceId)
    {
        if (!IsViewing(groupId, deviceId))
        {
            return null;
        }

        if (HeldElsewhere(deviceId))
        {
            var fetched = _fetched.GetValueOrDefault(deviceId);
            if (fetched is null || fetched.CapturedAt < _announced.GetValueOrDefault(deviceId))
            {
                FetchInBackground(deviceId);
            }

            return fetched;
        }

        return _latest.GetValueOrDefault(deviceId);
    }

    /// <summary>The newest image of a watched device, read from the database when another node holds the device.</summary>
    public async Task<Thumbnail?> LatestAsync(Guid groupId, Guid deviceId, CancellationToken cancellationToken)
    {
        if (!IsViewing(groupId, deviceId))
        {
            return null;
        }

        if (store.Enabled && !registry.Holds(deviceId))
        {
            return await store.ThumbnailAsync(deviceId, Time.GetUtcNow(), cancellationToken);
        }

        return _latest.GetValueOrDefault(deviceId);
    }

    /// <summary>When the newest image of a watched device was captured (for tiles; never reads an image).</summary>
    public DateTimeOffset? CapturedAt(Guid groupId, Guid deviceId)
    {
        if (!IsViewing(groupId, deviceId))
        {
            return null;
        }

        return HeldElsewhere(deviceId) ? _announced.GetValueOrDefault(deviceId) : _latest.GetValueOrDefault(deviceId)?.CapturedAt;
    }

    private void FetchInBackground(Guid deviceId)
    {
        if (!_fetching.TryAdd(deviceId, 0))
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var thumbnail = await store.ThumbnailAsync(deviceId, Time.GetUtcNow(), CancellationToken.None);
                // Only a newer image wakes the page, so a page asking again cannot loop.
                if (thumbnail is not null && _viewing.ContainsKey(deviceId)
                    && (_fetched.GetValueOrDefault(deviceId) is not { } previous || previous.CapturedAt < thumbnail.CapturedAt))
                {
                    _fetched[deviceId] = thumbnail;
                    live.Touch(deviceId);
                }
            }
            catch (Exception ex)
            {
                BackplaneLog.ClassroomSyncFailed(Logger, "reading a screen image", ex);
            }
            finally
            {
                _fetching.TryRemove(deviceId, out _);
            }
        });
    }

    /// <summary>A device that reconnects while watched is told again; so is a watched desktop's browser extension that connects, when it stands in for the desktop (<see cref="TellAsync"/>).</summary>
    public async Task OnConnectedAsync(AgentConnection connection)
    {
        var deviceId = connection.CompanionOf ?? connection.DeviceId;
        // Under the lock, and not when a start or end since registration reached the connection: the catch-up never
        // repeats a start, nor lands after an end.
        await _changes.WaitAsync();
        try
        {
            if (!connection.ScreenViewTold && _viewing.TryGetValue(deviceId, out var viewing) && viewing.Until > Time.GetUtcNow()
                && (connection.CompanionOf is null || !AgentShowsScreen(deviceId, registry.Get(deviceId))))
            {
                connection.ScreenViewTold = true;
                await connection.SendAsync(new ScreenViewFrame(true, viewing.ViewerName, IntervalMilliseconds, MaxWidth));
            }
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Another node changed these classes' views (a <c>v</c> notice): read them again.</summary>
    public Task OnViewsChangedAsync(IReadOnlyCollection<Guid> groupIds, CancellationToken cancellationToken) => ReloadAsync(groupIds, cancellationToken);

    /// <summary>Another node stored these devices' images (a <c>t</c> notice), captured at these times.</summary>
    public void OnThumbnailsStored(IReadOnlyList<Guid> deviceIds, IReadOnlyList<long> capturedAtMilliseconds)
    {
        for (var i = 0; i < deviceIds.Count; i++)
        {
            var deviceId = deviceIds[i];
            if (_viewing.ContainsKey(deviceId) && !registry.Holds(deviceId))
            {
                _announced[deviceId] = DateTimeOffset.FromUnixTimeMilliseconds(capturedAtMilliseconds[i]);
                live.Touch(deviceId);
            }
        }
    }

    /// <summary>
    /// Reads the views of these classes (all when null) and makes this node's memory match: devices connected here that a
    /// class started watching are told, those no longer watched are told to stop.
    /// </summary>
    public async Task ReloadAsync(IReadOnlyCollection<Guid>? groupIds, CancellationToken cancellationToken)
    {
        if (!store.Enabled)
        {
            return;
        }

        var ended = new HashSet<Guid>();
        await _changes.WaitAsync(cancellationToken);
        try
        {
            var rows = (await store.LoadAsync(groupIds, cancellationToken)).ToDictionary(r => r.DeviceId);
            foreach (var (deviceId, viewing) in _viewing.ToList())
            {
                if ((groupIds is null || groupIds.Contains(viewing.GroupId)) && !rows.ContainsKey(deviceId))
                {
                    await EndLocallyAsync(deviceId, viewing);
                    ended.Add(viewing.GroupId);
                    live.Touch(deviceId);
                }
            }

            foreach (var row in rows.Values)
            {
                var next = new Viewing(row.GroupId, row.ViewerName, row.Until);
                var previous = _viewing.GetValueOrDefault(row.DeviceId);
                _viewing[row.DeviceId] = next;
                if (previous is not null && previous.GroupId != next.GroupId)
                {
                    // Another class watches the device now.
                    ended.Add(previous.GroupId);
                }

                if (previous is null || previous.GroupId != next.GroupId || previous.ViewerName != next.ViewerName)
                {
                    live.Touch(row.DeviceId);
                    if (next.Until > Time.GetUtcNow())
                    {
                        await TellAsync(row.DeviceId, new ScreenViewFrame(true, next.ViewerName, IntervalMilliseconds, MaxWidth));
                    }
                }
            }
        }
        finally
        {
            _changes.Release();
        }

        RaiseEnded(ended);
    }

    private void RaiseEnded(IEnumerable<Guid> groupIds)
    {
        foreach (var groupId in groupIds)
        {
            Ended?.Invoke(groupId);
        }
    }

    // Views whose class session ended stop by themselves.
    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        if (store.Enabled)
        {
            await RunOnPostgresAsync(now, cancellationToken);
            return;
        }

        foreach (var group in _viewing.Where(v => v.Value.Until <= now).Select(v => v.Value.GroupId)
            .Concat(_classViews.Where(v => v.Value.Until <= now).Select(v => v.Key)).Distinct().ToList())
        {
            await StopAsync(group);
        }
    }

    private async Task RunOnPostgresAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Every node tries; the one whose delete took the rows counts the viewing time and tells the others.
        foreach (var ended in await store.ExpireAsync(now, cancellationToken))
        {
            await usage.AddViewingAsync(ended.GroupId, ended.StartedAt, ended.Until, cancellationToken);
        }

        foreach (var group in _classViews.Where(v => v.Value.Until <= now).Select(v => v.Key).ToList())
        {
            await StopAsync(group); // a view of a class without devices, kept on this node only
        }

        var expired = new HashSet<Guid>();
        await _changes.WaitAsync(cancellationToken);
        try
        {
            foreach (var (deviceId, viewing) in _viewing.Where(v => v.Value.Until <= now).ToList())
            {
                await EndLocallyAsync(deviceId, viewing);
                expired.Add(viewing.GroupId);
            }
        }
        finally
        {
            _changes.Release();
        }

        RaiseEnded(expired);

        var unsaved = new List<(Guid, Thumbnail)>();
        foreach (var deviceId in _unsaved.Keys)
        {
            _unsaved.TryRemove(deviceId, out _);
            if (registry.Holds(deviceId) && _latest.TryGetValue(deviceId, out var thumbnail))
            {
                unsaved.Add((deviceId, thumbnail));
            }
        }

        if (unsaved.Count > 0)
        {
            await store.SaveThumbnailsAsync(unsaved, now, cancellationToken);
        }

        if (Interlocked.Increment(ref _ticks) % ReloadTicks == 0)
        {
            await ReloadAsync(null, cancellationToken);
        }
    }

    public override void Dispose()
    {
        _changes.Dispose();
        base.Dispose();
    }
}
