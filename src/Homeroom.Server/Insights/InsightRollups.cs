using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.InteropServices;
using Homeroom.Rules.Insights;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Insights;

/// <summary>One stored activity event, as the rollups read it (live from the writer, or from raw events in a rebuild).</summary>
public readonly record struct StoredActivity(
    Guid DeviceId, string Kind, DateTime OccurredAt, DateTime ReceivedAt, string? Url, string? AppId, int? DurationSeconds, string? Detail);

/// <summary>A rollup row's key: the period (a day or a month), the school or group, and the event's dimensions.</summary>
public readonly record struct RollupKey(int Period, Guid Scope, int Grade, string Platform, string Kind, string Subject, string Category);

/// <summary>A rollup table: its name, the columns of its period and scope, and the rows one folded event adds to.</summary>
public sealed record RollupTable(string Name, string PeriodColumn, string ScopeColumn, Func<InsightContribution, InsightDevice, IEnumerable<RollupKey>> KeysOf)
{
    public static readonly RollupTable Daily = new("insight_daily", "day", "school_id", (c, d) => [Key(c.Day, d.SchoolId, c, d)]);
    public static readonly RollupTable Monthly = new("insight_monthly", "month", "school_id", (c, d) => [Key(InsightRollups.MonthOf(c.Day), d.SchoolId, c, d)]);
    public static readonly RollupTable GroupDaily = new("insight_group_daily", "day", "group_id", (c, d) => d.Groups.Select(g => Key(c.Day, g, c, d)));

    /// <summary>Every rollup table: the fold and the flush go through this list, so a new table only needs its entry here.</summary>
    public static readonly IReadOnlyList<RollupTable> All = [Daily, Monthly, GroupDaily];

    /// <summary>The key of a row of school or group <paramref name="scope"/> for <paramref name="period"/>.</summary>
    public static RollupKey Key(int period, Guid scope, InsightContribution c, InsightDevice d) =>
        new(period, scope, d.Grade, d.Platform, c.Kind, c.Subject, c.Category);
}

/// <summary>
/// The rollups' in-memory side. <see cref="FoldAsync"/> adds stored events to sums and students
/// sketches held in memory per key, split by a fixed hash of the key into <see cref="Partitions"/>
/// partitions; <see cref="PrepareAsync"/> and <see cref="WriteAsync"/> then write one partition's keys,
/// each key once however many events it gathered, in the caller's transaction, which also moves that
/// partition's watermark (<see cref="InsightFolder"/>). A key's sketch is rewritten only when the merge
/// changed it. Nothing here commits: <see cref="Committed"/> forgets what a committed write held,
/// <see cref="Discard"/> forgets everything after a failure (the folder then folds again from the
/// committed watermarks, so nothing is lost or counted twice).
/// </summary>
public sealed class InsightRollups(BulkSql bulk, IOptions<ActivityOptions> activity, ILogger<InsightRollups> logger)
{
    /// <summary>
    /// Partitions of the rollup keys, each written in its own short transaction with its own watermark
    /// (rows 1 to <see cref="Partitions"/> of <c>insight_fold_state</c>). Fixed: a key's partition must be
    /// the same after a restart.
    /// </summary>
    public const int Partitions = 64;

    private const string LastUsedTable = "insight_app_last_used";
    private static readonly TimeSpan DeviceCacheFor = TimeSpan.FromMinutes(1);

    // SQLite has one writer (this process's folder), so the sketches it last wrote are what the tables
    // hold: a flush merges into them instead of reading the database. Cleared on any failure, rebuild and
    // retention run. PostgreSQL may have other servers (a rebuild, a standby folder): it always reads.
    private const int MaxCachedSketches = 300_000;
    private readonly ConcurrentDictionary<(string Table, RollupKey Key), byte[]> _sketches = new();
    private readonly ConcurrentDictionary<Guid, (InsightDevice? Device, long At)> _devices = new();
    private readonly Pending[] _pending = Enumerable.Range(0, Partitions).Select(_ => new Pending()).ToArray();
    private long _skipped;
    private long _bufferedKeys;

    /// <summary>Events stored but not folded (in the future, too old, no subject) since start.</summary>
    public long SkippedCount => Interlocked.Read(ref _skipped);

    /// <summary>Keys held in memory, not yet written (what <see cref="InsightsOptions.MaxBufferedKeys"/> caps).</summary>
    public long BufferedKeys => Interlocked.Read(ref _bufferedKeys);

