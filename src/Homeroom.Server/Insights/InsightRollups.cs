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

/// <summary>A rollup table: its name and the columns of its period and scope.</summary>
public sealed record RollupTable(string Name, string PeriodColumn, string ScopeColumn)
{
    public static readonly RollupTable Daily = new("insight_daily", "day", "school_id");
    public static readonly RollupTable Monthly = new("insight_monthly", "month", "school_id");
    public static readonly RollupTable GroupDaily = new("insight_group_daily", "day", "group_id");

    public static readonly IReadOnlyList<RollupTable> All = [Daily, Monthly, GroupDaily];
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

        var daily = new Dictionary<RollupKey, Sum>();
        var monthly = new Dictionary<RollupKey, Sum>();
        var groups = new Dictionary<RollupKey, Sum>();
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
            Add(daily, new RollupKey(c.Day, device.SchoolId, device.Grade, device.Platform, c.Kind, c.Subject, c.Category), c, student);
            Add(monthly, new RollupKey(MonthOf(c.Day), device.SchoolId, device.Grade, device.Platform, c.Kind, c.Subject, c.Category), c, student);
            foreach (var group in device.Groups)
            {
                Add(groups, new RollupKey(c.Day, group, device.Grade, device.Platform, c.Kind, c.Subject, c.Category), c, student);
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

        await UpsertAsync(connection, transaction, RollupTable.Daily, daily, cancellationToken);
        await UpsertAsync(connection, transaction, RollupTable.Monthly, monthly, cancellationToken);
        await UpsertAsync(connection, transaction, RollupTable.GroupDaily, groups, cancellationToken);
        if (lastUsed.Count > 0)
        {
            var greatest = bulk.Provider == DatabaseProvider.Sqlite ? "max" : "GREATEST";
            await bulk.ExecuteManyAsync(connection, transaction,
                $"""
                INSERT INTO insight_app_last_used (device_id, app_id, last_day) VALUES (@d, @a, @l)
                ON CONFLICT (device_id, app_id) DO UPDATE SET last_day = {greatest}(insight_app_last_used.last_day, excluded.last_day)
                """,
                ["@d", "@a", "@l"], lastUsed.ToList(), (row, v) =>
                {
                    v[0] = bulk.Id(row.Key.Device);
                    v[1] = row.Key.App;
                    v[2] = row.Value;
                }, cancellationToken);
        }
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

        var insert = $"""
            INSERT INTO {table.Name} ({table.PeriodColumn}, {table.ScopeColumn}, grade, platform, kind, subject, category, seconds, unfocused_seconds, events, students)
            VALUES (@p, @sc, @g, @pl, @k, @su, @c, @s, @u, @e, @st)
            ON CONFLICT ({table.PeriodColumn}, {table.ScopeColumn}, grade, platform, kind, subject, category) DO UPDATE SET
                seconds = {table.Name}.seconds + excluded.seconds,
                unfocused_seconds = {table.Name}.unfocused_seconds + excluded.unfocused_seconds,
                events = {table.Name}.events + excluded.events
            """;
        string[] names = ["@p", "@sc", "@g", "@pl", "@k", "@su", "@c", "@s", "@u", "@e", "@st"];
        void Bind((RollupKey Key, Sum Sum, byte[] Students) row, object?[] v)
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
        if (connection is NpgsqlConnection npgsql)
        {
            var list = keys.ToList();
            await using var select = new NpgsqlCommand(
                $"""
                SELECT t.{table.PeriodColumn}, t.{table.ScopeColumn}, t.grade, t.platform, t.kind, t.subject, t.category, t.students
                FROM {table.Name} t
                JOIN unnest(@p, @sc, @g, @pl, @k, @su, @c) AS v(p, sc, g, pl, k, su, c)
                  ON t.{table.PeriodColumn} = v.p AND t.{table.ScopeColumn} = v.sc AND t.grade = v.g AND t.platform = v.pl
                 AND t.kind = v.k AND t.subject = v.su AND t.category = v.c
                """, npgsql, (NpgsqlTransaction)transaction);
            select.Parameters.AddWithValue("p", list.Select(k => k.Period).ToArray());
            select.Parameters.AddWithValue("sc", list.Select(k => k.Scope).ToArray());
            select.Parameters.AddWithValue("g", list.Select(k => k.Grade).ToArray());
            select.Parameters.AddWithValue("pl", list.Select(k => k.Platform).ToArray());
            select.Parameters.AddWithValue("k", list.Select(k => k.Kind).ToArray());
            select.Parameters.AddWithValue("su", list.Select(k => k.Subject).ToArray());
            select.Parameters.AddWithValue("c", list.Select(k => k.Category).ToArray());
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
