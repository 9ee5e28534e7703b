using Homeroom.Contracts.Agents;
using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Support;

/// <summary>
/// Diagnostics beside a help request: when a request reaches the school's IT queue (it arrives there, or a teacher or
/// administrator sends it on), the server asks its device for a fresh report through the same use case as "Run
/// diagnostics" (<see cref="DeviceDiagnostics"/>), as the server itself (<see cref="StaffScope.System"/>, audited as
/// <c>command.issue</c> by "system"), unless the device has a report that came within
/// <see cref="SupportOptions.FreshDiagnostics"/> or a diagnose command for it is still under way. An offline device
/// gets the command when it comes back, within the command's time to live.
/// </summary>
public sealed class HelpRequestDiagnostics(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    DeviceDiagnostics diagnostics,
    IOptions<SupportOptions> options,
    TimeProvider time,
    ILogger<HelpRequestDiagnostics> logger)
{
    // Two requests of one device reaching the queue at once: each check-then-ask runs under its device's stripe, so
    // the second sees the first's command and does not issue another.
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    /// <summary>
    /// Asks the device of a request that reached the IT queue for a report, if it needs one; the command issued, or null.
    /// A failure is logged, never thrown: the request stands without its diagnostics.
    /// </summary>
    public async Task<Guid?> RequestIfStaleAsync(Guid requestId, Guid deviceId, CancellationToken cancellationToken)
    {
        var stripe = _stripes[(deviceId.GetHashCode() & int.MaxValue) % _stripes.Length];
        await stripe.WaitAsync(cancellationToken);
        try
        {
            if (await FreshOrUnderWayAsync(deviceId, cancellationToken))
            {
                return null;
            }

            using (AuditTrail.ActAs(AuditActor.Of(StaffScope.System, null)))
            {
                var requested = await diagnostics.RequestAsync(StaffScope.System, deviceId, cancellationToken);
                SupportLog.DiagnosticsRequested(logger, requestId, deviceId, requested.CommandId);
                return requested.CommandId;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A revoked or retired device, or the database failing: the request is stored and routed already.
            SupportLog.DiagnosticsNotRequested(logger, requestId, deviceId, e);
            return null;
        }
        finally
        {
            stripe.Release();
        }
    }

    private async Task<bool> FreshOrUnderWayAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var freshFrom = now - options.Value.FreshDiagnostics;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var reports = db.Set<DeviceDiagnosticsRecord>().AsNoTracking();
        if (await reports.AnyAsync(r => r.DeviceId == deviceId && r.ReceivedAt >= freshFrom, cancellationToken))
        {
            return true;
        }

        // Under way: not finished, not expired, and not answered yet (an agent may send its report before its status).
        return await (
            from d in db.CommandDeliveries.AsNoTracking()
            join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
            where d.DeviceId == deviceId && c.Kind == CommandKinds.Diagnose && c.ExpiresAt > now
                && (d.Status == DeliveryStatus.Queued || d.Status == DeliveryStatus.Sent || d.Status == DeliveryStatus.Acknowledged)
                && !reports.Any(r => r.DeviceId == deviceId && r.CommandId == c.Id)
            select d.CommandId).AnyAsync(cancellationToken);
    }
}