    /// <summary>Forgets cached device dimensions and sketches (a rebuild reads today's roster afresh).</summary>
    public void ForgetDevices()
    {
        _devices.Clear();
        _sketches.Clear();
    }

    /// <summary>Forgets cached sketches: a write may have rolled back, or rows were deleted.</summary>
    public void ForgetSketches() => _sketches.Clear();

    /// <summary>Forgets everything folded and not yet committed, and every cache: after a failure, the folder folds again from the committed watermarks.</summary>
    public void Discard()
    {
        foreach (var pending in _pending)
        {
            pending.Clear();
        }

        Interlocked.Exchange(ref _bufferedKeys, 0);
        ForgetDevices();
    }

    /// <summary>Month number (year * 12 + month - 1) of a day number.</summary>
    public static int MonthOf(int day)
    {
        var date = InsightFold.DateOf(day);
        return (date.Year * 12) + date.Month - 1;
    }

    /// <summary>Whether partition <paramref name="partition"/> holds nothing to write.</summary>
    public bool IsClean(int partition) => _pending[partition].IsEmpty;

    /// <summary>
    /// Adds stored events (id, event) to the sums in memory. A contribution is left out when its key's
    /// partition has already committed past the event (<paramref name="flushedThrough"/>, by partition):
    /// that happens after a failure part-way through a flush, when the folder folds those events again.
    /// </summary>
    public async Task FoldAsync(DbConnection connection, IReadOnlyList<(long Id, StoredActivity Event)> events, IReadOnlyList<long> flushedThrough, CancellationToken cancellationToken)
    {
        var retention = activity.Value.Retention;
        var tables = RollupTable.All;
        foreach (var (id, e) in events)
        {
            var device = await DeviceAsync(connection, e.DeviceId, cancellationToken);
            if (device is null)
            {
                continue;
            }

            var folded = InsightFold.Fold(e.Kind, e.OccurredAt, e.ReceivedAt, e.Url, e.AppId, e.DurationSeconds, e.Detail, device.Zone, retention, out var skip);
            if (folded is not { } c)
            {
                if (skip != InsightSkip.NotFolded)
                {
                    Interlocked.Increment(ref _skipped);
                }

                continue;
            }

            var student = c.CountsStudent ? DistinctSketch.Hash(device.Student) : (ulong?)null;
            for (var t = 0; t < tables.Count; t++)
            {
                foreach (var key in tables[t].KeysOf(c, device))
                {
                    var partition = PartitionOf(tables[t].Name, key);
                    if (id <= flushedThrough[partition])
                    {
                        continue;
                    }

                    ref var sum = ref CollectionsMarshal.GetValueRefOrAddDefault(_pending[partition].Tables[t], key, out var exists);
                    if (!exists)
                    {
                        sum = new Sum();
                        Interlocked.Increment(ref _bufferedKeys);
                    }

                    sum!.Add(c, student);
                }
            }

            if (c.Kind == InsightFold.AppUsage)
            {
                var partition = PartitionOf(e.DeviceId, c.Subject);
                if (id > flushedThrough[partition])
                {
                    ref var last = ref CollectionsMarshal.GetValueRefOrAddDefault(_pending[partition].LastUsed, (e.DeviceId, c.Subject), out var exists);
                    if (!exists)
                    {
                        last = int.MinValue;
                        Interlocked.Increment(ref _bufferedKeys);
                    }

                    last = Math.Max(last, c.Day);
                }
            }
        }
    }

    /// <summary>
    /// Computes what partition <paramref name="partition"/>'s write will store: each key's sketch merged
    /// into the stored one. On SQLite before the write transaction (this process is the only writer, so
    /// the cached and read sketches stay true), on PostgreSQL inside it, after the partition's watermark
    /// row is locked (every writer of the partition's rows holds that lock).
    /// </summary>
    public async Task PrepareAsync(DbConnection connection, DbTransaction? transaction, int partition, CancellationToken cancellationToken)
    {
        var pending = _pending[partition];
        pending.Rows.Clear();
        var cache = bulk.Provider == DatabaseProvider.Sqlite;
        if (cache && _sketches.Count > MaxCachedSketches)
        {
            _sketches.Clear();
        }

        for (var t = 0; t < RollupTable.All.Count; t++)
        {
            var table = RollupTable.All[t];
            var sums = pending.Tables[t];
            if (sums.Count == 0)
            {
                continue;
            }

            var missing = cache ? sums.Keys.Where(k => !_sketches.ContainsKey((table.Name, k))).ToList() : sums.Keys.ToList();
            var existing = await ReadSketchesAsync(connection, transaction, table, missing, cancellationToken);
            foreach (var (key, sum) in sums)
            {
                var stored = existing.TryGetValue(key, out var read) ? read : cache && _sketches.TryGetValue((table.Name, key), out var held) ? held : null;
                if (stored is null)
                {
                    pending.Rows.Add(new Row(t, key, sum, sum.Students.ToBytes(), SketchChanged: true));
                    continue;
                }

                var students = DistinctSketch.FromBytes(stored);
                students.Merge(sum.Students);
                var merged = students.ToBytes();
                var changed = !merged.AsSpan().SequenceEqual(stored);
                pending.Rows.Add(new Row(t, key, sum, changed ? merged : stored, changed));
            }
        }
    }

