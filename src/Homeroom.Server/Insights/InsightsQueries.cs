using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Text;
using Homeroom.Rules.Insights;
using Homeroom.Server.Accounts;
using Homeroom.Server.Activity;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>A report: its range, the previous range its trend compares against (when it has one), and its rows.</summary>
public sealed record InsightReport<T>(DateOnly From, DateOnly To, DateOnly? PreviousFrom, DateOnly? PreviousTo, IReadOnlyList<T> Rows);

/// <summary>A blocked site or app: blocks in the range, students who hit it, and blocks in the previous range.</summary>
public sealed record BlockedSubjectRow(string Subject, long Blocks, long Students, long PreviousBlocks);

/// <summary>A blocking category: blocks of sites and apps in the range, students, and blocks in the previous range.</summary>
public sealed record BlockedCategoryRow(string Category, long Blocks, long Students, long PreviousBlocks);

/// <summary>
/// A site or app in use: headline seconds (focused time on a site, foreground time of an app), unfocused
/// seconds (sites only), events (visits of a site, usage reports of an app) and students.
/// </summary>
public sealed record UsageRow(string Subject, long Seconds, long UnfocusedSeconds, long Events, long Students);

/// <summary>
/// An app of the devices' inventories: devices it is installed on, licences (given, else the installs),
/// devices that used it in the last 30 days, and installs never seen in use.
/// </summary>
public sealed record AppAdoptionRow(string AppId, string? Name, long Installed, long Licensed, long UsedLast30Days, long NeverUsed);

/// <summary>A student (or an unassigned device) who hit a blocked site: from raw events, so only within their retention.</summary>
public sealed record BlockedStudentRow(Guid? PersonId, string Name, Guid DeviceId, string DeviceName, long Blocks, DateTime LastBlockedAt);

/// <summary>How a usage report is ordered.</summary>
public enum UsageOrder
{
    Time,
    Students,
}

