using System.Collections.Concurrent;
using System.Data.Common;
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

/// <summary>
/// A rollup table: its name, the columns of its key (a period, then a school or group when it has one,
/// a grade when it has one, then platform, kind, subject, category) and which rows an event adds to.
/// The fold, the rebuild, retention and the tests go through <see cref="All"/>, so a new table is one entry.
/// </summary>
public sealed class RollupTable
{
    private readonly Func<InsightContribution, InsightDevice, IEnumerable<Guid>> _scopes;

    private RollupTable(string name, bool monthly, string? scopeColumn, bool byGrade, Func<InsightContribution, InsightDevice, IEnumerable<Guid>> scopes)
    {
        Name = name;
        IsMonthly = monthly;
        PeriodColumn = monthly ? "month" : "day";
        ScopeColumn = scopeColumn;
        ByGrade = byGrade;
        _scopes = scopes;
        List<string> columns = [PeriodColumn];
        if (scopeColumn is not null)
        {
            columns.Add(scopeColumn);
        }

        if (byGrade)
        {
            columns.Add("grade");
        }

        columns.AddRange(["platform", "kind", "subject", "category"]);
        KeyColumns = columns;
    }

    /// <summary>Per school, grade and local day.</summary>
    public static readonly RollupTable Daily = new("insight_daily", monthly: false, "school_id", byGrade: true, static (_, d) => [d.SchoolId]);

    /// <summary>Per school, grade and month.</summary>
    public static readonly RollupTable Monthly = new("insight_monthly", monthly: true, "school_id", byGrade: true, static (_, d) => [d.SchoolId]);

    /// <summary>Per class or group (every one the device or its student belongs to), grade and local day.</summary>
    public static readonly RollupTable GroupDaily = new("insight_group_daily", monthly: false, "group_id", byGrade: true, static (_, d) => d.Groups);

    /// <summary>The whole district per local day (each device's day in its school's zone): no school, no grade.</summary>
    public static readonly RollupTable DistrictDaily = new("insight_district_daily", monthly: false, null, byGrade: false, static (_, _) => [Guid.Empty]);

    /// <summary>The whole district per month: no school, no grade.</summary>
    public static readonly RollupTable DistrictMonthly = new("insight_district_monthly", monthly: true, null, byGrade: false, static (_, _) => [Guid.Empty]);

    public static readonly IReadOnlyList<RollupTable> All = [Daily, Monthly, GroupDaily, DistrictDaily, DistrictMonthly];

    public string Name { get; }

    /// <summary>Whether the period is a month (else a local day).</summary>
    public bool IsMonthly { get; }

    public string PeriodColumn { get; }

    /// <summary>The school or group column; null for a district table.</summary>
    public string? ScopeColumn { get; }

    public bool ByGrade { get; }

    /// <summary>The key's columns, in <see cref="KeyValues"/> order.</summary>
    public IReadOnlyList<string> KeyColumns { get; }

    /// <summary>The keys of the rows one event adds to (none, one, or one per group). A table without school or grade keys them as the empty GUID and 0.</summary>
    public IEnumerable<RollupKey> KeysOf(InsightContribution c, InsightDevice device)
    {
        var period = IsMonthly ? InsightRollups.MonthOf(c.Day) : c.Day;
        var grade = ByGrade ? device.Grade : 0;
        foreach (var scope in _scopes(c, device))
        {
            yield return new RollupKey(period, ScopeColumn is null ? Guid.Empty : scope, grade, device.Platform, c.Kind, c.Subject, c.Category);
        }
    }

    /// <summary>A key's values in <see cref="KeyColumns"/> order (GUIDs as the provider stores them).</summary>
    public object[] KeyValues(RollupKey key, Func<Guid, object> id)
    {
        var values = new object[KeyColumns.Count];
        var i = 0;
        values[i++] = key.Period;
        if (ScopeColumn is not null)
        {
            values[i++] = id(key.Scope);
        }

