using System.Text.Json;

namespace Homeroom.Agent.State;

/// <summary>One line of the command journal: a command begun, or its outcome.</summary>
/// <param name="Id">The command id.</param>
/// <param name="ExpiresAt">Until when the server may deliver it again (the entry is kept until then).</param>
/// <param name="Finished">Whether this line records the outcome.</param>
/// <param name="Ok">The outcome: succeeded or failed.</param>
/// <param name="Result">The result, or the error when failed.</param>
public sealed record JournalEntry(Guid Id, DateTimeOffset ExpiresAt, bool Finished, bool Ok = false, string? Result = null);

/// <summary>What the journal knows of a command.</summary>
public enum CommandMemory
{
    /// <summary>Never seen: carry it out.</summary>
    New,
    /// <summary>Begun but no outcome recorded (the agent stopped while running it): not run again.</summary>
    Interrupted,
    /// <summary>Carried out: answer with the recorded outcome.</summary>
    Finished,
}

/// <summary>
/// Commands carried out, on disk, so the same command id is carried out at most once across
/// reconnections and agent restarts (protocol v1: delivery is at least once). A command is written as
/// begun before it runs and with its outcome after; a repeat delivery is answered from here. Entries
/// are kept until the command expires (at least), at most <see cref="MaxEntries"/>, the oldest going
/// first. An unreadable line (a crash mid-write) is skipped.
/// </summary>
public sealed class CommandJournal : IDisposable
{
    public const int MaxEntries = 5_000;

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, JournalEntry> _entries = [];
    private FileStream _file;
    private int _linesInFile;

    public CommandJournal(AgentPaths paths, TimeProvider time)
    {
        _path = paths.CommandJournalFile;
        _time = time;
        paths.EnsureStateDirectory();
        if (File.Exists(_path))
        {
            foreach (var line in File.ReadLines(_path))
            {
                if (TryRead(line) is { } entry)
                {
                    _entries[entry.Id] = entry;
                }
            }
        }

        _file = null!;
        Compact();
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public CommandMemory Recall(Guid id, out JournalEntry? entry)
    {
        lock (_gate)
        {
            entry = _entries.GetValueOrDefault(id);
            return entry is null ? CommandMemory.New : entry.Finished ? CommandMemory.Finished : CommandMemory.Interrupted;
        }
    }

    /// <summary>Records that a command is about to run (flushed to disk before it runs).</summary>
    public void Begin(Guid id, DateTimeOffset expiresAt) => Append(new JournalEntry(id, expiresAt, Finished: false));

    /// <summary>Records a command's outcome (flushed to disk before it is reported).</summary>
    public void Finish(Guid id, DateTimeOffset expiresAt, bool ok, string result) => Append(new JournalEntry(id, expiresAt, true, ok, result));

    private void Append(JournalEntry entry)
    {
        lock (_gate)
        {
            _entries[entry.Id] = entry;
            _file.Write(JsonSerializer.SerializeToUtf8Bytes(entry, AgentStateJsonContext.Default.JournalEntry));
            _file.WriteByte((byte)'\n');
            _file.Flush(flushToDisk: true);
            if (++_linesInFile > MaxEntries * 2)
            {
                Compact();
            }
        }
    }

    /// <summary>Rewrites the file with the entries still needed: unexpired ones, at most <see cref="MaxEntries"/>, newest kept.</summary>
    private void Compact()
    {
        var now = _time.GetUtcNow();
        var kept = _entries.Values.Where(e => e.ExpiresAt > now).OrderBy(e => e.ExpiresAt).ToList();
        if (kept.Count > MaxEntries)
        {
            kept = kept[^MaxEntries..];
        }

        _entries.Clear();
        using var buffer = new MemoryStream();
        foreach (var entry in kept)
        {
            _entries[entry.Id] = entry;
            buffer.Write(JsonSerializer.SerializeToUtf8Bytes(entry, AgentStateJsonContext.Default.JournalEntry));
            buffer.WriteByte((byte)'\n');
        }

        _file?.Dispose();
        AgentPaths.WriteAtomically(_path, buffer.ToArray());
        _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _linesInFile = kept.Count;
    }

    private static JournalEntry? TryRead(string line)
    {
        try
        {
            return line.Length == 0 ? null : JsonSerializer.Deserialize(line, AgentStateJsonContext.Default.JournalEntry);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file.Dispose();
        }
    }
}
