using Homeroom.Contracts.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Scripts;

/// <summary>A script result on its way to the database; its <see cref="AwaitedItem.Outcome"/> says whether it was kept.</summary>
public sealed class PendingScriptResult(Guid deviceId, ScriptResultFrame frame) : AwaitedItem
{
    public Guid DeviceId { get; } = deviceId;
    public ScriptResultFrame Frame { get; } = frame;
}

/// <summary>
/// Stores script results in batches, as <see cref="Diagnostics.DiagnosticsWriter"/> stores reports: a group's run makes
/// every device answer within a second or two. Each batch keeps only the results that answer a <c>runScript</c> command
/// sent to their device and are not stored yet, inserts them and trims each device to its newest
/// <see cref="ScriptOptions.KeepPerDevice"/>, in one transaction (<see cref="CommandAnswers"/>). The sender waits for
/// the outcome, so the result is stored before the command's <c>succeeded</c> is read.
/// </summary>
public sealed class ScriptResultWriter(
    IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<ScriptOptions> options, TimeProvider time, ILogger<ScriptResultWriter> logger)
    : AwaitedBatchingWriter<PendingScriptResult>(capacity: 1024, maxBatch: 100, maxDelay: TimeSpan.FromMilliseconds(20), time, logger)
{
    private readonly TimeProvider _time = time;
    private readonly ILogger _log = logger;

    /// <summary>Stores a device's result; false when it answers no runScript command sent to this device, or was stored already.</summary>
    public async Task<bool> AcceptAsync(Guid deviceId, ScriptResultFrame frame, CancellationToken cancellationToken = default) =>
        (await WriteAsync(new PendingScriptResult(deviceId, frame), cancellationToken)).IsAccepted;

    protected override async Task WriteItemsAsync(IReadOnlyList<PendingScriptResult> batch, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var matched = await CommandAnswers.MatchAsync<PendingScriptResult, ScriptResult>(
            db, CommandKinds.RunScript, batch, p => (p.DeviceId, p.Frame.CommandId), cancellationToken);
        if (matched.Count == 0)
        {
            return;
        }

        var names = await ScriptRuns.NamesAsync(db, matched.Select(m => m.Command.CommandId).Distinct().ToList(), cancellationToken);
        var now = _time.GetUtcNow().UtcDateTime;
        var added = new List<ScriptResult>(matched.Count);
        foreach (var (pending, command) in matched)
        {
            var (scriptId, version, name) = names[command.CommandId];
            var f = pending.Frame;
            added.Add(new ScriptResult
            {
                Id = Guid.CreateVersion7(),
                DeviceId = pending.DeviceId,
                CommandId = f.CommandId,
                ScriptId = scriptId,
                Version = version,
                ScriptName = name,
                RequestedBy = command.IssuedBy,
                RequestedAt = command.IssuedAt,
                ReceivedAt = now,
                ExitCode = f.ExitCode,
                TimedOut = f.TimedOut,
                Milliseconds = f.Milliseconds,
                // PostgreSQL refuses NUL in text.
                Stdout = f.Stdout.Replace('\0', '\uFFFD'),
                Stderr = f.Stderr.Replace('\0', '\uFFFD'),
                OutputTruncated = f.OutputTruncated,
            });
        }

        await CommandAnswers.StoreAsync(db, added, options.Value.KeepPerDevice, cancellationToken);
    }

    protected override string Describe(PendingScriptResult item) => $"the script result of device {item.DeviceId} for command {item.Frame.CommandId}";

    // A result the database refused is logged as refused already.
    protected override void OnCompleted(PendingScriptResult item, ItemOutcome outcome)
    {
        if (outcome.IsAccepted)
        {
            ScriptsLog.Stored(_log, item.DeviceId, item.Frame.CommandId, item.Frame.ExitCode, item.Frame.TimedOut);
        }
        else if (outcome is { Kind: ItemOutcomeKind.Rejected, Error: null })
        {
            ScriptsLog.UnknownCommand(_log, item.DeviceId, item.Frame.CommandId);
        }
    }
}
