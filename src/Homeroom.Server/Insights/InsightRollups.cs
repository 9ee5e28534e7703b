using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.InteropServices;
using Homeroom.Rules.Insights;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>One stored activity event, as the rollups read it (live from the writer, or from raw events in a rebuild).</summary>
public readonly record struct StoredActivity(
    Guid DeviceId, string Kind, DateTime OccurredAt, DateTime ReceivedAt, string? Url, string? AppId, int? DurationSeconds, string? Detail);

/// <summary>A rollup row's key: the period (a day or a month), the school or group, and the event's dimensions.</summary>
public readonly record struct RollupKey(int Period, Guid Scope, int Grade, string Platform, string Kind, string Subject, string Category);

/// <summary>The period of a rollup table's rows.</summary>
public enum RollupPeriod
{
    /// <summary>A local day (days since 1970-01-01).</summary>
    Day,

    /// <summary>A week from Monday to Sunday, keyed by its Monday's day number.</summary>
    Week,

    /// <summary>A month (year * 12 + month - 1).</summary>
    Month,
}

/// <summary>What an upsert does with the students sketch of a row the table already holds.</summary>
public enum SketchWrite
{
    /// <summary>The stored sketch stands (only the sums are added).</summary>
    Keep,

    /// <summary>The row's sketch replaces it (the caller merged it with the stored one, or the row is new).</summary>
    Replace,

    /// <summary>SQLite: merged with it in the statement (<see cref="InsightRollups.SketchMergeFunction"/>), without reading it first.</summary>
    Merge,
}

/// <summary>
/// A rollup table: its name, the columns of its key (a period, then a school or group when it has one,
/// a grade when it has one, then kind and whichever of platform, subject and category it keeps) and
/// which rows an event adds to. A dimension a table does not keep is summed over (its rows hold every
/// value's events and the union of their students) and reads back as "" (grade: 0). The fold, the
/// district fill, the rebuild, retention and the tests go through <see cref="All"/>, so a new table is
/// one entry (and its migration).
/// </summary>
public sealed class RollupTable
{

    // The upserts, built once per provider, row count (SQLite's VALUES lists) and students variant.
    private readonly ConcurrentDictionary<(DatabaseProvider Provider, int Rows, SketchWrite Students), string> _upserts = new();

    private RollupTable(
        string name, RollupPeriod period, string? scopeColumn, bool byGrade, string primaryKey, bool byPlatform = true, bool bySubject = true, bool byCategory = true)
    {
        Name = name;
        PartitionSeed = InsightRollups.PartitionSeedOf(name);
        Period = period;
        PeriodColumn = period switch { RollupPeriod.Month => "month", RollupPeriod.Week => "week", _ => "day" };
        ScopeColumn = scopeColumn;
        ByGrade = byGrade;
        ByPlatform = byPlatform;
        BySubject = bySubject;
        ByCategory = byCategory;
        List<string> columns = [PeriodColumn];
        if (scopeColumn is not null)
        {
            columns.Add(scopeColumn);
        }

        if (byGrade)
        {
            columns.Add("grade");
        }

        if (byPlatform)
        {
            columns.Add("platform");
        }

        columns.Add("kind");
        if (bySubject)
        {
            columns.Add("subject");
        }

        if (byCategory)
        {
            columns.Add("category");
        }

        KeyColumns = columns;
        PrimaryKeyOrder = OrderOf(primaryKey.Split(", "));
    }

    /// <summary>Per school, grade and local day.</summary>
    public static readonly RollupTable Daily = new("insight_daily", RollupPeriod.Day, "school_id", byGrade: true, "day, school_id, grade, platform, kind, subject, category");

    /// <summary>Per school, grade and month.</summary>
    public static readonly RollupTable Monthly = new("insight_monthly", RollupPeriod.Month, "school_id", byGrade: true, "month, school_id, grade, platform, kind, subject, category");

    /// <summary>Per class or group (every one the device or its student belongs to), grade and local day.</summary>
    public static readonly RollupTable GroupDaily = new("insight_group_daily", RollupPeriod.Day, "group_id", byGrade: true, "group_id, day, grade, platform, kind, subject, category");

    /// <summary>The whole district per local day (each device's day in its school's zone): no school, no grade.</summary>
    public static readonly RollupTable DistrictDaily = new("insight_district_daily", RollupPeriod.Day, null, byGrade: false, "kind, day, platform, subject, category");

    /// <summary>The whole district per month: no school, no grade.</summary>
    public static readonly RollupTable DistrictMonthly = new("insight_district_monthly", RollupPeriod.Month, null, byGrade: false, "kind, month, platform, subject, category");

    /// <summary>The whole district per local day and subject: no school, grade, platform or category (reports by site or app).</summary>
    public static readonly RollupTable DistrictSubjectDaily = new("insight_district_subject_daily", RollupPeriod.Day, null, byGrade: false, "kind, day, subject", byPlatform: false, byCategory: false);

    /// <summary>The whole district per week and subject: the whole weeks of a range's partial months.</summary>
    public static readonly RollupTable DistrictSubjectWeekly = new("insight_district_subject_weekly", RollupPeriod.Week, null, byGrade: false, "kind, week, subject", byPlatform: false, byCategory: false);