        if (ByGrade)
        {
            values[i++] = key.Grade;
        }

        values[i++] = key.Platform;
        values[i++] = key.Kind;
        values[i++] = key.Subject;
        values[i] = key.Category;
        return values;
    }

    /// <summary>A key read back from <see cref="KeyColumns"/> at ordinals <paramref name="first"/> onwards.</summary>
    public RollupKey ReadKey(DbDataReader reader, int first = 0)
    {
        var i = first;
        var period = Convert.ToInt32(reader.GetValue(i++), System.Globalization.CultureInfo.InvariantCulture);
        var scope = ScopeColumn is null ? Guid.Empty : InsightRollups.ReadGuid(reader.GetValue(i++));
        var grade = ByGrade ? Convert.ToInt32(reader.GetValue(i++), System.Globalization.CultureInfo.InvariantCulture) : 0;
        return new RollupKey(period, scope, grade, reader.GetString(i), reader.GetString(i + 1), reader.GetString(i + 2), reader.GetString(i + 3));
    }
}

/// <summary>
/// Folds stored activity events into the rollup tables inside the caller's transaction, so the raw
/// rows and their aggregates commit together. Events are summed per key in memory first; each key then
/// costs one read of its students sketch and one upsert. On PostgreSQL a transaction-scoped advisory
/// lock serialises folds across server processes (two read-merge-writes of one sketch would lose ids).
/// </summary>
public sealed class InsightRollups(BulkSql bulk, IOptions<ActivityOptions> activity, ILogger<InsightRollups> logger)
{
    private const long FoldLockKey = 0x496e736967687473; // "Insights"
    private static readonly TimeSpan DeviceCacheFor = TimeSpan.FromMinutes(1);

    // SQLite has one writer (this process), so the sketches it last wrote are what the tables hold: a
    // fold reads them here instead of from the database, and rewrites a row's sketch only when it
    // gained an id. Cleared whenever a write may not have committed, on rebuild and on retention.
    private const int MaxCachedSketches = 300_000;
    private readonly ConcurrentDictionary<(string Table, RollupKey Key), byte[]> _sketches = new();
    private readonly ConcurrentDictionary<Guid, (InsightDevice? Device, long At)> _devices = new();
    private long _skipped;
    private volatile bool _districtReady;

    /// <summary>Events stored but not folded (in the future, too old, no subject) since start.</summary>
    public long SkippedCount => Interlocked.Read(ref _skipped);

    /// <summary>Forgets cached device dimensions (a rebuild reads today's roster afresh).</summary>
    public void ForgetDevices()
    {
        _devices.Clear();
        _sketches.Clear();
    }

    /// <summary>Forgets cached sketches: a write may have rolled back, or rows were deleted.</summary>
    public void ForgetSketches() => _sketches.Clear();

    /// <summary>Month number (year * 12 + month - 1) of a day number.</summary>
    public static int MonthOf(int day)
    {
        var date = InsightFold.DateOf(day);
        return (date.Year * 12) + date.Month - 1;
    }

