using System.Text.Json;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.State;

/// <summary>The activity queue's counters, saved beside its events.</summary>
/// <param name="NextSeq">The sequence number the next event gets.</param>
/// <param name="AckedThroughSeq">Every event up to here is acknowledged by the server.</param>
/// <param name="Dropped">Events dropped, unsent, because the queue was full (since the agent was installed).</param>
public sealed record ActivityQueueState(long NextSeq, long AckedThroughSeq, long Dropped);

/// <summary>
/// Activity events not yet acknowledged, kept on disk so that neither a night offline nor an agent
/// restart loses them. Bounded: beyond <see cref="Capacity"/> events the oldest go first, and the
/// number dropped is counted (in the state file, the log and <c>homeroom-agent status</c>). Sequence
/// numbers belong to the device, start at 1 and grow by one per event across restarts.
/// Events are appended to <c>activity.jsonl</c> as they come; the file is rewritten when an
/// acknowledgement or the bound makes most of it useless. A corrupted file starts a new queue rather
/// than stop the agent.
/// </summary>
public sealed class ActivityQueue : IDisposable
{
    private readonly AgentPaths _paths;
    private readonly Lock _gate = new();
    private readonly List<ActivityEvent> _events = [];
    private FileStream? _file;
    private int _linesInFile;
    private long _nextSeq = 1;
    private long _ackedThrough;
    private long _dropped;

    public ActivityQueue(AgentPaths paths, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _paths = paths;
        Capacity = capacity;
        paths.EnsureStateDirectory();
        Load();
        Rewrite();
    }

    public int Capacity { get; }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _events.Count;
            }
        }
    }

    /// <summary>Events dropped because the queue was full.</summary>
    public long Dropped
    {
        get
        {
            lock (_gate)
            {
                return _dropped;
            }
        }
    }

    public long NextSeq
    {
        get
        {
            lock (_gate)
            {
                return _nextSeq;
            }
        }
    }

    /// <summary>Adds an event (its <c>Seq</c> is assigned here) and returns it; drops the oldest when full. Returns how many were dropped now.</summary>
    public int Enqueue(ActivityEvent activity, out ActivityEvent queued)
    {
        lock (_gate)
        {
            queued = activity with { Seq = _nextSeq++ };
            _events.Add(queued);
            var drop = Math.Max(0, _events.Count - Capacity);
            if (drop > 0)
            {
                _events.RemoveRange(0, drop);
                _dropped += drop;
            }

            _file!.Write(JsonSerializer.SerializeToUtf8Bytes(queued, AgentStateJsonContext.Default.ActivityEvent));
            _file.WriteByte((byte)'\n');
            _file.Flush(flushToDisk: true);
            _linesInFile++;
            SaveState();
            if (_linesInFile > Capacity * 2)
            {
                Rewrite();
            }

            return drop;
        }
    }

    /// <summary>Forgets every event up to <paramref name="throughSeq"/> (an <c>activityAck</c>, or the <c>welcome</c>'s resume point).</summary>
    public void Acknowledge(long throughSeq)
    {
        lock (_gate)
        {
            if (throughSeq <= _ackedThrough && (_events.Count == 0 || _events[0].Seq > throughSeq))
            {
                return;
            }

            _ackedThrough = Math.Max(_ackedThrough, throughSeq);
            // The server's numbering wins: after a reinstall it may already have stored higher numbers.
            _nextSeq = Math.Max(_nextSeq, throughSeq + 1);
            _events.RemoveAll(e => e.Seq <= throughSeq);
            if (_events.Count == 0 || _linesInFile > _events.Count * 2)
            {
                Rewrite();
            }
            else
            {
                SaveState();
            }
        }
    }

    /// <summary>The events to send, in order, in frames of at most <see cref="ProtocolLimits.MaxActivityEventsPerFrame"/>.</summary>
    public IReadOnlyList<ActivityEvent[]> Batches()
    {
        lock (_gate)
        {
            return [.. _events.Chunk(ProtocolLimits.MaxActivityEventsPerFrame)];
        }
    }

    private void Load()
    {
        if (File.Exists(_paths.ActivityStateFile))
        {
            try
            {
                var state = JsonSerializer.Deserialize(File.ReadAllBytes(_paths.ActivityStateFile), AgentStateJsonContext.Default.ActivityQueueState);
                if (state is not null)
                {
                    _nextSeq = Math.Max(1, state.NextSeq);
                    _ackedThrough = Math.Max(0, state.AckedThroughSeq);
                    _dropped = Math.Max(0, state.Dropped);
                }
            }
            catch (JsonException)
            {
                // A new queue: the server's welcome tells where its numbering stands.
            }
        }

        if (!File.Exists(_paths.ActivityFile))
        {
            return;
        }

        var lastSeq = 0L;
        foreach (var line in File.ReadLines(_paths.ActivityFile))
        {
            ActivityEvent? activity;
            try
            {
                activity = line.Length == 0 ? null : JsonSerializer.Deserialize(line, AgentStateJsonContext.Default.ActivityEvent);
            }
            catch (JsonException)
            {
                continue; // a line cut by a crash mid-write
            }

            // Strictly increasing, as the protocol requires; anything else in the file is not ours.
            if (activity is null || activity.Seq <= _ackedThrough || activity.Seq <= lastSeq || !ActivityKinds.All.Contains(activity.Kind))
            {
                continue;
            }

            _events.Add(activity);
            lastSeq = activity.Seq;
        }

        // Events beyond the bound were already counted as dropped when they were dropped in memory.
        if (_events.Count > Capacity)
        {
            _events.RemoveRange(0, _events.Count - Capacity);
        }

        _nextSeq = Math.Max(_nextSeq, lastSeq + 1);
    }

    private void Rewrite()
    {
        _file?.Dispose();
        using var buffer = new MemoryStream();
        foreach (var activity in _events)
        {
            buffer.Write(JsonSerializer.SerializeToUtf8Bytes(activity, AgentStateJsonContext.Default.ActivityEvent));
            buffer.WriteByte((byte)'\n');
        }

        AgentPaths.WriteAtomically(_paths.ActivityFile, buffer.ToArray());
        _file = new FileStream(_paths.ActivityFile, FileMode.Append, FileAccess.Write, FileShare.Read);
        _linesInFile = _events.Count;
        SaveState();
    }

    private void SaveState() =>
        AgentPaths.WriteAtomically(_paths.ActivityStateFile, JsonSerializer.SerializeToUtf8Bytes(new ActivityQueueState(_nextSeq, _ackedThrough, _dropped), AgentStateJsonContext.Default.ActivityQueueState));

    public void Dispose()
    {
        lock (_gate)
        {
            _file?.Dispose();
        }
    }
}
