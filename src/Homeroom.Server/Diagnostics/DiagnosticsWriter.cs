using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Diagnostics;

/// <summary>A report on its way to the database; <see cref="Stored"/> says whether it was kept.</summary>
public sealed class PendingDiagnostics(Guid deviceId, Guid commandId, string source, DiagnosticsReport report)
{
    private readonly TaskCompletionSource<bool> _stored = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Guid DeviceId { get; } = deviceId;
    public Guid CommandId { get; } = commandId;
    public string Source { get; } = source;
    public DiagnosticsReport Report { get; } = report;

    /// <summary>True once stored; false when it answered no diagnose command sent to the device, was stored already, or was refused.</summary>
    public Task<bool> Stored => _stored.Task;

    internal bool Accepted { get; set; }

    internal int FailedChecks { get; set; }

    internal void Complete(bool stored) => _stored.TrySetResult(stored);
}

/// <summary>
/// Stores diagnostics reports in batches: a group's request makes hundreds of devices answer within a second, and one
/// transaction per report queued them all for SQLite's single writer. Each batch checks every report against the
/// diagnose commands sent to its device and the reports already stored (two reads), inserts the new ones and trims each
/// device to its newest <see cref="DiagnosticsOptions.KeepPerDevice"/>, in one transaction. The sender waits for its own
/// report's outcome, so a device's report is stored before its command's <c>succeeded</c> is read.
/// </summary>
public sealed class DiagnosticsWriter(
    IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<DiagnosticsOptions> options, TimeProvider time, ILogger<DiagnosticsWriter> logger)
    : BatchingWriter<PendingDiagnostics>(capacity: 1024, maxBatch: 100, maxDelay: TimeSpan.FromMilliseconds(20), time, logger)
{
    private readonly TimeProvider _time = time;
    private readonly ILogger _log = logger;

    protected override async Task WriteBatchAsync(IReadOnlyList<PendingDiagnostics> batch, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var deviceIds = batch.Select(p => p.DeviceId).Distinct().ToList();
        var commandIds = batch.Select(p => p.CommandId).Distinct().ToList();
        var sent = (await (
                from d in db.CommandDeliveries.AsNoTracking()
                join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
                where commandIds.Contains(d.CommandId) && deviceIds.Contains(d.DeviceId) && c.Kind == CommandKinds.Diagnose
                select new { d.DeviceId, d.CommandId, c.IssuedBy, c.IssuedAt })
            .ToListAsync(cancellationToken))
            .ToDictionary(s => (s.DeviceId, s.CommandId));
        var taken = (await db.Set<DeviceDiagnosticsRecord>().AsNoTracking()
                .Where(r => commandIds.Contains(r.CommandId) && deviceIds.Contains(r.DeviceId))
                .Select(r => new { r.DeviceId, r.CommandId }).ToListAsync(cancellationToken))
            .Select(r => (r.DeviceId, r.CommandId)).ToHashSet();

        var now = _time.GetUtcNow().UtcDateTime;
        var added = new List<DeviceDiagnosticsRecord>();
        foreach (var pending in batch)
        {
            var key = (pending.DeviceId, pending.CommandId);
            pending.Accepted = sent.TryGetValue(key, out var command) && taken.Add(key);
            if (!pending.Accepted)
            {
                continue;
            }

            pending.FailedChecks = DiagnosticsChecks.Evaluate(pending.Report).Count(c => !c.Ok);

            added.Add(new DeviceDiagnosticsRecord
            {
                Id = Guid.CreateVersion7(),
                DeviceId = pending.DeviceId,
                CommandId = pending.CommandId,
                Source = pending.Source,
                RequestedBy = command!.IssuedBy,
                RequestedAt = command.IssuedAt,
                ReceivedAt = now,
                FailedChecks = pending.FailedChecks,
                ReportJson = JsonSerializer.Serialize(pending.Report, AgentJsonContext.Default.DiagnosticsReport),
            });
        }

        if (added.Count == 0)
        {
            return;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Set<DeviceDiagnosticsRecord>().AddRange(added);
        await db.SaveChangesAsync(cancellationToken);

        // The newest few per device stay.
        var devices = added.Select(r => r.DeviceId).Distinct().ToList();
        var kept = await db.Set<DeviceDiagnosticsRecord>().AsNoTracking().Where(r => devices.Contains(r.DeviceId))
            .Select(r => new { r.Id, r.DeviceId, r.ReceivedAt }).ToListAsync(cancellationToken);
        var excess = kept.GroupBy(r => r.DeviceId)
            .SelectMany(g => g.OrderByDescending(r => r.ReceivedAt).ThenByDescending(r => r.Id).Skip(options.Value.KeepPerDevice))
            .Select(r => r.Id).ToList();
        if (excess.Count > 0)
        {
            await db.Set<DeviceDiagnosticsRecord>().Where(r => excess.Contains(r.Id)).ExecuteDeleteAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    protected override string Describe(PendingDiagnostics item) => $"the diagnostics report of device {item.DeviceId} for command {item.CommandId}";

    protected override void OnBatchCompleted(IReadOnlyList<PendingDiagnostics> batch, Exception? error)
    {
        foreach (var pending in batch)
        {
            if (error is null && pending.Accepted)
            {
                DiagnosticsLog.Stored(_log, pending.DeviceId, pending.CommandId, pending.FailedChecks);
            }
            else if (error is null)
            {
                DiagnosticsLog.UnknownCommand(_log, pending.DeviceId, pending.CommandId);
            }

            pending.Complete(error is null && pending.Accepted);
        }
    }

    // Refused for its data (the same report raced in from another server and is stored there): not stored here.
    protected override void OnRejected(PendingDiagnostics item, Exception error) => item.Complete(false);
}