    /// <summary>The whole district per month and subject.</summary>
    public static readonly RollupTable DistrictSubjectMonthly = new("insight_district_subject_monthly", RollupPeriod.Month, null, byGrade: false, "kind, month, subject", byPlatform: false, byCategory: false);

    /// <summary>The whole district per local day and blocking category: no subject (the categories report).</summary>
    public static readonly RollupTable DistrictCategoryDaily = new("insight_district_category_daily", RollupPeriod.Day, null, byGrade: false, "kind, day, category", byPlatform: false, bySubject: false);

    /// <summary>The whole district per month and blocking category.</summary>
    public static readonly RollupTable DistrictCategoryMonthly = new("insight_district_category_monthly", RollupPeriod.Month, null, byGrade: false, "kind, month, category", byPlatform: false, bySubject: false);

    /// <summary>The whole district per local day and grade: no school, no platform (district-wide reports for one grade).</summary>
    public static readonly RollupTable DistrictGradeDaily = new("insight_district_grade_daily", RollupPeriod.Day, null, byGrade: true, "kind, grade, day, subject, category", byPlatform: false);

    /// <summary>The whole district per month and grade.</summary>
    public static readonly RollupTable DistrictGradeMonthly = new("insight_district_grade_monthly", RollupPeriod.Month, null, byGrade: true, "kind, grade, month, subject, category", byPlatform: false);

    /// <summary>The whole district per local day, platform and subject: no school, grade or category (reports by site or app on one platform).</summary>
    public static readonly RollupTable DistrictPlatformDaily = new("insight_district_platform_daily", RollupPeriod.Day, null, byGrade: false, "kind, platform, day, subject", byCategory: false);

    /// <summary>The whole district per week, platform and subject.</summary>
    public static readonly RollupTable DistrictPlatformWeekly = new("insight_district_platform_weekly", RollupPeriod.Week, null, byGrade: false, "kind, platform, week, subject", byCategory: false);

    /// <summary>The whole district per month, platform and subject.</summary>
    public static readonly RollupTable DistrictPlatformMonthly = new("insight_district_platform_monthly", RollupPeriod.Month, null, byGrade: false, "kind, platform, month, subject", byCategory: false);

    public static readonly IReadOnlyList<RollupTable> All =
    [
        Daily, Monthly, GroupDaily, DistrictDaily, DistrictMonthly,
        DistrictSubjectDaily, DistrictSubjectWeekly, DistrictSubjectMonthly, DistrictCategoryDaily, DistrictCategoryMonthly, DistrictGradeDaily, DistrictGradeMonthly,
        DistrictPlatformDaily, DistrictPlatformWeekly, DistrictPlatformMonthly,
    ];

    public string Name { get; }

    /// <summary>The fixed hash of <see cref="Name"/> that a row's partition hash starts from (<see cref="InsightRollups.PartitionOf(RollupTable, in RollupKey)"/>).</summary>
    internal uint PartitionSeed { get; }

    /// <summary>Whether a row is per class or group: an event adds to one row per group of its device.</summary>
    public bool ByGroup => ScopeColumn == "group_id";

    /// <summary>Whether a row covers a day, a week or a month.</summary>
    public RollupPeriod Period { get; }

    /// <summary>Whether the period is a month.</summary>
    public bool IsMonthly => Period == RollupPeriod.Month;

    /// <summary>Whether the period is a week (its Monday's day number).</summary>
    public bool IsWeekly => Period == RollupPeriod.Week;

    public string PeriodColumn { get; }

    /// <summary>The school or group column; null for a district table.</summary>
    public string? ScopeColumn { get; }

    public bool ByGrade { get; }

    public bool ByPlatform { get; }

    public bool BySubject { get; }

    public bool ByCategory { get; }

    /// <summary>
    /// The order of the table's primary key (its migration's), in which the fold writes a statement's rows on SQLite: each
    /// row's B-tree page is then next to the last one's, instead of anywhere in the table. Text as SQLite compares it
    /// (ordinal; it differs from UTF-8 byte order only past U+D7FF, which costs locality, nothing else), GUIDs as the
    /// upper-case text SQLite stores (<see cref="Guid.CompareTo(Guid)"/> gives the same order).
    /// </summary>
    public Comparison<RollupKey> PrimaryKeyOrder { get; }

    private Comparison<RollupKey> OrderOf(string[] primaryKey)
    {
        if (primaryKey.Length != KeyColumns.Count || primaryKey.Except(KeyColumns).Any())
        {
            throw new ArgumentException($"{Name}: the primary key must name the key columns.", nameof(primaryKey));
        }

        var order = primaryKey.Select(column => column switch
        {
            _ when column == PeriodColumn => (Comparison<RollupKey>)((a, b) => a.Period.CompareTo(b.Period)),
            _ when column == ScopeColumn => (a, b) => a.Scope.CompareTo(b.Scope),
            "grade" => (a, b) => a.Grade.CompareTo(b.Grade),
            "platform" => (a, b) => string.CompareOrdinal(a.Platform, b.Platform),
            "kind" => (a, b) => string.CompareOrdinal(a.Kind, b.Kind),
            "subject" => (a, b) => string.CompareOrdinal(a.Subject, b.Subject),
            _ => (a, b) => string.CompareOrdinal(a.Category, b.Category),
        }).ToArray();
        return (a, b) =>
        {
            foreach (var compare in order)
            {
                var result = compare(a, b);
                if (result != 0)
                {
                    return result;
                }
            }

            return 0;
        };
    }