/// <summary>
/// The insight reports the console and the API share. Every method takes the caller's scope: staff
/// limited to a school see only it (naming another school is refused, 403), a class filter must be a
/// class the caller reaches (else 404). Reports read rollups only, never raw events, except the names
/// behind a blocked site (<see cref="BlockedStudentsAsync"/>), which need
/// <see cref="Permission.ReadInsightNames"/> and are audited.
/// </summary>
public sealed class InsightsQueries(
    BulkSql bulk, IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, IOptions<InsightsOptions> options, TimeProvider time)
{
    public const int MaxLimit = 1_000;
    public const int MaxSiteLength = 255;

    // "Top by students" merges the sketches of this many candidates, the most active by events.
    private const int StudentCandidates = 200;

    /// <summary>Whether district-wide reports read the district tables (tests compare both ways).</summary>
    internal bool ReadDistrictTables { get; init; } = true;

    /// <summary>Most-blocked sites (<paramref name="apps"/>: apps) with the previous period's blocks.</summary>
    public async Task<InsightReport<BlockedSubjectRow>> MostBlockedAsync(StaffScope scope, InsightFilter filter, bool apps, int limit, CancellationToken cancellationToken)
    {
        var where = await ResolveAsync(scope, filter, limit, cancellationToken);
        var kind = apps ? InsightFold.AppBlocked : InsightFold.WebBlocked;
        await using var connection = await bulk.OpenAsync(cancellationToken);
        var top = await TotalsAsync(connection, where, filter, [kind], "subject", limit, cancellationToken);
        var students = await StudentsAsync(connection, where, filter, [kind], "subject", top.Select(t => t.Key).ToList(), cancellationToken);
        var previous = await TotalsAsync(connection, where, filter.PreviousPeriod(), [kind], "subject", top.Select(t => t.Key).ToList(), cancellationToken);
        var rows = top.Select(t => new BlockedSubjectRow(t.Key, t.Events, students.GetValueOrDefault(t.Key), previous.FirstOrDefault(p => p.Key == t.Key)?.Events ?? 0)).ToList();
        return Report(filter, rows, withPrevious: true);
    }

    /// <summary>Blocking categories of sites and apps, with the previous period's blocks.</summary>
    public async Task<InsightReport<BlockedCategoryRow>> BlockedCategoriesAsync(StaffScope scope, InsightFilter filter, int limit, CancellationToken cancellationToken)
    {
        var where = await ResolveAsync(scope, filter, limit, cancellationToken);
        string[] kinds = [InsightFold.WebBlocked, InsightFold.AppBlocked];
        await using var connection = await bulk.OpenAsync(cancellationToken);
        var top = await TotalsAsync(connection, where, filter, kinds, "category", limit, cancellationToken);
        var students = await StudentsAsync(connection, where, filter, kinds, "category", top.Select(t => t.Key).ToList(), cancellationToken);
        var previous = await TotalsAsync(connection, where, filter.PreviousPeriod(), kinds, "category", top.Select(t => t.Key).ToList(), cancellationToken);
        var rows = top.Select(t => new BlockedCategoryRow(t.Key, t.Events, students.GetValueOrDefault(t.Key), previous.FirstOrDefault(p => p.Key == t.Key)?.Events ?? 0)).ToList();
        return Report(filter, rows, withPrevious: true);
    }

    /// <summary>
    /// Top sites (<paramref name="apps"/>: apps) by time or by students. By students, the
    /// <c>200</c> (or 10 × limit) most active by events are counted exactly and ranked.
    /// </summary>
    public async Task<InsightReport<UsageRow>> TopUsageAsync(StaffScope scope, InsightFilter filter, bool apps, UsageOrder order, int limit, CancellationToken cancellationToken)
    {
        var where = await ResolveAsync(scope, filter, limit, cancellationToken);
        string[] kinds = apps ? [InsightFold.AppUsage] : [InsightFold.WebVisit, InsightFold.WebUsage];
        await using var connection = await bulk.OpenAsync(cancellationToken);
        var candidates = order == UsageOrder.Time
            ? await TotalsAsync(connection, where, filter, kinds, "subject", limit, cancellationToken, orderBySeconds: true)
            : await TotalsAsync(connection, where, filter, kinds, "subject", Math.Max(StudentCandidates, 10 * limit), cancellationToken);
        var students = await StudentsAsync(connection, where, filter, kinds, "subject", candidates.Select(t => t.Key).ToList(), cancellationToken);
        var rows = candidates.Select(t => new UsageRow(t.Key, t.Seconds, t.Unfocused, apps ? t.Events : t.Visits, students.GetValueOrDefault(t.Key)));
        rows = order == UsageOrder.Time ? rows : rows.OrderByDescending(r => r.Students).ThenByDescending(r => r.Events).ThenBy(r => r.Subject, StringComparer.Ordinal).Take(limit);
        return Report(filter, rows.ToList(), withPrevious: false);
    }

    /// <summary>
    /// Apps of the scope's devices' inventories with installs, licences (<paramref name="licences"/> by
    /// app id, else the installs), devices that used the app in the 30 days to today, and installs never
    /// used. The date range does not apply (inventories are current); the other filters do.
    /// </summary>
    public async Task<InsightReport<AppAdoptionRow>> AppAdoptionAsync(
        StaffScope scope, InsightFilter filter, IReadOnlyDictionary<string, int>? licences, int limit, CancellationToken cancellationToken)
    {
        var where = await ResolveAsync(scope, filter, limit, cancellationToken);
        var since = InsightFold.DayNumber(DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime)) - 30;
        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        var sql = new StringBuilder(where is { District: true, Grade: null, Platform: null }
            // The whole district: the counts the inventory and fold triggers keep per app and last-used day.
            ? """
            SELECT a.app_id, (SELECT MAX(da.name) FROM device_apps da WHERE da.app_id = a.app_id), SUM(a.devices),
                   SUM(CASE WHEN a.last_day >= @since THEN a.devices ELSE 0 END),
                   SUM(CASE WHEN a.last_day = -1 THEN a.devices ELSE 0 END)
            FROM insight_app_adoption a
            WHERE 1 = 1
            """
            : """
            SELECT da.app_id, MAX(da.name), COUNT(*),
                   SUM(CASE WHEN u.last_day >= @since THEN 1 ELSE 0 END),
                   SUM(CASE WHEN u.last_day IS NULL THEN 1 ELSE 0 END)
            FROM device_apps da
            JOIN devices d ON d.id = da.device_id
            LEFT JOIN people p ON p.id = d.assigned_person_id
            LEFT JOIN insight_app_last_used u ON u.device_id = da.device_id AND u.app_id = da.app_id
            WHERE 1 = 1
            """);
        Add(command, "@since", since);
        DeviceConditions(command, sql, where);
        sql.Append(" GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT @limit");
        Add(command, "@limit", limit);
        command.CommandText = sql.ToString();
        var rows = new List<AppAdoptionRow>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var app = reader.GetString(0);
                var installed = Long(reader, 2);
                rows.Add(new AppAdoptionRow(app, reader.IsDBNull(1) ? null : reader.GetString(1), installed,
                    licences is not null && licences.TryGetValue(app, out var seats) ? seats : installed, Long(reader, 3), Long(reader, 4)));
            }
        }

        return Report(filter, rows, withPrevious: false);
    }

    /// <summary>
    /// Who hit a blocked site in the range: students (or unassigned devices) with their blocks, from raw
    /// events (so only within raw retention). Needs <see cref="Permission.ReadInsightNames"/>; audited.
    /// </summary>
    public async Task<InsightReport<BlockedStudentRow>> BlockedStudentsAsync(StaffScope scope, InsightFilter filter, string site, int limit, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ReadInsightNames);
        site = site.Trim().ToLowerInvariant();
        if (site.Length is 0 or > MaxSiteLength || !site.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or ':' or '[' or ']'))
        {
            throw new RequestValidationException(new() { ["site"] = ["A site's host name, e.g. example.org."] });
        }

        var where = await ResolveAsync(scope, filter, limit, cancellationToken);
        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // Raw events are not indexed by when they happened (migration 0060): those that arrived within a day of it are
        // found by their arrival, a day either side of the range, and the others through the partial index of them.
        var sql = new StringBuilder($"""
            SELECT e.device_id, d.name, p.id, p.given_name, p.family_name, e.occurred_at, e.url, COALESCE(s.time_zone, (SELECT time_zone FROM district LIMIT 1))
            FROM activity_events e
            JOIN devices d ON d.id = e.device_id
            LEFT JOIN people p ON p.id = d.assigned_person_id
            LEFT JOIN schools s ON s.id = d.school_id
            WHERE e.id IN (
                SELECT id FROM activity_events
                WHERE received_at >= @receivedFrom AND received_at < @receivedTo AND kind = @kind AND occurred_at >= @start AND occurred_at < @end
                UNION
                SELECT id FROM activity_events
                WHERE {ActivityTimeIndexes.OffTime(bulk.Provider)} AND kind = @kind AND occurred_at >= @start AND occurred_at < @end)
            AND e.url LIKE @like
            """);
        // A day in any zone lies within 14 hours of the same UTC day; the exact local day is checked below.
        var start = filter.From.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).AddHours(-14);
        var end = filter.To.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).AddHours(14);
        Add(command, "@kind", InsightFold.WebBlocked);
        Add(command, "@start", start);
        Add(command, "@end", end);
        Add(command, "@receivedFrom", start - ActivityTimeIndexes.OnTime);
        Add(command, "@receivedTo", end + ActivityTimeIndexes.OnTime);
        Add(command, "@like", "%" + site + "%");
        DeviceConditions(command, sql, where);
        command.CommandText = sql.ToString();
        var from = InsightFold.DayNumber(filter.From);
        var to = InsightFold.DayNumber(filter.To);
        var found = new Dictionary<(Guid?, Guid), (string Name, string Device, long Blocks, DateTime Last)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var at = DateTime.SpecifyKind(reader.GetDateTime(5), DateTimeKind.Utc);
                var zone = TimeZoneInfo.TryFindSystemTimeZoneById(reader.GetString(7), out var z) ? z : TimeZoneInfo.Utc;
                var day = InsightFold.LocalDay(at, zone);
                if (day < from || day > to || InsightFold.RegistrableHost(reader.IsDBNull(6) ? null : reader.GetString(6)) != site)
                {
                    continue;
                }

                var device = InsightRollups.ReadGuid(reader.GetValue(0));
                Guid? person = reader.IsDBNull(2) ? null : InsightRollups.ReadGuid(reader.GetValue(2));
                var name = person is null ? "(no student)" : $"{reader.GetString(3)} {reader.GetString(4)}";
                var key = (person, device);
                var current = found.GetValueOrDefault(key, (name, reader.GetString(1), 0, DateTime.MinValue));
                found[key] = (current.Name, current.Device, current.Blocks + 1, at > current.Last ? at : current.Last);
            }
        }

        var rows = found.Select(f => new BlockedStudentRow(f.Key.Item1, f.Value.Name, f.Key.Item2, f.Value.Device, f.Value.Blocks, f.Value.Last))
            .OrderByDescending(r => r.Blocks).ThenBy(r => r.Name, StringComparer.Ordinal).Take(limit).ToList();

        // Names behind a blocked site are personal data: reading them is audited.
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        audit.Record(db, "insights.blocked.students.read", "site", site,
            $"{filter.From:yyyy-MM-dd} to {filter.To:yyyy-MM-dd}, {rows.Count} students", where.SchoolId ?? scope.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return Report(filter, rows, withPrevious: false);
    }

    /// <summary>
    /// The filter as the scope allows it: the school it is limited to, and a class it reaches; whether
    /// the district tables may be read (filled since the upgrade that added them).
    /// </summary>
    private sealed record Where(Guid? SchoolId, int? Grade, Guid? GroupId, string? Platform, bool District = false);

    // Set once the fold state says the district tables were filled; a database never goes back (a
    // migration that adds district tables runs before the server starts).
    private volatile bool _districtFilled;

    /// <summary>
    /// Whether the district tables hold what the school tables hold: after an upgrade that added one,
    /// the folder fills them at its first complete flush, and until then reports read the school tables.
    /// </summary>
    private async Task<bool> DistrictFilledAsync(CancellationToken cancellationToken)
    {
        if (_districtFilled)
        {
            return true;
        }

        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT district_ready FROM insight_fold_state WHERE id = 1";
        _districtFilled = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 1;
        return _districtFilled;
    }

    private async Task<Where> ResolveAsync(StaffScope scope, InsightFilter filter, int limit, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ReadInsights);
        var errors = filter.Validate() ?? [];
        if (limit is < 1 or > MaxLimit)
        {
            errors["limit"] = [$"1 to {MaxLimit}."];
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        var school = filter.SchoolId;
        if (school is { } id)
        {
            scope.EnsureIncludesSchool(id, "schoolId");
        }
        else if (!scope.IsDistrictWide)
        {
            // Staff limited to a school see only it (a teacher has no insight permission at all).
            school = scope.SchoolId ?? throw new ForbiddenException("Outside your school", "Your account reaches no school.");
        }

        if (filter.GroupId is { } group)
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            if (!await scope.Groups(db).AnyAsync(g => g.Id == group, cancellationToken))
            {
                throw new NotFoundException("No such class or group in your scope.");
            }
        }

        var district = ReadDistrictTables && school is null && filter.GroupId is null && await DistrictFilledAsync(cancellationToken);
        return new Where(school, filter.Grade, filter.GroupId, filter.Platform?.Trim().ToLowerInvariant(), district);
    }

    private sealed record Totals(string Key, long Events, long Seconds, long Unfocused, long Visits);

    /// <summary>The tables one report reads: per day, per week (optional) and per month.</summary>
    private sealed record Family(RollupTable Daily, RollupTable? Weekly, RollupTable Monthly);

    private static readonly Family SchoolFamily = new(RollupTable.Daily, null, RollupTable.Monthly);
    private static readonly Family DistrictFamily = new(RollupTable.DistrictDaily, null, RollupTable.DistrictMonthly);
    private static readonly Family SubjectFamily = new(RollupTable.DistrictSubjectDaily, RollupTable.DistrictSubjectWeekly, RollupTable.DistrictSubjectMonthly);
    private static readonly Family CategoryFamily = new(RollupTable.DistrictCategoryDaily, null, RollupTable.DistrictCategoryMonthly);
    private static readonly Family GradeFamily = new(RollupTable.DistrictGradeDaily, null, RollupTable.DistrictGradeMonthly);
    private static readonly Family PlatformFamily = new(RollupTable.DistrictPlatformDaily, RollupTable.DistrictPlatformWeekly, RollupTable.DistrictPlatformMonthly);

    /// <summary>
    /// The smallest tables that answer a report keyed by <paramref name="keyColumn"/>: a school (always
    /// there for a school-limited caller) reads the school tables; the whole district reads a district
    /// table that keeps only the dimensions the report groups or filters by.
    /// </summary>
    private Family FamilyFor(Where where, string keyColumn)
    {
        if (!where.District)
        {
            return SchoolFamily;
        }

        return (where.Grade, where.Platform) switch
        {
            (null, null) => keyColumn == "category" ? CategoryFamily : SubjectFamily,
            (not null, null) => GradeFamily,
            // By site or app on one platform: no category to sum over; the categories report keeps 0022's tables.
            (null, not null) => keyColumn == "category" ? DistrictFamily : PlatformFamily,
            // A grade on one platform: the school tables (read through their grade index).
            _ => SchoolFamily,
        };
    }

    /// <summary>
    /// The rollup rows of the range as one row source (kind, subject, category, sums, students): whole
    /// months from the monthly table, whole weeks of the days around them from the weekly table (when the
    /// family has one), the rest from the daily one (a class filter reads its own daily table).
    /// </summary>
    private string Rows(DbCommand command, Where where, InsightFilter filter, string[] kinds, string keyColumn, string prefix)
    {
        var kindNames = new List<string>();
        for (var i = 0; i < kinds.Length; i++)
        {
            kindNames.Add($"@{prefix}k{i}");
            Add(command, $"@{prefix}k{i}", kinds[i]);
        }

        var kindCondition = " AND kind IN (" + string.Join(", ", kindNames) + ")";
        if (where.Grade is { } grade)
        {
            Add(command, $"@{prefix}grade", grade);
        }

        if (where.Platform is { } platform)
        {
            Add(command, $"@{prefix}platform", platform);
        }

        string Dims(RollupTable table) =>
            kindCondition
            + (where.Grade is not null ? $" AND grade = @{prefix}grade" : "")
            + (where.Platform is not null ? $" AND platform = @{prefix}platform" : "")
            + (where.SchoolId is not null && table.ScopeColumn == "school_id" ? $" AND school_id = @{prefix}school" : "");

        static string Columns(RollupTable table) =>
            "kind, " + (table.BySubject ? "subject" : "'' AS subject") + ", " + (table.ByCategory ? "category" : "'' AS category")
            + ", seconds, unfocused_seconds, events, students";

        var parts = new List<string>();
        void Part(RollupTable table, int from, int to)
        {
            var n = parts.Count.ToString(CultureInfo.InvariantCulture);
            Add(command, $"@{prefix}a{n}", from);
            Add(command, $"@{prefix}b{n}", to);
            var scope = table.ScopeColumn == "group_id" ? $" AND group_id = @{prefix}group" : "";
            parts.Add($"SELECT {Columns(table)} FROM {table.Name} WHERE {table.PeriodColumn} BETWEEN @{prefix}a{n} AND @{prefix}b{n}{scope}{Dims(table)}");
        }

        var first = InsightFold.DayNumber(filter.From);
        var last = InsightFold.DayNumber(filter.To);
        if (where.GroupId is { } group)
        {
            Add(command, $"@{prefix}group", Id(command, group));
            Part(RollupTable.GroupDaily, first, last);
            return string.Join("\nUNION ALL ", parts);
        }

        if (where.SchoolId is { } school)
        {
            Add(command, $"@{prefix}school", Id(command, school));
        }

        var family = FamilyFor(where, keyColumn);
        // Days first..last not in whole months: whole weeks where the family has them, then days.
        void Days(int from, int to)
        {
            if (from > to)
            {
                return;
            }

            if (family.Weekly is { } weekly)
            {
                var firstWeek = InsightRollups.WeekOf(from) == from ? from : InsightRollups.WeekOf(from) + 7;
                var lastWeek = InsightRollups.WeekOf(to + 1) - 7;
                if (firstWeek <= lastWeek)
                {
                    if (from < firstWeek)
                    {
                        Part(family.Daily, from, firstWeek - 1);
                    }

                    Part(weekly, firstWeek, lastWeek);
                    if (lastWeek + 6 < to)
                    {
                        Part(family.Daily, lastWeek + 7, to);
                    }

                    return;
                }
            }

            Part(family.Daily, from, to);
        }

        // Whole months inside the range: the first month starting on or after From, the last ending on or before To.
        var firstMonthStart = filter.From.Day == 1 ? filter.From : new DateOnly(filter.From.Year, filter.From.Month, 1).AddMonths(1);
        var lastMonthEnd = filter.To.AddDays(1).Day == 1 ? filter.To : new DateOnly(filter.To.Year, filter.To.Month, 1).AddDays(-1);
        if (firstMonthStart > lastMonthEnd)
        {
            Days(first, last);
        }
        else
        {
            Days(first, InsightFold.DayNumber(firstMonthStart) - 1);
            Part(family.Monthly, (firstMonthStart.Year * 12) + firstMonthStart.Month - 1, (lastMonthEnd.Year * 12) + lastMonthEnd.Month - 1);
            Days(InsightFold.DayNumber(lastMonthEnd) + 1, last);
        }

        return string.Join("\nUNION ALL ", parts);
    }

    /// <summary>Sums per <paramref name="keyColumn"/>: the top <paramref name="limit"/> by events (or seconds).</summary>
    private Task<List<Totals>> TotalsAsync(
        DbConnection connection, Where where, InsightFilter filter, string[] kinds, string keyColumn, int limit, CancellationToken cancellationToken, bool orderBySeconds = false) =>
        TotalsAsync(connection, where, filter, kinds, keyColumn, limit, null, orderBySeconds, cancellationToken);

    /// <summary>Sums for the given keys only.</summary>
    private Task<List<Totals>> TotalsAsync(
        DbConnection connection, Where where, InsightFilter filter, string[] kinds, string keyColumn, IReadOnlyList<string> keys, CancellationToken cancellationToken) =>
        keys.Count == 0 ? Task.FromResult(new List<Totals>()) : TotalsAsync(connection, where, filter, kinds, keyColumn, keys.Count, keys, false, cancellationToken);

    private async Task<List<Totals>> TotalsAsync(
        DbConnection connection, Where where, InsightFilter filter, string[] kinds, string keyColumn, int limit, IReadOnlyList<string>? keys, bool orderBySeconds, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        var rows = Rows(command, where, filter, kinds, keyColumn, "r");
        var only = keys is null ? "" : $" WHERE {keyColumn} IN ({KeyList(command, keys)})";
        var order = orderBySeconds ? "3 DESC, 2 DESC" : "2 DESC, 3 DESC";
        command.CommandText = $"""
            SELECT {keyColumn}, SUM(events), SUM(seconds), SUM(unfocused_seconds), SUM(CASE WHEN kind = 'web.visit' THEN events ELSE 0 END)
            FROM ({rows}) x{only}
            GROUP BY {keyColumn} ORDER BY {order}, 1 LIMIT @limit
            """;
        Add(command, "@limit", limit);
        var result = new List<Totals>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new Totals(reader.GetString(0), Long(reader, 1), Long(reader, 2), Long(reader, 3), Long(reader, 4)));
        }

        return result;
    }

    /// <summary>
    /// Distinct students per key, merging the sketches of every matching row. The keys are dealt out over
    /// <see cref="InsightsOptions.SketchReadConnections"/> connections read at once (the first is the report's
    /// own); each key's rows all come from one of them.
    /// </summary>
    private async Task<Dictionary<string, long>> StudentsAsync(
        DbConnection connection, Where where, InsightFilter filter, string[] kinds, string keyColumn, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return [];
        }

        var shares = Math.Min(options.Value.SketchReadConnections ?? (bulk.Provider == DatabaseProvider.Postgres ? 2 : 1), keys.Count);
        if (shares == 1)
        {
            var sketches = await SketchesAsync(connection, where, filter, kinds, keyColumn, keys, cancellationToken);
            return sketches.ToDictionary(s => s.Key, s => s.Value.Count(), StringComparer.Ordinal);
        }

        // Dealt round-robin: candidates come most active first, so each share gets as many busy keys (and rows).
        var dealt = Enumerable.Range(0, shares).Select(share => keys.Where((_, i) => i % shares == share).ToList()).ToList();
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reads = dealt.Select((share, i) => Task.Run(async () =>
        {
            try
            {
                if (i == 0)
                {
                    return await SketchesAsync(connection, where, filter, kinds, keyColumn, share, failed.Token);
                }

                await using var other = await bulk.OpenAsync(failed.Token);
                return await SketchesAsync(other, where, filter, kinds, keyColumn, share, failed.Token);
            }
            catch
            {
                // One share failing ends the others' reads rather than leaving them to finish for nothing.
                await failed.CancelAsync();
                throw;
            }
        }, CancellationToken.None)).ToList();
        await Task.WhenAll(reads);

        // The shares hold different keys (each key's rows were all read over one connection), so they only add up.
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var read in reads)
        {
            foreach (var (key, sketch) in await read)
            {
                counts.Add(key, sketch.Count());
            }
        }

        return counts;
    }

    /// <summary>The merged sketch of each of <paramref name="keys"/> over the range's rows, read over <paramref name="connection"/>.</summary>
    private async Task<Dictionary<string, DistinctSketch>> SketchesAsync(
        DbConnection connection, Where where, InsightFilter filter, string[] kinds, string keyColumn, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var sketches = new Dictionary<string, DistinctSketch>(StringComparer.Ordinal);
        await using var command = connection.CreateCommand();
        var rows = Rows(command, where, filter, kinds, keyColumn, "r");
        command.CommandText = $"SELECT {keyColumn}, students FROM ({rows}) x WHERE {keyColumn} IN ({KeyList(command, keys)})";
        // Each row's sketch is copied into one buffer and merged from it, rather than read as a new array per row
        // (a year of the district is about 10,000 rows, most of them 4 KB). A row fits Npgsql's 8 KB read buffer, so
        // the reader already holds it whole: sequential access would only make GetBytes wait on the socket mid-row.
        var buffer = ArrayPool<byte>.Shared.Rent(DistinctSketch.MaxBytes);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (reader.IsDBNull(1))
                {
                    continue;
                }

                var length = reader.GetBytes(1, 0, null, 0, 0);
                if (length <= 1)
                {
                    continue;
                }

                if (length > DistinctSketch.MaxBytes)
                {
                    throw new FormatException("Not a distinct sketch.");
                }

                var read = (int)reader.GetBytes(1, 0, buffer, 0, (int)length);
                var key = reader.GetString(0);
                if (!sketches.TryGetValue(key, out var sketch))
                {
                    sketch = new DistinctSketch();
                    sketches[key] = sketch;
                }

                sketch.MergeBytes(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return sketches;
    }

    private static string KeyList(DbCommand command, IReadOnlyList<string> keys)
    {
        var names = new List<string>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            names.Add($"@key{i}");
            Add(command, $"@key{i}", keys[i]);
        }

        return string.Join(", ", names);
    }

    /// <summary>Conditions on devices <c>d</c> and their students <c>p</c> for the inventory and names reports.</summary>
    private static void DeviceConditions(DbCommand command, StringBuilder sql, Where where)
    {
        if (where.SchoolId is { } school)
        {
            sql.Append(" AND d.school_id = @school");
            Add(command, "@school", Id(command, school));
        }

        if (where.Grade is { } grade)
        {
            sql.Append(" AND COALESCE(p.grade_level, -1) = @grade");
            Add(command, "@grade", grade);
        }

        if (where.Platform is { } platform)
        {
            sql.Append(" AND d.platform = @platform");
            Add(command, "@platform", platform);
        }

        if (where.GroupId is { } group)
        {
            sql.Append(" AND (d.id IN (SELECT device_id FROM group_devices WHERE group_id = @group) OR d.assigned_person_id IN (SELECT person_id FROM group_members WHERE group_id = @group))");
            Add(command, "@group", Id(command, group));
        }
    }

    private static object Id(DbCommand command, Guid id) => command is Npgsql.NpgsqlCommand ? id : id.ToString().ToUpperInvariant();

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private static long Long(DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? 0 : Convert.ToInt64(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    private static InsightReport<T> Report<T>(InsightFilter filter, IReadOnlyList<T> rows, bool withPrevious) =>
        withPrevious
            ? new InsightReport<T>(filter.From, filter.To, filter.PreviousPeriod().From, filter.PreviousPeriod().To, rows)
            : new InsightReport<T>(filter.From, filter.To, null, null, rows);
}
