using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Scripts;

/// <summary>A script result on its way to the database; <see cref="Stored"/> says whether it was kept.</summary>
public sealed class PendingScriptResult(Guid deviceId, ScriptResultFrame frame)
{
    private readonly TaskCompletionSource<bool> _stored = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Guid DeviceId { get; } = deviceId;
    public ScriptResultFrame Frame { get; } = frame;

    /// <summary>True once stored; false when it answered no runScript command sent to the device, or was stored already.</summary>
    public Task<bool> Stored => _stored.Task;

    internal bool Accepted { get; set; }

    internal void Complete(bool stored) => _stored.TrySetResult(stored);
}

/// <summary>
/// Stores script results in batches, as <see cref="Diagnostics.DiagnosticsWriter"/> stores reports: a group's run makes
/// every device answer within a second or two. Each batch checks every result against the <c>runScript</c> commands sent
/// to its device and the results already stored, inserts the new ones and trims each device to its newest
/// <see cref="ScriptOptions.KeepPerDevice"/>, in one transaction. The sender waits for the outcome, so the result is
/// stored before the command's <c>succeeded</c> is read.
/// </summary>
public sealed class ScriptResultWriter(
    IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<ScriptOptions> options, TimeProvider time, ILogger<ScriptResultWriter> logger)
    : BatchingWriter<PendingScriptResult>(capacity: 1024, maxBatch: 100, maxDelay: TimeSpan.FromMilliseconds(20), time, logger)
{
    private readonly TimeProvider _time = time;
    private readonly ILogger _log = logger;

    /// <summary>Stores a device's result; false when it answers no runScript command sent to this device, or was stored already.</summary>
    public async Task<bool> AcceptAsync(Guid deviceId, ScriptResultFrame frame, CancellationToken cancellationToken = default)
    {
        var pending = new PendingScriptResult(deviceId, frame);
        await EnqueueAsync(pending, cancellationToken);
        return await pending.Stored.WaitAsync(cancellationToken);
    }

    protected override async Task WriteBatchAsync(IReadOnlyList<PendingScriptResult> batch, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var deviceIds = batch.Select(p => p.DeviceId).Distinct().ToList();
        var commandIds = batch.Select(p => p.Frame.CommandId).Distinct().ToList();
        var sent = (await (
                from d in db.CommandDeliveries.AsNoTracking()
                join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
                where commandIds.Contains(d.CommandId) && deviceIds.Contains(d.DeviceId) && c.Kind == CommandKinds.RunScript
                select new { d.DeviceId, d.CommandId, c.IssuedBy, c.IssuedAt })
            .ToListAsync(cancellationToken))
            .ToDictionary(s => (s.DeviceId, s.CommandId));
        var taken = (await db.Set<ScriptResult>().AsNoTracking()
                .Where(r => commandIds.Contains(r.CommandId) && deviceIds.Contains(r.DeviceId))
                .Select(r => new { r.DeviceId, r.CommandId }).ToListAsync(cancellationToken))
            .Select(r => (r.DeviceId, r.CommandId)).ToHashSet();
        var names = await ScriptRuns.NamesAsync(db, sent.Values.Select(s => s.CommandId).Distinct().ToList(), cancellationToken);

        var now = _time.GetUtcNow().UtcDateTime;
        var added = new List<ScriptResult>();
        foreach (var pending in batch)
        {
            var key = (pending.DeviceId, pending.Frame.CommandId);
            pending.Accepted = sent.TryGetValue(key, out var command) && taken.Add(key);
            if (!pending.Accepted)
            {
                continue;
            }

            var (scriptId, version, name) = names[command!.CommandId];
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

        if (added.Count == 0)
        {
            return;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Set<ScriptResult>().AddRange(added);
        await db.SaveChangesAsync(cancellationToken);

        var devices = added.Select(r => r.DeviceId).Distinct().ToList();
        var kept = await db.Set<ScriptResult>().AsNoTracking().Where(r => devices.Contains(r.DeviceId))
            .Select(r => new { r.Id, r.DeviceId, r.ReceivedAt }).ToListAsync(cancellationToken);
        var excess = kept.GroupBy(r => r.DeviceId)
            .SelectMany(g => g.OrderByDescending(r => r.ReceivedAt).ThenByDescending(r => r.Id).Skip(options.Value.KeepPerDevice))
            .Select(r => r.Id).ToList();
        if (excess.Count > 0)
        {
            await db.Set<ScriptResult>().Where(r => excess.Contains(r.Id)).ExecuteDeleteAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    protected override string Describe(PendingScriptResult item) => $"the script result of device {item.DeviceId} for command {item.Frame.CommandId}";

    protected override void OnBatchCompleted(IReadOnlyList<PendingScriptResult> batch, Exception? error)
    {
        foreach (var pending in batch)
        {
            if (error is null && pending.Accepted)
            {
                ScriptsLog.Stored(_log, pending.DeviceId, pending.Frame.CommandId, pending.Frame.ExitCode, pending.Frame.TimedOut);
            }
            else if (error is null)
            {
                ScriptsLog.UnknownCommand(_log, pending.DeviceId, pending.Frame.CommandId);
            }

            pending.Complete(error is null && pending.Accepted);
        }
    }

    protected override void OnRejected(PendingScriptResult item, Exception error) => item.Complete(false);
}