    /// <summary>Writes what <see cref="PrepareAsync"/> computed for <paramref name="partition"/>, and its apps' last-used days; returns the rows written.</summary>
    public async Task<int> WriteAsync(DbConnection connection, DbTransaction transaction, int partition, CancellationToken cancellationToken)
    {
        var pending = _pending[partition];
        var written = 0;
        string[] names = ["@p", "@sc", "@g", "@pl", "@k", "@su", "@c", "@s", "@u", "@e", "@st"];
        void Bind(Row row, object?[] v)
        {
            v[0] = row.Key.Period;
            v[1] = bulk.Id(row.Key.Scope);
            v[2] = row.Key.Grade;
            v[3] = row.Key.Platform;
            v[4] = row.Key.Kind;
            v[5] = row.Key.Subject;
            v[6] = row.Key.Category;
            v[7] = row.Sum.Seconds;
            v[8] = row.Sum.Unfocused;
            v[9] = row.Sum.Events;
            v[10] = row.Students;
        }

        for (var t = 0; t < RollupTable.All.Count; t++)
        {
            var table = RollupTable.All[t];
            var insert = $"""
                INSERT INTO {table.Name} ({table.PeriodColumn}, {table.ScopeColumn}, grade, platform, kind, subject, category, seconds, unfocused_seconds, events, students)
                VALUES (@p, @sc, @g, @pl, @k, @su, @c, @s, @u, @e, @st)
                ON CONFLICT ({table.PeriodColumn}, {table.ScopeColumn}, grade, platform, kind, subject, category) DO UPDATE SET
                    seconds = {table.Name}.seconds + excluded.seconds,
                    unfocused_seconds = {table.Name}.unfocused_seconds + excluded.unfocused_seconds,
                    events = {table.Name}.events + excluded.events
                """;
            var changed = pending.Rows.Where(r => r.Table == t && r.SketchChanged).ToList();
            var same = pending.Rows.Where(r => r.Table == t && !r.SketchChanged).ToList();
            if (changed.Count > 0)
            {
                written += await bulk.ExecuteManyAsync(connection, transaction, insert + ",\n    students = excluded.students", names, changed, Bind, cancellationToken);
            }

            if (same.Count > 0)
            {
                // No new id: the stored sketch stands; only the counters change.
                written += await bulk.ExecuteManyAsync(connection, transaction, insert, names, same, Bind, cancellationToken);
            }
        }

        if (pending.LastUsed.Count > 0)
        {
            var greatest = bulk.Provider == DatabaseProvider.Sqlite ? "max" : "GREATEST";
            written += await bulk.ExecuteManyAsync(connection, transaction,
                $"""
                INSERT INTO {LastUsedTable} (device_id, app_id, last_day) VALUES (@d, @a, @l)
                ON CONFLICT (device_id, app_id) DO UPDATE SET last_day = {greatest}({LastUsedTable}.last_day, excluded.last_day)
                """,
                ["@d", "@a", "@l"], pending.LastUsed.ToList(), (row, v) =>
                {
                    v[0] = bulk.Id(row.Key.Device);
                    v[1] = row.Key.App;
                    v[2] = row.Value;
                }, cancellationToken);
        }

        return written;
    }

    /// <summary>The write of <paramref name="partition"/> committed: its keys leave memory (SQLite keeps their sketches as the tables now hold them).</summary>
    public void Committed(int partition)
    {
        var pending = _pending[partition];
        if (bulk.Provider == DatabaseProvider.Sqlite)
        {
            foreach (var row in pending.Rows)
            {
                _sketches[(RollupTable.All[row.Table].Name, row.Key)] = row.Students;
            }
        }

        Interlocked.Add(ref _bufferedKeys, -pending.KeyCount);
        pending.Clear();
    }

