using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Commands;

/// <summary>A stored answer of one device to one command sent to it (a diagnostics report, a script result).</summary>
public interface ICommandAnswer
{
    Guid Id { get; }

    Guid DeviceId { get; }

    Guid CommandId { get; }

    DateTime ReceivedAt { get; }
}

/// <summary>The command an answer answers: who asked, and when.</summary>
public sealed record SentCommand(Guid DeviceId, Guid CommandId, string IssuedBy, DateTime IssuedAt);

/// <summary>
/// The step every batched writer of command answers takes: an answer is stored only for a command of its kind sent to
/// that device, once per (device, command), and each device keeps its newest few. Used by
/// <see cref="Diagnostics.DiagnosticsWriter"/> and <see cref="Scripts.ScriptResultWriter"/>.
/// </summary>
public static class CommandAnswers
{
    /// <summary>
    /// The items of a batch that answer a command of <paramref name="kind"/> sent to their device, with that command, in
    /// batch order (two reads for the whole batch). The others are rejected: those answering no such command, and those
    /// whose answer is stored already or comes earlier in the batch.
    /// </summary>
    public static async Task<List<(TItem Item, SentCommand Command)>> MatchAsync<TItem, TAnswer>(
        HomeroomDbContext db, string kind, IReadOnlyList<TItem> batch, Func<TItem, (Guid DeviceId, Guid CommandId)> key, CancellationToken cancellationToken)
        where TItem : AwaitedItem
        where TAnswer : class, ICommandAnswer
    {
        var keys = batch.Select(key).ToList();
        var deviceIds = keys.Select(k => k.DeviceId).Distinct().ToList();
        var commandIds = keys.Select(k => k.CommandId).Distinct().ToList();
        var sent = (await (
                from d in db.CommandDeliveries.AsNoTracking()
                join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
                where commandIds.Contains(d.CommandId) && deviceIds.Contains(d.DeviceId) && c.Kind == kind
                select new SentCommand(d.DeviceId, d.CommandId, c.IssuedBy, c.IssuedAt))
            .ToListAsync(cancellationToken))
            .ToDictionary(s => (s.DeviceId, s.CommandId));
        var taken = (await db.Set<TAnswer>().AsNoTracking()
                .Where(r => commandIds.Contains(r.CommandId) && deviceIds.Contains(r.DeviceId))
                .Select(r => new { r.DeviceId, r.CommandId }).ToListAsync(cancellationToken))
            .Select(r => (r.DeviceId, r.CommandId)).ToHashSet();

        var matched = new List<(TItem, SentCommand)>();
        for (var i = 0; i < batch.Count; i++)
        {
            if (!sent.TryGetValue(keys[i], out var command))
            {
                batch[i].Reject($"it answers no {kind} command sent to this device");
            }
            else if (!taken.Add(keys[i]))
            {
                batch[i].Reject("it is stored already");
            }
            else
            {
                matched.Add((batch[i], command));
            }
        }

        return matched;
    }

    /// <summary>Inserts the answers and trims each of their devices to its newest <paramref name="keepPerDevice"/> (by time received, then id), in one transaction.</summary>
    public static async Task StoreAsync<TAnswer>(HomeroomDbContext db, IReadOnlyList<TAnswer> added, int keepPerDevice, CancellationToken cancellationToken)
        where TAnswer : class, ICommandAnswer
    {
        if (added.Count == 0)
        {
            return;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Set<TAnswer>().AddRange(added);
        await db.SaveChangesAsync(cancellationToken);

        var devices = added.Select(r => r.DeviceId).Distinct().ToList();
        var kept = await db.Set<TAnswer>().AsNoTracking().Where(r => devices.Contains(r.DeviceId))
            .Select(r => new { r.Id, r.DeviceId, r.ReceivedAt }).ToListAsync(cancellationToken);
        var excess = kept.GroupBy(r => r.DeviceId)
            .SelectMany(g => g.OrderByDescending(r => r.ReceivedAt).ThenByDescending(r => r.Id).Skip(keepPerDevice))
            .Select(r => r.Id).ToList();
        if (excess.Count > 0)
        {
            await db.Set<TAnswer>().Where(r => excess.Contains(r.Id)).ExecuteDeleteAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }
}