    /// <summary>The key's columns, in <see cref="KeyValues"/> order.</summary>
    public IReadOnlyList<string> KeyColumns { get; }

    /// <summary>This table's period of a local day.</summary>
    public int PeriodOfDay(int day) => Period switch
    {
        RollupPeriod.Month => InsightRollups.MonthOf(day),
        RollupPeriod.Week => InsightRollups.WeekOf(day),
        _ => day,
    };

    /// <summary>A key of this table: the dimensions it does not keep are blanked (scope: the empty GUID, grade: 0, the rest "").</summary>
    public RollupKey KeyOf(int period, Guid scope, int grade, string platform, string kind, string subject, string category) =>
        new(period, ScopeColumn is null ? Guid.Empty : scope, ByGrade ? grade : 0, ByPlatform ? platform : "", kind, BySubject ? subject : "", ByCategory ? category : "");

    /// <summary>Values written per row: the key (<see cref="KeyColumns"/>), then seconds, unfocused seconds, events and the students sketch.</summary>
    public int ValueCount => KeyColumns.Count + 4;

    /// <summary>
    /// The statement that adds the sums of <paramref name="rows"/> rows (<see cref="BulkSql.RowsSql"/> of
    /// <see cref="ValueCount"/> values each) to the table, inserting the keys it does not hold; what it does
    /// with a held key's sketch is <paramref name="students"/>.
    /// </summary>
    public string UpsertSql(BulkSql bulk, int rows, SketchWrite students)
    {
        var shape = (bulk.Provider, bulk.Provider == DatabaseProvider.Sqlite ? rows : 0, students);
        if (_upserts.TryGetValue(shape, out var sql))
        {
            return sql;
        }

        var keyColumns = string.Join(", ", KeyColumns);
        sql = $"""
            INSERT INTO {Name} ({keyColumns}, seconds, unfocused_seconds, events, students)
            {bulk.RowsSql(rows, ValueCount)}
            ON CONFLICT ({keyColumns}) DO UPDATE SET
                seconds = {Name}.seconds + excluded.seconds,
                unfocused_seconds = {Name}.unfocused_seconds + excluded.unfocused_seconds,
                events = {Name}.events + excluded.events
            """ + students switch
        {
            SketchWrite.Replace => ",\n    students = excluded.students",
            SketchWrite.Merge => $",\n    students = {InsightRollups.SketchMergeFunction}({Name}.students, excluded.students)",
            _ => "",
        };
        return _upserts.GetOrAdd(shape, sql);
    }

    /// <summary>
    /// Binds one row's values for <see cref="UpsertSql"/>: its key in <see cref="KeyColumns"/> order (GUIDs as
    /// the provider stores them), then its sums and sketch.
    /// </summary>
    public void BindRow(BulkSql bulk, RollupKey key, long seconds, long unfocused, long events, byte[] students, object?[] values)
    {
        var i = BindKey(key, bulk.Id, values);
        values[i] = seconds;
        values[i + 1] = unfocused;
        values[i + 2] = events;
        values[i + 3] = students;
    }

    /// <summary>Binds a key's values in <see cref="KeyColumns"/> order; returns how many.</summary>
    public int BindKey(RollupKey key, Func<Guid, object> id, object?[] values)
    {
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

        if (ByPlatform)
        {
            values[i++] = key.Platform;
        }

        values[i++] = key.Kind;
        if (BySubject)
        {
            values[i++] = key.Subject;
        }

        if (ByCategory)
        {
            values[i++] = key.Category;
        }

        return i;
    }

    /// <summary>A key's values in <see cref="KeyColumns"/> order (GUIDs as the provider stores them).</summary>
    public object[] KeyValues(RollupKey key, Func<Guid, object> id)
    {
        var values = new object?[KeyColumns.Count];
        BindKey(key, id, values);
        return values!;
    }

    /// <summary>A key read back from <see cref="KeyColumns"/> at ordinals <paramref name="first"/> onwards.</summary>
    public RollupKey ReadKey(DbDataReader reader, int first = 0)
    {
        var i = first;
        var period = Convert.ToInt32(reader.GetValue(i++), System.Globalization.CultureInfo.InvariantCulture);
        var scope = ScopeColumn is null ? Guid.Empty : InsightRollups.ReadGuid(reader.GetValue(i++));
        var grade = ByGrade ? Convert.ToInt32(reader.GetValue(i++), System.Globalization.CultureInfo.InvariantCulture) : 0;
        var platform = ByPlatform ? reader.GetString(i++) : "";
        var kind = reader.GetString(i++);
        var subject = BySubject ? reader.GetString(i++) : "";
        var category = ByCategory ? reader.GetString(i) : "";
        return new RollupKey(period, scope, grade, platform, kind, subject, category);
    }
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

