using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Diagnostics;

/// <summary>A report on its way to the database; its <see cref="AwaitedItem.Outcome"/> says whether it was kept.</summary>
public sealed class PendingDiagnostics(Guid deviceId, Guid commandId, string source, DiagnosticsReport report) : AwaitedItem
{
    public Guid DeviceId { get; } = deviceId;
    public Guid CommandId { get; } = commandId;
    public string Source { get; } = source;
    public DiagnosticsReport Report { get; } = report;

    internal int FailedChecks { get; set; }
}

/// <summary>
/// Stores diagnostics reports in batches: a group's request makes hundreds of devices answer within a second, and one
/// transaction per report queued them all for SQLite's single writer. Each batch keeps only the reports that answer a
/// diagnose command sent to their device and are not stored yet, inserts them and trims each device to its newest
/// <see cref="DiagnosticsOptions.KeepPerDevice"/>, in one transaction (<see cref="CommandAnswers"/>). The sender waits
/// for its own report's outcome, so a device's report is stored before its command's <c>succeeded</c> is read.
/// </summary>
public sealed class DiagnosticsWriter(
    IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<DiagnosticsOptions> options, DiagnosticsNotifier notifier, TimeProvider time, ILogger<DiagnosticsWriter> logger)
    : AwaitedBatchingWriter<PendingDiagnostics>(capacity: 1024, maxBatch: 100, maxDelay: TimeSpan.FromMilliseconds(20), time, logger)
{
    private readonly TimeProvider _time = time;
    private readonly ILogger _log = logger;

    protected override async Task WriteItemsAsync(IReadOnlyList<PendingDiagnostics> batch, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var matched = await CommandAnswers.MatchAsync<PendingDiagnostics, DeviceDiagnosticsRecord>(
            db, CommandKinds.Diagnose, batch, p => (p.DeviceId, p.CommandId), cancellationToken);

        var now = _time.GetUtcNow().UtcDateTime;
        var added = new List<DeviceDiagnosticsRecord>(matched.Count);
        foreach (var (pending, command) in matched)
        {
            pending.FailedChecks = DiagnosticsChecks.Evaluate(pending.Report).Count(c => !c.Ok);
            added.Add(new DeviceDiagnosticsRecord
            {
                Id = Guid.CreateVersion7(),
                DeviceId = pending.DeviceId,
                CommandId = pending.CommandId,
                Source = pending.Source,
                RequestedBy = command.IssuedBy,
                RequestedAt = command.IssuedAt,
                ReceivedAt = now,
                FailedChecks = pending.FailedChecks,
                ReportJson = JsonSerializer.Serialize(pending.Report, AgentJsonContext.Default.DiagnosticsReport),
            });
        }

        await CommandAnswers.StoreAsync(db, added, options.Value.KeepPerDevice, cancellationToken);
    }

    protected override string Describe(PendingDiagnostics item) => $"the diagnostics report of device {item.DeviceId} for command {item.CommandId}";

    // A report the database refused (the same report raced in from another server and is stored there) is logged as refused already.
    protected override void OnCompleted(PendingDiagnostics item, ItemOutcome outcome)
    {
        if (outcome.IsAccepted)
        {
            DiagnosticsLog.Stored(_log, item.DeviceId, item.CommandId, item.FailedChecks);
            notifier.Publish(new DiagnosticsStored(item.DeviceId, item.CommandId));
        }
        else if (outcome is { Kind: ItemOutcomeKind.Rejected, Error: null })
        {
            DiagnosticsLog.UnknownCommand(_log, item.DeviceId, item.CommandId);
        }
    }
}