    /// <summary>The partition of a rollup row: a fixed hash (FNV-1a) of its table, period, scope and subject, the same in every process and after a restart.</summary>
    public static int PartitionOf(string table, RollupKey key)
    {
        var hash = Hash(Hash(Hash(Hash(2166136261u, table), key.Period), key.Scope), key.Subject);
        return Bucket(hash);
    }

    /// <summary>The partition of an app's last-used day on a device.</summary>
    public static int PartitionOf(Guid device, string app) => Bucket(Hash(Hash(Hash(2166136261u, LastUsedTable), device), app));

    private const uint FnvPrime = 16777619;

    private static uint Hash(uint hash, string text)
    {
        foreach (var ch in text)
        {
            hash = (hash ^ (byte)ch) * FnvPrime;
            hash = (hash ^ (byte)(ch >> 8)) * FnvPrime;
        }

        return (hash ^ 0xFF) * FnvPrime;
    }

    private static uint Hash(uint hash, int value)
    {
        for (var shift = 0; shift < 32; shift += 8)
        {
            hash = (hash ^ (byte)(value >> shift)) * FnvPrime;
        }

        return hash;
    }

    private static uint Hash(uint hash, Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * FnvPrime;
        }

        return hash;
    }

    private static int Bucket(uint hash)
    {
        // FNV's low bits mix poorly: finish with murmur3's avalanche.
        hash ^= hash >> 16;
        hash *= 0x85EBCA6B;
        hash ^= hash >> 13;
        return (int)(hash % Partitions);
    }

    private async Task<Dictionary<RollupKey, byte[]>> ReadSketchesAsync(
        DbConnection connection, DbTransaction? transaction, RollupTable table, List<RollupKey> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<RollupKey, byte[]>();
        if (keys.Count == 0)
        {
            return found;
        }

        if (connection is NpgsqlConnection npgsql)
        {
            await using var select = new NpgsqlCommand(
                $"""
                SELECT t.{table.PeriodColumn}, t.{table.ScopeColumn}, t.grade, t.platform, t.kind, t.subject, t.category, t.students
                FROM {table.Name} t
                JOIN unnest(@p, @sc, @g, @pl, @k, @su, @c) AS v(p, sc, g, pl, k, su, c)
                  ON t.{table.PeriodColumn} = v.p AND t.{table.ScopeColumn} = v.sc AND t.grade = v.g AND t.platform = v.pl
                 AND t.kind = v.k AND t.subject = v.su AND t.category = v.c
                """, npgsql, (NpgsqlTransaction?)transaction);
            select.Parameters.AddWithValue("p", keys.Select(k => k.Period).ToArray());
            select.Parameters.AddWithValue("sc", keys.Select(k => k.Scope).ToArray());
            select.Parameters.AddWithValue("g", keys.Select(k => k.Grade).ToArray());
            select.Parameters.AddWithValue("pl", keys.Select(k => k.Platform).ToArray());
            select.Parameters.AddWithValue("k", keys.Select(k => k.Kind).ToArray());
            select.Parameters.AddWithValue("su", keys.Select(k => k.Subject).ToArray());
            select.Parameters.AddWithValue("c", keys.Select(k => k.Category).ToArray());
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = new RollupKey(reader.GetInt32(0), reader.GetGuid(1), reader.GetInt32(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6));
                found[key] = (byte[])reader.GetValue(7);
            }

            return found;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            SELECT students FROM {table.Name}
            WHERE {table.PeriodColumn} = @p AND {table.ScopeColumn} = @sc AND grade = @g AND platform = @pl AND kind = @k AND subject = @su AND category = @c
            """;
        var names = new[] { "@p", "@sc", "@g", "@pl", "@k", "@su", "@c" };
        var parameters = names.Select(n =>
        {
            var p = command.CreateParameter();
            p.ParameterName = n;
            command.Parameters.Add(p);
            return p;
        }).ToArray();
        foreach (var key in keys)
        {
            parameters[0].Value = key.Period;
            parameters[1].Value = bulk.Id(key.Scope);
            parameters[2].Value = key.Grade;
            parameters[3].Value = key.Platform;
            parameters[4].Value = key.Kind;
            parameters[5].Value = key.Subject;
            parameters[6].Value = key.Category;
            if (await command.ExecuteScalarAsync(cancellationToken) is byte[] bytes)
            {
                found[key] = bytes;
            }
        }

        return found;
    }

    /// <summary>A device's dimensions now, cached for a minute; null when the device is gone.</summary>
    private async Task<InsightDevice?> DeviceAsync(DbConnection connection, Guid deviceId, CancellationToken cancellationToken)
    {
        if (_devices.TryGetValue(deviceId, out var cached) && Environment.TickCount64 - cached.At < DeviceCacheFor.TotalMilliseconds)
        {
            return cached.Device;
        }

        var device = await LoadDeviceAsync(connection, deviceId, cancellationToken);
        _devices[deviceId] = (device, Environment.TickCount64);
        return device;
    }

    private async Task<InsightDevice?> LoadDeviceAsync(DbConnection connection, Guid deviceId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT d.school_id, d.platform, d.assigned_person_id, p.grade_level, COALESCE(s.time_zone, (SELECT time_zone FROM district LIMIT 1))
            FROM devices d
            LEFT JOIN people p ON p.id = d.assigned_person_id
            LEFT JOIN schools s ON s.id = d.school_id
            WHERE d.id = @d
            """;
        var id = command.CreateParameter();
        id.ParameterName = "@d";
        id.Value = bulk.Id(deviceId);
        command.Parameters.Add(id);
        Guid school;
        string platform;
        Guid? person;
        int grade;
        string? zoneId;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            school = reader.IsDBNull(0) ? Guid.Empty : ReadGuid(reader.GetValue(0));
            platform = reader.GetString(1);
            person = reader.IsDBNull(2) ? null : ReadGuid(reader.GetValue(2));
            grade = reader.IsDBNull(3) ? InsightFold.NoGrade : Convert.ToInt32(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture);
            zoneId = reader.IsDBNull(4) ? null : reader.GetString(4);
        }

        await using var groupsCommand = connection.CreateCommand();
        groupsCommand.CommandText = "SELECT group_id FROM group_devices WHERE device_id = @d UNION SELECT group_id FROM group_members WHERE person_id = @p";
        var d = groupsCommand.CreateParameter();
        d.ParameterName = "@d";
        d.Value = bulk.Id(deviceId);
        var p = groupsCommand.CreateParameter();
        p.ParameterName = "@p";
        p.Value = person is { } personId ? bulk.Id(personId) : bulk.Id(Guid.Empty);
        groupsCommand.Parameters.Add(d);
        groupsCommand.Parameters.Add(p);
        var groups = new List<Guid>();
        await using (var reader = await groupsCommand.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                groups.Add(ReadGuid(reader.GetValue(0)));
            }
        }

        var zone = zoneId is not null && TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var found) ? found : TimeZoneInfo.Utc;
        if (zoneId is not null && zone == TimeZoneInfo.Utc && zoneId != "UTC" && zoneId != "Etc/UTC")
        {
            InsightsLog.UnknownTimeZone(logger, zoneId);
        }

        return new InsightDevice(school, grade, platform, person ?? deviceId, zone, groups);
    }

    /// <summary>A GUID as either provider returns it (text on SQLite, uuid on PostgreSQL).</summary>
    public static Guid ReadGuid(object value) => value is Guid g ? g : Guid.Parse((string)value);

    /// <summary>What one key gathered since its partition was last written.</summary>
    private sealed class Sum
    {
        public long Seconds;
        public long Unfocused;
        public long Events;
        public readonly DistinctSketch Students = new();

        public void Add(InsightContribution c, ulong? student)
        {
            Seconds += c.Seconds;
            Unfocused += c.UnfocusedSeconds;
            Events++;
            if (student is { } hash)
            {
                Students.AddHash(hash);
            }
        }
    }

    /// <summary>One row to write: the key's gathered sums and the sketch the row will hold.</summary>
    private readonly record struct Row(int Table, RollupKey Key, Sum Sum, byte[] Students, bool SketchChanged);

    /// <summary>One partition's keys in memory (per table, in <see cref="RollupTable.All"/>'s order) and its prepared rows.</summary>
    private sealed class Pending
    {
        public readonly Dictionary<RollupKey, Sum>[] Tables = RollupTable.All.Select(_ => new Dictionary<RollupKey, Sum>()).ToArray();
        public readonly Dictionary<(Guid Device, string App), int> LastUsed = [];
        public readonly List<Row> Rows = [];

        public bool IsEmpty => LastUsed.Count == 0 && Array.TrueForAll(Tables, t => t.Count == 0);

        public long KeyCount => LastUsed.Count + Tables.Sum(t => (long)t.Count);

        public void Clear()
        {
            foreach (var table in Tables)
            {
                table.Clear();
            }

            LastUsed.Clear();
            Rows.Clear();
        }
    }
}