    /// <summary>
    /// SQLite: the function (registered on the folder's connection) that merges a row's stored students
    /// sketch with the one an upsert brings, in the statement: the fold's writes never read sketches first.
    /// </summary>
    public const string SketchMergeFunction = "homeroom_sketch_merge";

    private readonly ConcurrentDictionary<Guid, (InsightDevice? Device, Profile? Profile, long At)> _devices = new();
    private readonly Pending[] _pending = Enumerable.Range(0, Partitions).Select(_ => new Pending()).ToArray();

    // Events above every partition's watermark, each added once to its finest cell; Expand() adds the cells to every table's keys.
    private readonly Dictionary<Cell, Sum> _cells = [];

    // One Profile object per distinct set of a device's dimensions, so the cells' keys compare by reference.
    private readonly Dictionary<Profile, Profile> _profiles = [];
    private long _skipped;
    private long _bufferedKeys;
    private volatile bool _districtReady;

    /// <summary>Whether the district tables are known to have been filled from the school tables after the upgrade that added them.</summary>
    public bool DistrictReady => _districtReady;

    /// <summary>Events stored but not folded (in the future, too old, no subject) since start.</summary>
    public long SkippedCount => Interlocked.Read(ref _skipped);

    /// <summary>Keys held in memory, not yet written (what <see cref="InsightsOptions.MaxBufferedKeys"/> caps).</summary>
    public long BufferedKeys => Interlocked.Read(ref _bufferedKeys);

    /// <summary>Forgets cached device dimensions (a rebuild reads today's roster afresh).</summary>
    public void ForgetDevices() => _devices.Clear();

    /// <summary>Forgets everything folded and not yet committed, and every cache: after a failure, the folder folds again from the committed watermarks.</summary>
    public void Discard()
    {
        foreach (var pending in _pending)
        {
            pending.Clear();
        }

        _cells.Clear();
        Interlocked.Exchange(ref _bufferedKeys, 0);
        ForgetDevices();
    }

    /// <summary>The week of a day number: its Monday's day number (day 0, 1 January 1970, was a Thursday).</summary>
    public static int WeekOf(int day) => day - (((day % 7) + 10) % 7);

    /// <summary>Month number (year * 12 + month - 1) of a day number.</summary>
    public static int MonthOf(int day)
    {
        var date = InsightFold.DateOf(day);
        return (date.Year * 12) + date.Month - 1;
    }

    /// <summary>
    /// SQLite: registers <see cref="SketchMergeFunction"/> on the connection that will run <see cref="WriteAsync"/>, once
    /// per connection opened for a flush (registering a function makes SQLite prepare every statement again).
    /// </summary>
    public static void PrepareConnection(DbConnection connection)
    {
        if (connection is SqliteConnection sqlite)
        {
            sqlite.CreateFunction<byte[], byte[], byte[]>(SketchMergeFunction, DistinctSketch.MergeStored, isDeterministic: true);
        }
    }

    /// <summary>Whether partition <paramref name="partition"/> holds nothing to write.</summary>
    public bool IsClean(int partition) => _pending[partition].IsEmpty;

