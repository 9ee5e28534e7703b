using System.Collections.Concurrent;
using Homeroom.Rules.Commands;
using Homeroom.Server.Hosting.Cluster;

namespace Homeroom.Server.Commands;

/// <summary>
/// In-memory view of commands in flight: who has acknowledged what, without waiting for the batched
/// status writes. Lets callers wait until a command reaches every target (the console's live
/// feedback, the load benchmark). Entries are dropped when complete or after <see cref="Horizon"/>.
/// <para>
/// The count lives on the node that issued the command. On PostgreSQL a device connected to another node acknowledges
/// there: that node, which tracks no such command, tells the cluster (an <c>a</c> notice through
/// <see cref="BackplanePublisher.Acknowledged"/>) and the issuing node counts it (<see cref="AcknowledgedElsewhere"/>).
/// </para>
/// </summary>
public sealed class CommandProgress(TimeProvider time, Devices.DeviceLiveState live, BackplanePublisher backplane)
{
    private static readonly TimeSpan Horizon = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<Guid, Tracker> _commands = new();

    /// <summary>Raised with a command id whenever one more of its targets acknowledged it. Handlers must be quick.</summary>
    public event Action<Guid>? Progressed;

    public void Track(Guid commandId, int targetCount, string kind, IReadOnlyDictionary<string, string>? arguments = null)
    {
        live.CommandIssued(commandId, kind, arguments);
        var tracker = new Tracker(targetCount, time.GetTimestamp());
        if (targetCount == 0)
        {
            tracker.AllAcknowledged.TrySetResult();
        }

        _commands[commandId] = tracker;
    }

    /// <summary>
    /// A command this node sends that it may not have issued (another node did, or this process before a restart): its
    /// kind is remembered like an issued one, so the device's answer shows on the tiles (locked, focus).
    /// </summary>
    public void Carrying(Command command)
    {
        if (!live.KnowsCommand(command.Id))
        {
            live.CommandIssued(command.Id, command.Kind, command.Kind == Homeroom.Contracts.Agents.CommandKinds.Focus
                ? System.Text.Json.JsonSerializer.Deserialize(command.ArgumentsJson, CommandJsonContext.Default.DictionaryStringString)
                : null);
        }
    }

    public void Report(DeliveryUpdate update)
    {
        live.Delivery(update);
        if (update.Status < DeliveryStatus.Acknowledged)
        {
            return;
        }

        if (_commands.TryGetValue(update.CommandId, out var tracker))
        {
            if (tracker.Acknowledge(update.DeviceId, time.GetTimestamp()))
            {
                Progressed?.Invoke(update.CommandId);
            }
        }
        else
        {
            // Issued by another node (nothing happens on SQLite or with the backplane off).
            backplane.Acknowledged(update.CommandId, update.DeviceId);
        }
    }

    /// <summary>Another node's devices acknowledged a command (an <c>a</c> notice); counted only where the command is tracked.</summary>
    public void AcknowledgedElsewhere(Guid commandId, IReadOnlyList<Guid> deviceIds)
    {
        if (!_commands.TryGetValue(commandId, out var tracker))
        {
            return;
        }

        var now = time.GetTimestamp();
        var counted = false;
        foreach (var deviceId in deviceIds)
        {
            counted |= tracker.Acknowledge(deviceId, now);
        }

        if (counted)
        {
            Progressed?.Invoke(commandId);
        }
    }

    /// <summary>How many of a command's targets acknowledged it so far, and how many it has; null when not tracked here.</summary>
    public (int Acknowledged, int Targets)? Count(Guid commandId) =>
        _commands.TryGetValue(commandId, out var tracker) ? (Math.Min(tracker.Acknowledged, tracker.Targets), tracker.Targets) : null;

    /// <summary>Completes when every target acknowledged (true) or the timeout passed (false). Returns the elapsed time since issue.</summary>
    public async Task<(bool Complete, TimeSpan Elapsed)> WaitForAllAsync(Guid commandId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (!_commands.TryGetValue(commandId, out var tracker))
        {
            return (false, TimeSpan.Zero);
        }

        try
        {
            await tracker.AllAcknowledged.Task.WaitAsync(timeout, time, cancellationToken);
            return (true, time.GetElapsedTime(tracker.IssuedAt, tracker.CompletedAt));
        }
        catch (TimeoutException)
        {
            return (false, time.GetElapsedTime(tracker.IssuedAt));
        }
    }

    /// <summary>Drops trackers that are complete or too old, and the live state's old commands.</summary>
    public void Prune()
    {
        live.Prune();
        foreach (var (id, tracker) in _commands)
        {
            if (tracker.AllAcknowledged.Task.IsCompleted || time.GetElapsedTime(tracker.IssuedAt) > Horizon)
            {
                _commands.TryRemove(id, out _);
            }
        }
    }

    private sealed class Tracker(int targetCount, long issuedAt)
    {
        private readonly HashSet<Guid> _acknowledged = [];

        public int Targets => targetCount;

        public int Acknowledged
        {
            get
            {
                lock (_acknowledged)
                {
                    return _acknowledged.Count;
                }
            }
        }

        public long IssuedAt { get; } = issuedAt;
        public long CompletedAt { get; private set; }
        public TaskCompletionSource AllAcknowledged { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Counts the device once; true when it was not counted before.</summary>
        public bool Acknowledge(Guid deviceId, long now)
        {
            lock (_acknowledged)
            {
                if (!_acknowledged.Add(deviceId))
                {
                    return false;
                }

                if (_acknowledged.Count >= targetCount)
                {
                    CompletedAt = now;
                    AllAcknowledged.TrySetResult();
                }

                return true;
            }
        }
    }
}
