using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Safety;

/// <summary>
/// The screenshots the server asked devices for (<c>safetyCapture</c>), waiting in memory for at most
/// <see cref="SafetyOptions.CaptureTimeout"/>. A screenshot is stored (undecoded, linked to its
/// evidence) only when it answers a pending capture of the same device in time; any other is dropped
/// and the connection stays open.
/// </summary>
public sealed class SafetyCaptures(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<SafetyOptions> options, TimeProvider time, ILogger<SafetyCaptures> logger)
{
    private sealed record Pending(Guid DeviceId, Guid AlertId, Guid EvidenceId, DateTimeOffset Expires);

    private readonly ConcurrentDictionary<Guid, Pending> _pending = new();

    /// <summary>Captures waiting now.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Remembers a capture the server is about to ask for.</summary>
    public void Expect(Guid captureId, Guid deviceId, Guid alertId, Guid evidenceId)
    {
        var now = time.GetUtcNow();
        foreach (var (id, pending) in _pending)
        {
            if (pending.Expires <= now)
            {
                _pending.TryRemove(id, out _);
            }
        }

        _pending[captureId] = new Pending(deviceId, alertId, evidenceId, now + options.Value.CaptureTimeout);
    }

    /// <summary>Stores a kind-2 binary frame when it answers a pending capture of this device in time; false when dropped.</summary>
    public async Task<bool> AcceptAsync(Guid deviceId, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
    {
        if (!SafetyScreenshotFrame.TryDecode(frame.Span, out var format, out var capturedAt, out var captureId, out var offset))
        {
            return false;
        }

        if (!_pending.TryGetValue(captureId, out var pending) || pending.DeviceId != deviceId)
        {
            SafetyLog.ScreenshotDropped(logger, captureId, deviceId, "unknown capture id");
            return false;
        }

        _pending.TryRemove(captureId, out _);
        var now = time.GetUtcNow();
        if (pending.Expires < now)
        {
            SafetyLog.ScreenshotDropped(logger, captureId, deviceId, "arrived too late");
            return false;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.SafetyEvidence().AnyAsync(e => e.Id == pending.EvidenceId, cancellationToken))
        {
            return false; // The case was deleted meanwhile.
        }

        db.SafetyScreenshots().Add(new SafetyScreenshot
        {
            Id = captureId,
            AlertId = pending.AlertId,
            EvidenceId = pending.EvidenceId,
            CapturedAt = capturedAt.UtcDateTime,
            ReceivedAt = now.UtcDateTime,
            Format = (int)format,
            Content = frame[offset..].ToArray(),
        });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }
}