    /// <summary>
    /// Adds stored events (id, event) to the sums in memory. An event above every partition's watermark (the
    /// usual case) is added once, to its finest cell (its device's dimensions, day, kind, subject, category);
    /// <see cref="Expand"/> adds the cells to each table's keys before a write, so an event costs one
    /// dictionary step instead of one per table and group. An event at or below some partition's watermark
    /// (<paramref name="flushedThrough"/>: after a failure part-way through a flush the folder folds those
    /// events again) is added key by key, leaving out each key whose partition already committed past it.
    /// </summary>
    public async Task FoldAsync(DbConnection connection, IReadOnlyList<(long Id, StoredActivity Event)> events, IReadOnlyList<long> flushedThrough, CancellationToken cancellationToken)
    {
        var retention = activity.Value.Retention;
        var tables = RollupTable.All;
        var aboveAll = long.MinValue;
        foreach (var flushed in flushedThrough)
        {
            aboveAll = Math.Max(aboveAll, flushed);
        }

        foreach (var (id, e) in events)
        {
            var (device, profile) = await DeviceAsync(connection, e.DeviceId, cancellationToken);
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
            if (id > aboveAll)
            {
                ref var cell = ref CollectionsMarshal.GetValueRefOrAddDefault(_cells, new Cell(profile!, c.Day, c.Kind, c.Subject, c.Category), out var known);
                if (!known)
                {
                    cell = new Sum();
                    Interlocked.Increment(ref _bufferedKeys);
                }

                cell!.Add(c, student);
            }
            else
            {
                // Each table's period of the day, worked out once per event rather than once per key.
                var month = MonthOf(c.Day);
                var week = WeekOf(c.Day);
                for (var t = 0; t < tables.Count; t++)
                {
                    var table = tables[t];
                    var period = table.Period switch { RollupPeriod.Month => month, RollupPeriod.Week => week, _ => c.Day };
                    if (table.ByGroup)
                    {
                        foreach (var group in device.Groups)
                        {
                            Add(t, table, table.KeyOf(period, group, device.Grade, device.Platform, c.Kind, c.Subject, c.Category), id, c, student, flushedThrough);
                        }
                    }
                    else
                    {
                        Add(t, table, table.KeyOf(period, device.SchoolId, device.Grade, device.Platform, c.Kind, c.Subject, c.Category), id, c, student, flushedThrough);
                    }
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
    /// Adds every cell's sums and students to the keys of every table (one per table, one per group in the
    /// class table) in their partitions, and forgets the cells: called before a write. Every event in a cell
    /// is above every partition's watermark, so no key leaves it out.
    /// </summary>
    public void Expand()
    {
        if (_cells.Count == 0)
        {
            return;
        }

        // One table a worker: a table's keys (in every partition) are only its own, and the cells are only read, so the
        // tables expand side by side on the cores the activity writer leaves free, each key's merges in the cells' order.
        var tables = RollupTable.All;
        Parallel.For(0, tables.Count, t =>
        {
            var table = tables[t];
            long added = 0;
            foreach (var (cell, sum) in _cells)
            {
                var p = cell.Profile;
                var period = table.PeriodOfDay(cell.Day);
                if (table.ByGroup)
                {
                    foreach (var group in p.Groups)
                    {
                        AddSum(table.KeyOf(period, group, p.Grade, p.Platform, cell.Kind, cell.Subject, cell.Category), sum);
                    }
                }
                else
                {
                    AddSum(table.KeyOf(period, p.SchoolId, p.Grade, p.Platform, cell.Kind, cell.Subject, cell.Category), sum);
                }
            }

            Interlocked.Add(ref _bufferedKeys, added);

            void AddSum(in RollupKey key, Sum from)
            {
                ref var into = ref CollectionsMarshal.GetValueRefOrAddDefault(_pending[PartitionOf(table, key)].Tables[t], key, out var exists);
                if (!exists)
                {
                    into = new Sum();
                    added++;
                }

                into!.Merge(from);
            }
        });

        Interlocked.Add(ref _bufferedKeys, -_cells.Count);
        _cells.Clear();
        // Only cells keep profiles: a profile no device uses any more goes with them.
        _profiles.Clear();
    }

    /// <summary>Adds one event's contribution to one key's sums, unless the key's partition has already committed past the event.</summary>
    private void Add(int t, RollupTable table, in RollupKey key, long id, in InsightContribution c, ulong? student, IReadOnlyList<long> flushedThrough)
    {
        var partition = PartitionOf(table, key);
        if (id <= flushedThrough[partition])
        {
            return;
        }

        ref var sum = ref CollectionsMarshal.GetValueRefOrAddDefault(_pending[partition].Tables[t], key, out var exists);
        if (!exists)
        {
            sum = new Sum();
            Interlocked.Increment(ref _bufferedKeys);
        }

        sum!.Add(c, student);
    }

    /// <summary>
    /// PostgreSQL: computes what partition <paramref name="partition"/>'s write will store, each key's sketch
    /// read and merged into the stored one, inside the write transaction after the partition's watermark row
    /// is locked (every writer of the partition's rows holds that lock). SQLite needs no preparing: its
    /// upserts merge the sketches in the statement (<see cref="SketchMergeFunction"/>).
    /// </summary>
    public async Task PrepareAsync(DbConnection connection, DbTransaction? transaction, int partition, CancellationToken cancellationToken)
    {
        var pending = _pending[partition];
        pending.ClearRows();
        if (bulk.Provider == DatabaseProvider.Sqlite)
        {
            return;
        }

        for (var t = 0; t < RollupTable.All.Count; t++)
        {
            var table = RollupTable.All[t];
            var sums = pending.Tables[t];
            if (sums.Count == 0)
            {
                continue;
            }

            var existing = await ReadSketchesAsync(connection, transaction, table, [.. sums.Keys], cancellationToken);
            foreach (var (key, sum) in sums)
            {
                if (!existing.TryGetValue(key, out var stored))
                {
                    pending.Changed[t].Add(new Row(key, sum, sum.Students.ToBytes()));
                    continue;
                }

                var students = DistinctSketch.FromBytes(stored);
                students.Merge(sum.Students);
                var merged = students.ToBytes();
                if (merged.AsSpan().SequenceEqual(stored))
                {
                    pending.Same[t].Add(new Row(key, sum, stored));
                }
                else
                {
                    pending.Changed[t].Add(new Row(key, sum, merged));
                }
            }
        }
    }

    /// <summary>
    /// Writes what <see cref="PrepareAsync"/> computed for <paramref name="partition"/>, and its apps' last-used
    /// days, many rows a statement (<see cref="BulkSql.ExecuteRowsAsync"/>: a partition holds each key once
    /// per table, so no statement touches a row twice); returns the rows written.
    /// </summary>
    public async Task<int> WriteAsync(DbConnection connection, DbTransaction transaction, int partition, SqliteStatements? statements, CancellationToken cancellationToken)
    {
        var pending = _pending[partition];
        var written = 0;
        if (connection is SqliteConnection)
        {
            for (var t = 0; t < RollupTable.All.Count; t++)
            {
                var rows = pending.Changed[t];
                rows.Clear();
                foreach (var (key, sum) in pending.Tables[t])
                {
                    rows.Add(new Row(key, sum, sum.Students.ToBytes()));
                }

                var order = RollupTable.All[t].PrimaryKeyOrder;
                rows.Sort((a, b) => order(a.Key, b.Key));
                written += await WriteRowsAsync(connection, transaction, RollupTable.All[t], rows, SketchWrite.Merge, cancellationToken, statements);
            }
        }
        else
        {
            for (var t = 0; t < RollupTable.All.Count; t++)
            {
                var table = RollupTable.All[t];
                written += await WriteRowsAsync(connection, transaction, table, pending.Changed[t], SketchWrite.Replace, cancellationToken);
                // No new id in these: the stored sketch stands; only the counters change.
                written += await WriteRowsAsync(connection, transaction, table, pending.Same[t], SketchWrite.Keep, cancellationToken);
            }
        }

        if (pending.LastUsed.Count > 0)
        {
            var greatest = bulk.Provider == DatabaseProvider.Sqlite ? "max" : "GREATEST";
            written += await bulk.ExecuteRowsAsync(connection, transaction,
                rows => $"""
                    INSERT INTO {LastUsedTable} (device_id, app_id, last_day) {bulk.RowsSql(rows, 3)}
                    ON CONFLICT (device_id, app_id) DO UPDATE SET last_day = {greatest}({LastUsedTable}.last_day, excluded.last_day)
                    """,
                3,
                // In app order: the adoption triggers lock their per-app counters in a fixed order.
                pending.LastUsed.OrderBy(x => x.Key.App, StringComparer.Ordinal).ThenBy(x => x.Key.Device).ToList(), (row, v) =>
                {
                    v[0] = bulk.Id(row.Key.Device);
                    v[1] = row.Key.App;
                    v[2] = row.Value;
                }, cancellationToken, statements);
        }

        return written;
    }

    /// <summary>
    /// Adds rows' sums to <paramref name="table"/> (inserting new keys) through its <see cref="RollupTable.UpsertSql"/>,
    /// doing <paramref name="students"/> with their sketches: the one insert of the fold's writes and
    /// of <see cref="FillDistrictAsync"/>. Keys must be distinct. Returns the rows written.
    /// </summary>
    private async Task<int> WriteRowsAsync(
        DbConnection connection, DbTransaction transaction, RollupTable table, IReadOnlyList<Row> rows, SketchWrite students, CancellationToken cancellationToken,
        SqliteStatements? statements = null) =>
        rows.Count == 0
            ? 0
            : await bulk.ExecuteRowsAsync(connection, transaction, n => table.UpsertSql(bulk, n, students), table.ValueCount, rows,
                (row, v) => table.BindRow(bulk, row.Key, row.Seconds, row.Unfocused, row.Events, row.Students, v), cancellationToken, statements);

    /// <summary>The write of <paramref name="partition"/> committed: its keys leave memory.</summary>
    public void Committed(int partition)
    {
        var pending = _pending[partition];
        Interlocked.Add(ref _bufferedKeys, -pending.KeyCount);
        pending.Clear();
    }

    /// <summary>
    /// Fills the district tables from the school tables once, after the first complete flush that follows
    /// the migration that added them (rows folded before it). The folder calls it only when every
    /// partition has written everything it folded, so the school tables hold exactly the folded events.
    /// </summary>
    public async Task EnsureDistrictAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
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
    /// Replaces every district table's rows (<see cref="RollupTable.ScopeColumn"/> null) with the sums of
    /// the school tables' rows of each day, week and month (sketches merged): what folding every event
    /// into them would have given. Daily and weekly tables are filled from the school daily rows, monthly
    /// ones from the school monthly rows, each source period read once for all of its targets. Returns
    /// the rows written.
    /// </summary>
    public async Task<long> FillDistrictAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        long written = 0;
        foreach (var source in new[] { RollupTable.Daily, RollupTable.Monthly })
        {
            var targets = RollupTable.All.Where(t => t.ScopeColumn is null && t.IsMonthly == source.IsMonthly).ToList();
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            foreach (var target in targets)
            {
                command.CommandText = $"DELETE FROM {target.Name}";
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            command.CommandText = $"SELECT DISTINCT {source.PeriodColumn} FROM {source.Name} ORDER BY 1";
            var periods = new List<int>();
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    periods.Add(Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            command.CommandText = $"SELECT grade, platform, kind, subject, category, seconds, unfocused_seconds, events, students FROM {source.Name} WHERE {source.PeriodColumn} = @p";
            var period = command.CreateParameter();
            period.ParameterName = "@p";
            command.Parameters.Add(period);
            // A target's sums are written when its period ends (a week spans seven source days).
            var sums = targets.Select(_ => new Dictionary<RollupKey, DistrictSum>()).ToArray();
            var current = new int?[targets.Count];
            foreach (var p in periods)
            {
                for (var t = 0; t < targets.Count; t++)
                {
                    var targetPeriod = source.IsMonthly ? p : targets[t].PeriodOfDay(p);
                    if (current[t] is { } open && open != targetPeriod)
                    {
                        written += await WriteDistrictAsync(connection, transaction, targets[t], sums[t], cancellationToken);
                    }

                    current[t] = targetPeriod;
                }

                period.Value = p;
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var grade = Convert.ToInt32(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
                    var (platform, kind, subject, category) = (reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4));
                    var (seconds, unfocused, events) = (reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7));
                    var students = (byte[])reader.GetValue(8);
                    for (var t = 0; t < targets.Count; t++)
                    {
                        var key = targets[t].KeyOf(current[t]!.Value, Guid.Empty, grade, platform, kind, subject, category);
                        if (!sums[t].TryGetValue(key, out var sum))
                        {
                            sum = new DistrictSum();
                            sums[t][key] = sum;
                        }

                        sum.Seconds += seconds;
                        sum.Unfocused += unfocused;
                        sum.Events += events;
                        sum.Students.MergeBytes(students);
                    }
                }
            }

            for (var t = 0; t < targets.Count; t++)
            {
                written += await WriteDistrictAsync(connection, transaction, targets[t], sums[t], cancellationToken);
            }
        }

        return written;
    }

    private async Task<int> WriteDistrictAsync(DbConnection connection, DbTransaction transaction, RollupTable target, Dictionary<RollupKey, DistrictSum> sums, CancellationToken cancellationToken)
    {
        var rows = sums.Select(x => new Row(x.Key, x.Value.Seconds, x.Value.Unfocused, x.Value.Events, x.Value.Students.ToBytes())).ToList();
        sums.Clear();
        if (connection is Npgsql.NpgsqlConnection npgsql)
        {
            // The fill emptied the table and writes each key once (when its period ends): plain rows,
            // copied, instead of an upsert that checks every key for a conflict.
            return (int)await PostgresCopy.CopyAsync(npgsql, target.Name, [.. target.KeyColumns, "seconds", "unfocused_seconds", "events", "students"], rows,
                (row, v) => target.BindRow(bulk, row.Key, row.Seconds, row.Unfocused, row.Events, row.Students, v), cancellationToken);
        }

        return await WriteRowsAsync(connection, transaction, target, rows, SketchWrite.Replace, cancellationToken);
    }

    /// <summary>A district row being filled from school rows.</summary>
    private sealed class DistrictSum
    {
        public long Seconds;
        public long Unfocused;
        public long Events;
        public readonly DistinctSketch Students = new();
    }

    /// <summary>The partition of a rollup row: a fixed hash (FNV-1a) of its table, period, scope and subject, the same in every process and after a restart.</summary>
    public static int PartitionOf(RollupTable table, in RollupKey key) =>
        Bucket(Hash(Hash(Hash(table.PartitionSeed, key.Period), key.Scope), key.Subject));

    /// <summary>The start of the partition hash of a table's rows: its name hashed (<see cref="RollupTable.PartitionSeed"/>).</summary>
    internal static uint PartitionSeedOf(string table) => Hash(2166136261u, table);

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

    /// <summary>
    /// The stored sketches of <paramref name="keys"/> (those the table holds), one statement per
    /// <see cref="BulkSql.RowsPerStatement"/> keys: the keys as a row source joined to the table on its key
    /// (SQLite: a VALUES list, driving the join through CROSS JOIN, so each key is one primary-key lookup;
    /// PostgreSQL: arrays, one statement).
    /// </summary>
    private async Task<Dictionary<RollupKey, byte[]>> ReadSketchesAsync(
        DbConnection connection, DbTransaction? transaction, RollupTable table, List<RollupKey> keys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<RollupKey, byte[]>();
        var columns = table.KeyColumns;
        var perStatement = bulk.RowsPerStatement(columns.Count);
        for (var start = 0; start < keys.Count; start += perStatement)
        {
            var count = Math.Min(perStatement, keys.Count - start);
            await using var select = connection.CreateCommand();
            select.Transaction = transaction;
            select.CommandText = $"""
                WITH v ({string.Join(", ", columns.Select((_, i) => "k" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)))}) AS ({bulk.RowsSql(count, columns.Count)})
                SELECT {string.Join(", ", columns.Select(c => "t." + c))}, t.students
                FROM v CROSS JOIN {table.Name} t
                WHERE {string.Join(" AND ", columns.Select((c, i) => $"t.{c} = v.k{i.ToString(System.Globalization.CultureInfo.InvariantCulture)}"))}
                """;
            bulk.BindRows(select, keys, start, count, columns.Count, (key, v) => table.BindKey(key, bulk.Id, v));
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found[table.ReadKey(reader)] = (byte[])reader.GetValue(columns.Count);
            }
        }

        return found;
    }

    /// <summary>A device's dimensions now and their shared <see cref="Profile"/>, cached for a minute; null when the device is gone.</summary>
    private async Task<(InsightDevice? Device, Profile? Profile)> DeviceAsync(DbConnection connection, Guid deviceId, CancellationToken cancellationToken)
    {
        if (_devices.TryGetValue(deviceId, out var cached) && Environment.TickCount64 - cached.At < DeviceCacheFor.TotalMilliseconds)
        {
            return (cached.Device, cached.Profile is { } known ? Shared(known) : null);
        }

        var device = await LoadDeviceAsync(connection, deviceId, cancellationToken);
        var profile = device is null ? null : Shared(new Profile(device.SchoolId, device.Grade, device.Platform, [.. device.Groups]));
        _devices[deviceId] = (device, profile, Environment.TickCount64);
        return (device, profile);

        // The one object of equal profiles since the last expansion, so the cells' keys mostly compare by reference.
        Profile Shared(Profile made)
        {
            if (!_profiles.TryGetValue(made, out var shared))
            {
                _profiles[made] = shared = made;
            }

            return shared;
        }
    }

    private async Task<InsightDevice?> LoadDeviceAsync(DbConnection connection, Guid deviceId, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        // A desktop's browser extension (a companion) counts as its desktop: the desktop's platform, school, student and
        // groups, and, with no student, the desktop as the one user, so a desktop's and its browser's time are one user's.
        command.CommandText = """
            SELECT o.school_id, o.platform, o.assigned_person_id, p.grade_level, COALESCE(s.time_zone, (SELECT time_zone FROM district LIMIT 1)), o.id
            FROM devices d
            JOIN devices o ON o.id = COALESCE(d.companion_of, d.id)
            LEFT JOIN people p ON p.id = o.assigned_person_id
            LEFT JOIN schools s ON s.id = o.school_id
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
        Guid owner;
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
            owner = ReadGuid(reader.GetValue(5));
        }

        await using var groupsCommand = connection.CreateCommand();
        groupsCommand.CommandText = "SELECT group_id FROM group_devices WHERE device_id = @d UNION SELECT group_id FROM group_members WHERE person_id = @p";
        var d = groupsCommand.CreateParameter();
        d.ParameterName = "@d";
        d.Value = bulk.Id(owner);
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

        return new InsightDevice(school, grade, platform, person ?? owner, zone, groups);
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

        public void Merge(Sum other)
        {
            Seconds += other.Seconds;
            Unfocused += other.Unfocused;
            Events += other.Events;
            Students.Merge(other.Students);
        }
    }

    /// <summary>
    /// The dimensions an event's rows take from its device (school, grade, platform, classes and groups):
    /// equal for the devices of students in the same classes, grade and school.
    /// </summary>
    private sealed class Profile : IEquatable<Profile>
    {
        private readonly int _hash;

        public Profile(Guid schoolId, int grade, string platform, Guid[] groups)
        {
            SchoolId = schoolId;
            Grade = grade;
            Platform = platform;
            Groups = groups;
            var hash = new HashCode();
            hash.Add(schoolId);
            hash.Add(grade);
            hash.Add(platform);
            foreach (var group in groups)
            {
                hash.Add(group);
            }

            _hash = hash.ToHashCode();
        }

        public Guid SchoolId { get; }

        public int Grade { get; }

        public string Platform { get; }

        public Guid[] Groups { get; }

        public bool Equals(Profile? other) =>
            ReferenceEquals(this, other) || (other is not null && _hash == other._hash && SchoolId == other.SchoolId && Grade == other.Grade
                && Platform == other.Platform && Groups.AsSpan().SequenceEqual(other.Groups));

        public override bool Equals(object? obj) => Equals(obj as Profile);

        public override int GetHashCode() => _hash;
    }

    /// <summary>The finest cell of an event: its device's <see cref="Profile"/>, its local day, kind, subject and category.</summary>
    private readonly record struct Cell(Profile Profile, int Day, string Kind, string Subject, string Category);

    /// <summary>One row to write: the key, the sums to add and the sketch the row will hold.</summary>
    private readonly record struct Row(RollupKey Key, long Seconds, long Unfocused, long Events, byte[] Students)
    {
        public Row(RollupKey key, Sum sum, byte[] students)
            : this(key, sum.Seconds, sum.Unfocused, sum.Events, students)
        {
        }
    }

    /// <summary>
    /// One partition's keys in memory (per table, in <see cref="RollupTable.All"/>'s order) and its prepared
    /// rows, per table: those whose sketch changes and those whose stored sketch stands.
    /// </summary>
    private sealed class Pending
    {
        public readonly Dictionary<RollupKey, Sum>[] Tables = RollupTable.All.Select(_ => new Dictionary<RollupKey, Sum>()).ToArray();
        public readonly Dictionary<(Guid Device, string App), int> LastUsed = [];
        public readonly List<Row>[] Changed = RollupTable.All.Select(_ => new List<Row>()).ToArray();
        public readonly List<Row>[] Same = RollupTable.All.Select(_ => new List<Row>()).ToArray();

        public bool IsEmpty => LastUsed.Count == 0 && Array.TrueForAll(Tables, t => t.Count == 0);

        public long KeyCount => LastUsed.Count + Tables.Sum(t => (long)t.Count);

        public void ClearRows()
        {
            foreach (var rows in Changed)
            {
                rows.Clear();
            }

            foreach (var rows in Same)
            {
                rows.Clear();
            }
        }

        public void Clear()
        {
            foreach (var table in Tables)
            {
                table.Clear();
            }

            LastUsed.Clear();
            ClearRows();
        }
    }
}