    /// <summary>Adds <paramref name="events"/> (stored now, duplicates already excluded) to every rollup.</summary>
    public async Task FoldAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<StoredActivity> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }

        var sums = RollupTable.All.ToDictionary(t => t, _ => new Dictionary<RollupKey, Sum>());
        var lastUsed = new Dictionary<(Guid Device, string App), int>();
        var retention = activity.Value.Retention;
        foreach (var e in events)
        {
            var device = await DeviceAsync(connection, transaction, e.DeviceId, cancellationToken);
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
            foreach (var (table, into) in sums)
            {
                foreach (var key in table.KeysOf(c, device))
                {
                    Add(into, key, c, student);
                }
            }

            if (c.Kind == InsightFold.AppUsage)
            {
                var key = (e.DeviceId, c.Subject);
                lastUsed[key] = Math.Max(lastUsed.GetValueOrDefault(key, int.MinValue), c.Day);
            }
        }

        if (connection is NpgsqlConnection npgsql)
        {
            await using var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({FoldLockKey})", npgsql, (NpgsqlTransaction)transaction);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        await EnsureDistrictAsync(connection, transaction, cancellationToken);
        foreach (var (table, into) in sums)
        {
            await UpsertAsync(connection, transaction, table, into, cancellationToken);
        }

        if (lastUsed.Count > 0)
        {
            var greatest = bulk.Provider == DatabaseProvider.Sqlite ? "max" : "GREATEST";
            await bulk.ExecuteManyAsync(connection, transaction,
                $"""
                INSERT INTO insight_app_last_used (device_id, app_id, last_day) VALUES (@d, @a, @l)
                ON CONFLICT (device_id, app_id) DO UPDATE SET last_day = {greatest}(insight_app_last_used.last_day, excluded.last_day)
                """,
                ["@d", "@a", "@l"],
                // In app order: the adoption triggers lock their per-app counters in a fixed order.
                lastUsed.OrderBy(x => x.Key.App, StringComparer.Ordinal).ThenBy(x => x.Key.Device).ToList(), (row, v) =>
                {
                    v[0] = bulk.Id(row.Key.Device);
                    v[1] = row.Key.App;
                    v[2] = row.Value;
                }, cancellationToken);
        }
    }

    /// <summary>
    /// Fills the district tables from the school tables once, the first time the folder folds after
    /// the migration that added them (rows folded before it), inside the fold's transaction and lock.
    /// </summary>
    private async Task EnsureDistrictAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (_districtReady)
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT district_ready FROM insight_fold_state WHERE id = 1";
        var ready = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) == 1;
        if (ready)
        {
            // Only a committed flag is trusted: a fill in this transaction may still roll back.
            _districtReady = true;
            return;
        }

        var rows = await FillDistrictAsync(connection, transaction, cancellationToken);
        command.CommandText = "UPDATE insight_fold_state SET district_ready = 1 WHERE id = 1";
        await command.ExecuteNonQueryAsync(cancellationToken);
        InsightsLog.DistrictFilled(logger, rows);
    }

    /// <summary>
    /// Replaces the district tables' rows with the sums of the school tables' rows of each day and month
    /// (sketches merged): what folding every event into them would have given. Returns the rows written.
    /// </summary>
    public async Task<long> FillDistrictAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        long written = 0;
        foreach (var (source, target) in new[] { (RollupTable.Daily, RollupTable.DistrictDaily), (RollupTable.Monthly, RollupTable.DistrictMonthly) })
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"DELETE FROM {target.Name}";
            await command.ExecuteNonQueryAsync(cancellationToken);
            command.CommandText = $"SELECT DISTINCT {source.PeriodColumn} FROM {source.Name} ORDER BY 1";
            var periods = new List<int>();
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    periods.Add(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            command.CommandText = $"SELECT platform, kind, subject, category, seconds, unfocused_seconds, events, students FROM {source.Name} WHERE {source.PeriodColumn} = @p";
            var period = command.CreateParameter();
            period.ParameterName = "@p";
            command.Parameters.Add(period);
            foreach (var p in periods)
            {
                period.Value = p;
                var sums = new Dictionary<RollupKey, (long Seconds, long Unfocused, long Events, DistinctSketch Students)>();
                await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        var key = new RollupKey(p, Guid.Empty, 0, reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3));
                        var students = DistinctSketch.FromBytes((byte[])reader.GetValue(7));
                        if (sums.TryGetValue(key, out var sum))
                        {
                            sum.Students.Merge(students);
                            students = sum.Students;
                        }

                        sums[key] = (sum.Seconds + reader.GetInt64(4), sum.Unfocused + reader.GetInt64(5), sum.Events + reader.GetInt64(6), students);
                    }
                }

                var keyCount = target.KeyColumns.Count;
                var names = Enumerable.Range(0, keyCount + 4).Select(i => "@v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                written += await bulk.ExecuteManyAsync(connection, transaction,
                    $"INSERT INTO {target.Name} ({string.Join(", ", target.KeyColumns)}, seconds, unfocused_seconds, events, students) VALUES ({string.Join(", ", names)})",
                    names, sums.ToList(), (row, v) =>
                    {
                        Array.Copy(target.KeyValues(row.Key, bulk.Id), v, keyCount);
                        v[keyCount] = row.Value.Seconds;
                        v[keyCount + 1] = row.Value.Unfocused;
                        v[keyCount + 2] = row.Value.Events;
                        v[keyCount + 3] = row.Value.Students.ToBytes();
                    }, cancellationToken);
            }
        }

        _sketches.Clear();
        return written;
    }

    private static void Add(Dictionary<RollupKey, Sum> sums, RollupKey key, InsightContribution c, ulong? student)
    {
        if (!sums.TryGetValue(key, out var sum))
        {
            sum = new Sum();
            sums[key] = sum;
        }

        sum.Seconds += c.Seconds;
        sum.Unfocused += c.UnfocusedSeconds;
        sum.Events++;
        if (student is { } hash)
        {
            sum.Students.AddHash(hash);
        }
    }

    private async Task UpsertAsync(DbConnection connection, DbTransaction transaction, RollupTable table, Dictionary<RollupKey, Sum> sums, CancellationToken cancellationToken)
    {
        if (sums.Count == 0)
        {
            return;
        }

        var cache = bulk.Provider == DatabaseProvider.Sqlite;
        if (cache && _sketches.Count > MaxCachedSketches)
        {
            _sketches.Clear();
        }

        var missing = cache ? sums.Keys.Where(k => !_sketches.ContainsKey((table.Name, k))).ToList() : sums.Keys.ToList();
        var existing = await ReadSketchesAsync(connection, transaction, table, missing, cancellationToken);
        var changed = new List<(RollupKey Key, Sum Sum, byte[] Students)>(sums.Count);
        var same = new List<(RollupKey Key, Sum Sum, byte[] Students)>();
        foreach (var (key, sum) in sums)
        {
            var stored = existing.TryGetValue(key, out var read) ? read : cache && _sketches.TryGetValue((table.Name, key), out var held) ? held : null;
            if (stored is null)
            {
                changed.Add((key, sum, sum.Students.ToBytes()));
                continue;
            }

            var students = DistinctSketch.FromBytes(stored);
            var before = students.Count();
            students.Merge(sum.Students);
            if (students.IsExact && students.Count() == before)
            {
                // No new id: the stored sketch stands; only the counters change.
                same.Add((key, sum, stored));
                continue;
            }

            changed.Add((key, sum, students.ToBytes()));
        }

        var keyColumns = string.Join(", ", table.KeyColumns);
        var keyCount = table.KeyColumns.Count;
        var names = Enumerable.Range(0, keyCount + 4).Select(i => "@v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var insert = $"""
            INSERT INTO {table.Name} ({keyColumns}, seconds, unfocused_seconds, events, students)
            VALUES ({string.Join(", ", names)})
            ON CONFLICT ({keyColumns}) DO UPDATE SET
                seconds = {table.Name}.seconds + excluded.seconds,
                unfocused_seconds = {table.Name}.unfocused_seconds + excluded.unfocused_seconds,
                events = {table.Name}.events + excluded.events
            """;
        void Bind((RollupKey Key, Sum Sum, byte[] Students) row, object?[] v)
        {
            var key = table.KeyValues(row.Key, bulk.Id);
            Array.Copy(key, v, keyCount);
            v[keyCount] = row.Sum.Seconds;
            v[keyCount + 1] = row.Sum.Unfocused;
            v[keyCount + 2] = row.Sum.Events;
            v[keyCount + 3] = row.Students;
        }

        if (changed.Count > 0)
        {
            await bulk.ExecuteManyAsync(connection, transaction, insert + ",\n    students = excluded.students", names, changed, Bind, cancellationToken);
        }

        if (same.Count > 0)
        {
            await bulk.ExecuteManyAsync(connection, transaction, insert, names, same, Bind, cancellationToken);
        }

        if (cache)
        {
            foreach (var row in changed.Concat(same))
            {
                _sketches[(table.Name, row.Key)] = row.Students;
            }
        }
    }

    private async Task<Dictionary<RollupKey, byte[]>> ReadSketchesAsync(
        DbConnection connection, DbTransaction transaction, RollupTable table, IEnumerable<RollupKey> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<RollupKey, byte[]>();
        var columns = table.KeyColumns;
        if (connection is NpgsqlConnection npgsql)
        {
            var list = keys.ToList();
            if (list.Count == 0)
            {
                return found;
            }

            var arrays = Enumerable.Range(0, columns.Count).Select(i => "@a" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var aliases = Enumerable.Range(0, columns.Count).Select(i => "v" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            await using var select = new NpgsqlCommand(
                $"""
                SELECT {string.Join(", ", columns.Select(c => "t." + c))}, t.students
                FROM {table.Name} t
                JOIN unnest({string.Join(", ", arrays)}) AS v({string.Join(", ", aliases)})
                  ON {string.Join(" AND ", columns.Select((c, i) => $"t.{c} = v.{aliases[i]}"))}
                """, npgsql, (NpgsqlTransaction)transaction);
            var values = list.Select(k => table.KeyValues(k, bulk.Id)).ToList();
            for (var i = 0; i < columns.Count; i++)
            {
                var column = i;
                Array array = values[0][column] switch
                {
                    int => values.Select(v => (int)v[column]).ToArray(),
                    Guid => values.Select(v => (Guid)v[column]).ToArray(),
                    _ => values.Select(v => (string)v[column]).ToArray(),
                };
                select.Parameters.AddWithValue(arrays[i][1..], array);
            }

            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found[table.ReadKey(reader)] = (byte[])reader.GetValue(columns.Count);
            }

            return found;
        }

        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT students FROM {table.Name} WHERE {string.Join(" AND ", columns.Select((c, i) => $"{c} = @k{i}"))}";
        var parameters = columns.Select((_, i) =>
        {
            var p = command.CreateParameter();
            p.ParameterName = "@k" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            command.Parameters.Add(p);
            return p;
        }).ToArray();
        foreach (var key in keys)
        {
            var values = table.KeyValues(key, bulk.Id);
            for (var i = 0; i < values.Length; i++)
            {
                parameters[i].Value = values[i];
            }

            if (await command.ExecuteScalarAsync(cancellationToken) is byte[] bytes)
            {
                found[key] = bytes;
            }
        }

        return found;
    }

    /// <summary>A device's dimensions now, cached for a minute; null when the device is gone.</summary>
    private async Task<InsightDevice?> DeviceAsync(DbConnection connection, DbTransaction transaction, Guid deviceId, CancellationToken cancellationToken)
    {
        if (_devices.TryGetValue(deviceId, out var cached) && Environment.TickCount64 - cached.At < DeviceCacheFor.TotalMilliseconds)
        {
            return cached.Device;
        }

        var device = await LoadDeviceAsync(connection, transaction, deviceId, cancellationToken);
        _devices[deviceId] = (device, Environment.TickCount64);
        return device;
    }

    private async Task<InsightDevice?> LoadDeviceAsync(DbConnection connection, DbTransaction transaction, Guid deviceId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
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
        groupsCommand.Transaction = transaction;
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

    private sealed class Sum
    {
        public long Seconds;
        public long Unfocused;
        public long Events;
        public readonly DistinctSketch Students = new();
    }
}
