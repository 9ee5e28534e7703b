using System.Diagnostics;
using System.Globalization;
using Homeroom.Bench.Load;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Insights;
using Homeroom.Server;
using Homeroom.Server.Accounts;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Homeroom.Server.Insights;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ActivityEvent = Homeroom.Contracts.Agents.ActivityEvent;

// Insights benchmark: ingestion with rollups, then a seeded year of rollups and each report's latency
// (`--only ingest` stops after ingestion).
var options = BenchReport.ParseArguments(args);
var postgres = options.GetValueOrDefault("provider") == "postgres";
var deviceCount = options.Int("devices", 50_000);
var schoolCount = options.Int("schools", 100);
var days = options.Int("days", 365);
var ingestEvents = options.Int("ingest-events", 600_000);
var runs = options.Int("runs", 5);
var onlyIngest = options.GetValueOrDefault("only") == "ingest";
// Shorter than the server's default (30 s), so the folder also writes while events arrive.
var flushInterval = options.GetValueOrDefault("flush-interval") ?? "00:00:10";
// --only reports skips the ingestion phase (a), which takes long and measures something else.
var onlyReports = options.GetValueOrDefault("only") == "reports";
var provider = postgres ? "postgres" : "sqlite";
// --keep leaves the seeded database (PostgreSQL: the database, SQLite: the data directory; its name is printed);
// --reuse-database NAME (PostgreSQL: that database, SQLite: that data directory) skips the roster, ingestion
// and seed and times the reports on what a kept run seeded (migrated first, as a server start does).
var reuse = options.GetValueOrDefault("reuse-database");
// --sketch-connections N: the connections a report reads its student sketches over (Homeroom:Insights:SketchReadConnections).
var sketchConnections = options.GetValueOrDefault("sketch-connections");
var keepDatabase = options.ContainsKey("keep") || reuse is not null;

// A database of its own per run: two runs at once (another checkout's) must not drop each other's.
var database = !postgres ? null
    : reuse is not null ? BenchPostgres.Existing(reuse)
    : await BenchPostgres.CreateAsync("insights", keep: keepDatabase);
// A PostgreSQL database belongs to the cluster key in its first server's data directory, so a kept database
// keeps that directory, named after it, where a reuse finds it again.
var dataDirectory = database is not null ? Path.Combine(Path.GetTempPath(), "homeroom-bench-" + database.Database)
    : reuse ?? Path.Combine(Path.GetTempPath(), "homeroom-bench-insights-" + Guid.NewGuid().ToString("N")[..8]);
if (reuse is not null && !Directory.Exists(dataDirectory))
{
    throw new DirectoryNotFoundException($"--reuse-database {reuse}: no data directory {dataDirectory} kept with it");
}

string[] serverArgs =
[
    "--urls=http://127.0.0.1:0",
    "--HOMEROOM_ADMIN_PASSWORD=benchmark admin passphrase",
    $"--Homeroom:DataDirectory={dataDirectory}",
    "--Logging:LogLevel:Default=Warning",
    $"--Homeroom:Insights:FlushInterval={flushInterval}",
    .. database is null ? Array.Empty<string>() : ["--ConnectionStrings:Postgres=" + database.ConnectionString],
    .. sketchConnections is null ? Array.Empty<string>() : [$"--Homeroom:Insights:SketchReadConnections={sketchConnections}"],
];

var app = await HomeroomApp.CreateAsync(serverArgs);
await app.StartAsync();
var bulk = app.Services.GetRequiredService<BulkSql>();
var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["provider"] = provider,
    ["devices"] = deviceCount,
    ["schools"] = schoolCount,
    ["days"] = days,
};

// The roster: schools in one zone, a student per device with a grade, one class of 25 per 25 devices.
var clock = Stopwatch.StartNew();
var schools = Enumerable.Range(0, schoolCount).Select(i => Id(1, i)).ToArray();
var devicesPerSchool = deviceCount / schoolCount;
var now = DateTime.UtcNow;
var people = Enumerable.Range(0, deviceCount).ToList();
if (reuse is null)
{
    await SeedAsync("schools", ["id", "name", "time_zone", "created_at"], Enumerable.Range(0, schoolCount),
        (s, v) => { v[0] = bulk.Id(schools[s]); v[1] = "School " + s.ToString(CultureInfo.InvariantCulture); v[2] = "America/Chicago"; v[3] = now; });
    await SeedAsync("people", ["id", "school_id", "kind", "given_name", "family_name", "grade_level", "created_at"], people, (p, v) =>
    {
        v[0] = bulk.Id(Id(2, p));
        v[1] = bulk.Id(schools[p / devicesPerSchool % schoolCount]);
        v[2] = "student";
        v[3] = "Student";
        v[4] = "No " + p.ToString(CultureInfo.InvariantCulture);
        v[5] = GradeOf(p, devicesPerSchool);
        v[6] = now;
    });
    await SeedAsync("devices", ["id", "school_id", "name", "platform", "serial", "state", "enrolled_at", "credential_hash", "assigned_person_id"], people, (p, v) =>
    {
        v[0] = bulk.Id(Id(3, p));
        v[1] = bulk.Id(schools[p / devicesPerSchool % schoolCount]);
        v[2] = "D-" + p.ToString(CultureInfo.InvariantCulture);
        v[3] = p % 4 == 0 ? "ipados" : "chromeos";
        v[4] = v[2];
        v[5] = "active";
        v[6] = now;
        v[7] = "x";
        v[8] = bulk.Id(Id(2, p));
    });
    await SeedAsync("groups", ["id", "school_id", "kind", "name", "created_at"], Enumerable.Range(0, deviceCount / 25), (c, v) =>
    {
        v[0] = bulk.Id(Id(4, c));
        v[1] = bulk.Id(schools[c * 25 / devicesPerSchool % schoolCount]);
        v[2] = "class";
        v[3] = "Class " + c.ToString(CultureInfo.InvariantCulture);
        v[4] = now;
    });
    await SeedAsync("group_members", ["group_id", "person_id"], people, (p, v) => { v[0] = bulk.Id(Id(4, p / 25)); v[1] = bulk.Id(Id(2, p)); });

    results["roster seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
    Console.WriteLine($"roster of {deviceCount:N0} devices in {clock.Elapsed.TotalSeconds:F1} s");
}
else
{
    results["reused database"] = reuse;
}

// (a) Ingestion with rollups: batches of 50 events from 2,000 devices, straight into the writer, while
// the folder (InsightFolder) folds behind it and writes every flush interval. Two streams: "school", as a
// school's devices behave (each grade's students visit the same 150 sites and use the same 12 apps, this
// past hour, so keys repeat), and "skewed" (every device picks from 300 sites and 40 apps on a skewed
// draw over the past 10 hours: most keys of a page are new, the worst case for the rollups).
var writer = app.Services.GetRequiredService<ActivityWriter>();
var folder = app.Services.GetRequiredService<InsightFolder>();
var kinds = new[] { ActivityKinds.WebVisit, ActivityKinds.WebVisit, ActivityKinds.WebVisit, ActivityKinds.WebUsage, ActivityKinds.WebUsage, ActivityKinds.AppUsage, ActivityKinds.WebBlocked, ActivityKinds.AppBlocked };
var ingestDevices = Math.Min(2_000, deviceCount);
var seqs = new long[ingestDevices];
var skewedSites = Enumerable.Range(0, 300).Select(i => $"https://www{i % 3}.site{i}.example/page").ToArray();
var sitePool = Enumerable.Range(0, 1_000).Select(i => $"https://www{i % 3}.site{i}.example/page").ToArray();
var blockedPool = Enumerable.Range(0, 100).Select(i => $"https://blocked{i}.example/").ToArray();
var blockedCategories = new[] { "games", "social", "proxy", "streaming", "chat" };
var gradeSites = Enumerable.Range(0, 14).Select(g => new Random(100 + g).GetItems(sitePool, 150)).ToArray();
var gradeBlocked = Enumerable.Range(0, 14).Select(g => new Random(200 + g).GetItems(Enumerable.Range(0, blockedPool.Length).ToArray(), 20)).ToArray();
var gradeApps = Enumerable.Range(0, 14).Select(g => new Random(300 + g).GetItems(Enumerable.Range(0, 40).ToArray(), 12)).ToArray();

ActivityEvent SkewedEvent(Random random, int device, long seq, DateTime received)
{
    var kind = kinds[random.Next(kinds.Length)];
    var at = new DateTimeOffset(received.AddMinutes(-random.Next(600)), TimeSpan.Zero);
    return kind.StartsWith("web", StringComparison.Ordinal)
        ? new ActivityEvent(seq, at, kind, skewedSites[(int)Math.Min(299, random.NextDouble() * random.NextDouble() * 300)], "t", null, random.Next(120), kind == ActivityKinds.WebBlocked ? "games" : "focused")
        : new ActivityEvent(seq, at, kind, null, "t", "app." + random.Next(40).ToString(CultureInfo.InvariantCulture), random.Next(600), "social");
}

ActivityEvent SchoolEvent(Random random, int device, long seq, DateTime received)
{
    var grade = GradeOf(device, devicesPerSchool);
    var kind = kinds[random.Next(kinds.Length)];
    var at = new DateTimeOffset(received.AddMinutes(-random.Next(60)), TimeSpan.Zero);
    // A few sites take most visits (the class's current work), the rest share the tail.
    var site = gradeSites[grade][(int)(random.NextDouble() * random.NextDouble() * 150)];
    var app = "app." + gradeApps[grade][(int)(random.NextDouble() * random.NextDouble() * 12)].ToString(CultureInfo.InvariantCulture);
    return kind switch
    {
        ActivityKinds.WebBlocked => Blocked(gradeBlocked[grade][random.Next(20)]),
        ActivityKinds.AppBlocked => new ActivityEvent(seq, at, kind, null, "t", app, null, "games"),
        ActivityKinds.AppUsage => new ActivityEvent(seq, at, kind, null, "t", app, random.Next(600), null),
        _ => new ActivityEvent(seq, at, kind, site, "t", null, random.Next(120), random.Next(10) == 0 ? "unfocused" : "focused"),
    };

    ActivityEvent Blocked(int b) => new(seq, at, ActivityKinds.WebBlocked, blockedPool[b], "t", null, null, blockedCategories[b % blockedCategories.Length]);
}

async Task IngestAsync(string stream, Func<Random, int, long, DateTime, ActivityEvent> next)
{
    var random = new Random(15);
    var keysBefore = await RollupRowsAsync();
    // SQLite: the write-ahead log's largest size while the stream is written and folded (SqliteCheckpointer bounds it).
    using var sampling = new CancellationTokenSource();
    long largestWal = 0;
    var walSampler = Task.Run(async () =>
    {
        var wal = new FileInfo(Path.Combine(dataDirectory, "homeroom.db-wal"));
        while (!sampling.IsCancellationRequested)
        {
            wal.Refresh();
            largestWal = Math.Max(largestWal, wal.Exists ? wal.Length : 0);
            await Task.Delay(100);
        }
    });
    var watch = Stopwatch.StartNew();
    var stored = new List<Task<bool>>();
    var received = DateTime.UtcNow;
    for (var sent = 0; sent < ingestEvents; sent += 50)
    {
        var d = random.Next(ingestDevices);
        var events = new List<ActivityEvent>(50);
        for (var i = 0; i < 50; i++)
        {
            events.Add(next(random, d, ++seqs[d], received));
        }

        var batch = new ActivityBatch(Id(3, d), events, received);
        await writer.EnqueueAsync(batch);
        stored.Add(batch.Stored.Task);
    }

    await Task.WhenAll(stored);
    var ingestSeconds = watch.Elapsed.TotalSeconds;
    // The time until the rollups hold every event, counted from the first event sent, gives the
    // sustained rate of ingestion with rollups (it includes the last write of the folder's sums).
    await folder.CatchUpAsync();
    var withRollupsSeconds = watch.Elapsed.TotalSeconds;
    await sampling.CancelAsync();
    await walSampler;
    var rows = await RollupRowsAsync() - keysBefore;
    results[$"{stream}: ingest events"] = ingestEvents;
    results[$"{stream}: ingest events/s (stored, acknowledged)"] = Math.Round(ingestEvents / ingestSeconds);
    results[$"{stream}: ingest events/s (with rollups)"] = Math.Round(ingestEvents / withRollupsSeconds);
    results[$"{stream}: rollup lag after the last event, s"] = Math.Round(withRollupsSeconds - ingestSeconds, 2);
    results[$"{stream}: new rollup rows"] = rows;
    if (!postgres)
    {
        results[$"{stream}: largest write-ahead log, MB"] = Math.Round(largestWal / 1048576.0, 1);
    }

    Console.WriteLine($"{stream}: {ingestEvents:N0} events stored and acknowledged in {ingestSeconds:F1} s ({ingestEvents / ingestSeconds:N0}/s); " +
        $"rollups hold them all after {withRollupsSeconds:F1} s ({ingestEvents / withRollupsSeconds:N0}/s with rollups, {rows:N0} new rollup rows)" +
        (postgres ? "" : $"; write-ahead log at most {largestWal / 1048576.0:F1} MB"));
}

async Task<long> RollupRowsAsync()
{
    await using var connection = await bulk.OpenAsync(CancellationToken.None);
    long total = 0;
    foreach (var table in RollupTable.All)
    {
        await using var count = connection.CreateCommand();
        count.CommandText = $"SELECT COUNT(*) FROM {table.Name}";
        total += Convert.ToInt64(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    return total;
}

results["flush interval"] = flushInterval;
if (!onlyReports && reuse is null)
{
    await IngestAsync("school", SchoolEvent);
    await IngestAsync("skewed", SkewedEvent);
}

if (onlyIngest)
{
    await app.StopAsync();
    await app.DisposeAsync();
    await DropAsync();
    await BenchReport.WriteAsync(results, Path.Combine("bench", "results"), $"insights-ingest-{provider}");
    return;
}

// (b) A seeded year: rollup rows generated directly (or the year a kept run seeded, with --reuse-database).
var today = reuse is null ? DateOnly.FromDateTime(DateTime.UtcNow) : await LastSeededDayAsync();
var firstDay = today.AddDays(-days + 1);
long dailyRows = 0, monthlyRows = 0, groupRows = 0, eventsWorth = 0;
var blockedSites = Enumerable.Range(0, 200).Select(i => $"blocked{i}.example").ToArray();
var categories = new[] { "games", "social", "proxy", "adult", "streaming", "chat", "shopping", "gambling", "weapons", "unknown-new" };
var apps = Enumerable.Range(0, 40).Select(i => $"app.{i}").ToArray();
var siteNames = Enumerable.Range(0, 300).Select(i => $"site{i}.example").ToArray();
string Pick(string[] pool, Random r) => pool[(int)(r.NextDouble() * r.NextDouble() * pool.Length)];

// The rows of one (school, grade, platform) cell for one period: subjects per kind, events, seconds, students.
IEnumerable<(string Kind, string Subject, string Category, long Seconds, long Events, byte[] Students)> Cell(Random r, int subjectsScale, int school, int grade, int maxStudents, long eventsScale)
{
    var chosen = new HashSet<(string, string, string)>();
    void Take(string kind, string[] pool, int count, bool blocked)
    {
        for (var i = 0; i < count; i++)
        {
            chosen.Add((kind, Pick(pool, r), blocked ? categories[r.Next(categories.Length)] : ""));
        }
    }

    Take("web.visit", siteNames, 8 * subjectsScale, false);
    Take("web.usage", siteNames, 4 * subjectsScale, false);
    Take("app.usage", apps, 3 * subjectsScale, false);
    Take("web.blocked", blockedSites, 3 * subjectsScale, true);
    Take("app.blocked", apps, 1 * subjectsScale, true);
    foreach (var (kind, subject, category) in chosen)
    {
        var sketch = new DistinctSketch();
        var students = r.Next(1, maxStudents + 1);
        for (var s = 0; s < students; s++)
        {
            sketch.Add(Id(2, (school * devicesPerSchool) + ((grade * 97) + r.Next(devicesPerSchool)) % devicesPerSchool));
        }

        var events = eventsScale * r.Next(300, 800);
        yield return (kind, subject, category, kind is "web.usage" or "app.usage" ? events * 40 : 0, events, sketch.ToBytes());
    }
}

Task<long> InsertAsync(string table, string periodColumn, string scopeColumn, IEnumerable<(int Period, Guid Scope, int Grade, string Platform, string Kind, string Subject, string Category, long Seconds, long Events, byte[] Students)> rows) =>
    SeedAsync(table, [periodColumn, scopeColumn, "grade", "platform", "kind", "subject", "category", "seconds", "unfocused_seconds", "events", "students"], rows, (row, v) =>
    {
        v[0] = row.Period; v[1] = bulk.Id(row.Scope); v[2] = row.Grade; v[3] = row.Platform; v[4] = row.Kind;
        v[5] = row.Subject; v[6] = row.Category; v[7] = row.Seconds; v[8] = 0L; v[9] = row.Events; v[10] = row.Students;
    });

// Rows of one table, as fast as each provider takes them: on PostgreSQL one binary COPY (one transaction;
// a statement-level trigger fires once, with every row in its transition table), on SQLite a prepared
// INSERT looped in transactions of 20,000 rows (so the adoption triggers' counter rows stay few per
// transaction there too).
async Task<long> SeedAsync<T>(string table, string[] columns, IEnumerable<T> rows, Action<T, object?[]> bind)
{
    await using var connection = await bulk.OpenAsync(CancellationToken.None);
    if (connection is NpgsqlConnection npgsql)
    {
        await using var copyTransaction = await npgsql.BeginTransactionAsync();
        var copied = await PostgresCopy.CopyAsync(npgsql, table, columns, rows, bind, CancellationToken.None);
        await copyTransaction.CommitAsync();
        return copied;
    }

    var names = columns.Select((_, i) => "@c" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
    var sql = $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", names)})";
    long inserted = 0;
    foreach (var chunk in rows.Chunk(20_000))
    {
        await using var tx = await connection.BeginTransactionAsync();
        inserted += await bulk.ExecuteManyAsync(connection, tx, sql, names, chunk, bind, CancellationToken.None);
        await tx.CommitAsync();
    }

    return inserted;
}

IEnumerable<int> GradesOf(int school) => Enumerable.Range(0, devicesPerSchool).Select(p => GradeOf((school * devicesPerSchool) + p, devicesPerSchool)).Distinct();

IEnumerable<(int, Guid, int, string, string, string, string, long, long, byte[])> DailyRows()
{
    for (var day = firstDay; day <= today; day = day.AddDays(1))
    {
        var r = new Random(day.DayNumber);
        var weekend = day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday;
        for (var school = 0; school < schoolCount; school++)
        {
            foreach (var grade in GradesOf(school))
            {
                foreach (var platform in new[] { "chromeos", "ipados" })
                {
                    foreach (var row in Cell(r, 1, school, grade, platform == "ipados" ? 6 : 20, weekend ? 1 : 4))
                    {
                        dailyRows++;
                        eventsWorth += row.Events;
                        yield return (InsightFold.DayNumber(day), schools[school], grade, platform, row.Kind, row.Subject, row.Category, row.Seconds, row.Events, row.Students);
                    }
                }
            }
        }
    }
}

IEnumerable<(int, Guid, int, string, string, string, string, long, long, byte[])> MonthlyRows()
{
    for (var month = new DateOnly(firstDay.Year, firstDay.Month, 1); month <= today; month = month.AddMonths(1))
    {
        var r = new Random(month.DayNumber);
        for (var school = 0; school < schoolCount; school++)
        {
            foreach (var grade in GradesOf(school))
            {
                foreach (var platform in new[] { "chromeos", "ipados" })
                {
                    foreach (var row in Cell(r, 5, school, grade, platform == "ipados" ? 20 : 80, 80))
                    {
                        monthlyRows++;
                        yield return ((month.Year * 12) + month.Month - 1, schools[school], grade, platform, row.Kind, row.Subject, row.Category, row.Seconds, row.Events, row.Students);
                    }
                }
            }
        }
    }
}

// Class rows for the first school's classes (a class filter reads only its own rows).
IEnumerable<(int, Guid, int, string, string, string, string, long, long, byte[])> GroupRows()
{
    var classesOfFirst = devicesPerSchool / 25;
    for (var day = firstDay; day <= today; day = day.AddDays(1))
    {
        var r = new Random(day.DayNumber + 7);
        for (var c = 0; c < classesOfFirst; c++)
        {
            foreach (var row in Cell(r, 1, 0, GradeOf(c * 25, devicesPerSchool), 25, 1))
            {
                groupRows++;
                yield return (InsightFold.DayNumber(day), Id(4, c), GradeOf(c * 25, devicesPerSchool), "chromeos", row.Kind, row.Subject, row.Category, row.Seconds, row.Events, row.Students);
            }
        }
    }
}

if (reuse is null)
{
    await SeedYearAsync();
}

async Task SeedYearAsync()
{
    clock.Restart();
    // Clear what ingestion left first.
    await using (var connection = await bulk.OpenAsync(CancellationToken.None))
    {
        foreach (var table in RollupTable.All.Select(t => t.Name).Append("insight_app_last_used"))
        {
            await using var clear = connection.CreateCommand();
            clear.CommandText = $"DELETE FROM {table}";
            await clear.ExecuteNonQueryAsync();
        }
    }

    await InsertAsync("insight_daily", "day", "school_id", DailyRows());
    results["daily rows done at, seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
    Console.WriteLine($"daily rows {dailyRows:N0} ({eventsWorth:N0} events' worth) at {clock.Elapsed.TotalSeconds:F0} s");
    await InsertAsync("insight_monthly", "month", "school_id", MonthlyRows());
    await InsertAsync("insight_group_daily", "day", "group_id", GroupRows());
    results["school and class rows done at, seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
    Console.WriteLine($"monthly and class rows at {clock.Elapsed.TotalSeconds:F0} s");

    // The district rows are the sums of the school rows (sketches merged), as the folder fills them.
    long districtRows;
    await using (var connection = await bulk.OpenAsync(CancellationToken.None))
    {
        await using var tx = await connection.BeginTransactionAsync();
        districtRows = await app.Services.GetRequiredService<InsightRollups>().FillDistrictAsync(connection, tx, CancellationToken.None);
        await using var ready = connection.CreateCommand();
        ready.Transaction = tx;
        ready.CommandText = "UPDATE insight_fold_state SET district_ready = 1";
        await ready.ExecuteNonQueryAsync();
        await tx.CommitAsync();
    }

    results["district fill done at, seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
    Console.WriteLine($"district rows {districtRows:N0} at {clock.Elapsed.TotalSeconds:F0} s");

    // Inventories: 10 apps per device; most used at some point, some never. On PostgreSQL each table in one
    // COPY, so its statement-level adoption trigger groups every install at once.
    var installs = Enumerable.Range(0, deviceCount).SelectMany(p => Enumerable.Range(0, 10).Select(a => (Device: p, App: apps[((p % 7) + (a * 3)) % apps.Length]))).Distinct().ToList();
    var lastDay = InsightFold.DayNumber(today);
    var inventoryClock = Stopwatch.StartNew();
    await SeedAsync("device_apps", ["device_id", "app_id", "name"], installs, (i, v) => { v[0] = bulk.Id(Id(3, i.Device)); v[1] = i.App; v[2] = i.App; });
    await SeedAsync("insight_app_last_used", ["device_id", "app_id", "last_day"], installs.Where(i => (i.Device + i.App.Length) % 5 != 0),
        (i, v) => { v[0] = bulk.Id(Id(3, i.Device)); v[1] = i.App; v[2] = lastDay - (i.Device % 90); });
    results["inventory write seconds"] = Math.Round(inventoryClock.Elapsed.TotalSeconds, 1);
    results["inventories done at, seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
    Console.WriteLine($"inventories ({installs.Count:N0} installs) at {clock.Elapsed.TotalSeconds:F0} s");

    // The planner's statistics as a running server has them: on SQLite what its housekeeping runs a minute
    // after start and every 6 hours (SqliteMaintenance: PRAGMA optimize=0x10002, SQLite's bounded analysis),
    // on PostgreSQL what autovacuum runs on a table after a bulk load (ANALYZE), without waiting for it.
    var statisticsClock = Stopwatch.StartNew();
    if (postgres)
    {
        await using var connection = await bulk.OpenAsync(CancellationToken.None);
        await using var analyze = connection.CreateCommand();
        analyze.CommandText = "ANALYZE";
        analyze.CommandTimeout = 0;
        await analyze.ExecuteNonQueryAsync();
    }
    else
    {
        await app.Services.GetRequiredService<SqliteMaintenance>().OptimizeAsync(CancellationToken.None);
    }

    results["statistics seconds"] = Math.Round(statisticsClock.Elapsed.TotalSeconds, 1);

    results["seed seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
    results["daily rows"] = dailyRows;
    results["monthly rows"] = monthlyRows;
    results["class daily rows"] = groupRows;
    results["district rows (every district table)"] = districtRows;
    results["raw events summarised"] = eventsWorth;
    Console.WriteLine($"seeded {dailyRows:N0} daily, {monthlyRows:N0} monthly, {groupRows:N0} class rows ({eventsWorth:N0} events' worth) in {clock.Elapsed.TotalSeconds:F0} s");
}

static double ProcessCpuMilliseconds()
{
    using var process = Process.GetCurrentProcess();
    return process.TotalProcessorTime.TotalMilliseconds;
}

// The last day a kept run seeded: its year ends there.
async Task<DateOnly> LastSeededDayAsync()
{
    await using var connection = await bulk.OpenAsync(CancellationToken.None);
    await using var last = connection.CreateCommand();
    last.CommandText = "SELECT MAX(day) FROM insight_daily";
    return InsightFold.DateOf(Convert.ToInt32(await last.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
}

// On a reused database the server's start-up work runs on a year of data while the reports would: the daily
// retention pass (a DELETE scanning every rollup table) and the start-up jobs over 50,000 devices. Time the
// reports after them, as after a seed (whose start-up found empty tables).
if (reuse is not null)
{
    var retention = app.Services.GetRequiredService<InsightsRetention>();
    var started = Stopwatch.StartNew();
    while (retention.Runs == 0 && started.Elapsed < TimeSpan.FromMinutes(2))
    {
        await Task.Delay(100);
    }

    // Waits for the start-up pass to finish (one pass at a time), then runs one more.
    await retention.PurgeAsync(CancellationToken.None);
    await Task.Delay(TimeSpan.FromSeconds(10));
    results["start-up work waited for, seconds"] = Math.Round(started.Elapsed.TotalSeconds, 1);
}

// Report latencies: median and worst of several runs each.
var queries = app.Services.GetRequiredService<InsightsQueries>();
var district = StaffScope.System;
var schoolAdmin = new StaffScope(Guid.NewGuid(), "bench", "Bench", StaffRole.SchoolAdmin, schools[0], null);
var year = new InsightFilter(today.AddDays(-364), today);
var month30 = new InsightFilter(today.AddDays(-29), today);
var reports = new (string Name, Func<Task<int>> Run)[]
{
    ("most-blocked sites, year, district", async () => (await queries.MostBlockedAsync(district, year, false, 50, CancellationToken.None)).Rows.Count),
    ("blocked categories, year, district", async () => (await queries.BlockedCategoriesAsync(district, year, 50, CancellationToken.None)).Rows.Count),
    ("top sites by time, year, district", async () => (await queries.TopUsageAsync(district, year, false, UsageOrder.Time, 50, CancellationToken.None)).Rows.Count),
    ("top sites by students, year, district", async () => (await queries.TopUsageAsync(district, year, false, UsageOrder.Students, 50, CancellationToken.None)).Rows.Count),
    ("top apps by students, year, district", async () => (await queries.TopUsageAsync(district, year, true, UsageOrder.Students, 50, CancellationToken.None)).Rows.Count),
    ("most-blocked sites, year, one school", async () => (await queries.MostBlockedAsync(schoolAdmin, year, false, 50, CancellationToken.None)).Rows.Count),
    ("top sites by students, 30 days, district, grade 5", async () => (await queries.TopUsageAsync(district, month30 with { Grade = 5 }, false, UsageOrder.Students, 50, CancellationToken.None)).Rows.Count),
    ("blocked categories, year, district, grade 5", async () => (await queries.BlockedCategoriesAsync(district, year with { Grade = 5 }, 50, CancellationToken.None)).Rows.Count),
    ("most-blocked sites, year, district, chromeos", async () => (await queries.MostBlockedAsync(district, year with { Platform = "chromeos" }, false, 50, CancellationToken.None)).Rows.Count),
    ("top sites by time, year, one class", async () => (await queries.TopUsageAsync(schoolAdmin, year with { GroupId = Id(4, 0) }, false, UsageOrder.Time, 50, CancellationToken.None)).Rows.Count),
    ("app adoption, district", async () => (await queries.AppAdoptionAsync(district, year, null, 100, CancellationToken.None)).Rows.Count),
};

results["load average before the reports (1, 5, 15 min)"] = File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "unknown";
// --report TEXT times only the reports whose name contains it (many runs of one report, alternated between builds).
var only = options.GetValueOrDefault("report");
var latencies = new Dictionary<string, object>();
foreach (var (name, run) in reports.Where(r => only is null || r.Name.Contains(only, StringComparison.Ordinal)))
{
    var times = new List<double>();
    var cpu = new List<double>();
    var rows = 0;
    for (var i = 0; i < runs; i++)
    {
        var cpuBefore = ProcessCpuMilliseconds();
        var watch = Stopwatch.StartNew();
        rows = await run();
        times.Add(watch.Elapsed.TotalMilliseconds);
        cpu.Add(ProcessCpuMilliseconds() - cpuBefore);
    }

    times.Sort();
    cpu.Sort();
    results[$"{name}: median ms"] = Math.Round(times[times.Count / 2], 1);
    results[$"{name}: worst ms"] = Math.Round(times[^1], 1);
    // The server process's CPU time during a run (all its threads; PostgreSQL's is not in it): unlike the
    // elapsed time, it does not grow with the other work on the machine.
    results[$"{name}: server process CPU ms, median"] = Math.Round(cpu[cpu.Count / 2], 1);
    latencies[name] = rows;
}

// --compare-students ROUNDS: top sites by students over the district's year read with 1 and 2 sketch connections,
// and on PostgreSQL with the connection's TLS as configured and with SSL Mode=Disable, the variants taking turns
// in every round so that the shared machine's load (which changes several-fold within a minute) falls on them alike.
if (options.Int("compare-students", 0) is > 0 and var rounds)
{
    var dbOptions = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>().Value;
    var variants = new List<(string Name, InsightsQueries Queries)>();
    foreach (var tls in postgres ? new[] { true, false } : [true])
    {
        var bulkFor = tls ? bulk : new BulkSql(new DatabaseOptions
        {
            DataDirectory = dbOptions.DataDirectory,
            PostgresConnectionString = new NpgsqlConnectionStringBuilder(dbOptions.PostgresConnectionString) { SslMode = SslMode.Disable }.ConnectionString,
        });
        foreach (var connections in new[] { 1, 2 })
        {
            var name = $"{connections} connection{(connections == 1 ? "" : "s")}" + (postgres ? (tls ? ", TLS as configured" : ", SSL Mode=Disable") : "");
            variants.Add((name, new InsightsQueries(bulkFor, app.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<HomeroomDbContext>>(),
                app.Services.GetRequiredService<Homeroom.Server.Audit.AuditTrail>(),
                Microsoft.Extensions.Options.Options.Create(new InsightsOptions { SketchReadConnections = connections }), TimeProvider.System)));
        }
    }

    var timings = variants.ToDictionary(v => v.Name, _ => new List<double>());
    var cpuTimes = variants.ToDictionary(v => v.Name, _ => new List<double>());
    string? agreed = null;
    for (var round = 0; round < rounds; round++)
    {
        for (var k = 0; k < variants.Count; k++)
        {
            // A different variant goes first each round.
            var (name, variantQueries) = variants[(k + round) % variants.Count];
            var cpuBefore = ProcessCpuMilliseconds();
            var watch = Stopwatch.StartNew();
            var report = await variantQueries.TopUsageAsync(district, year, false, UsageOrder.Students, 50, CancellationToken.None);
            timings[name].Add(watch.Elapsed.TotalMilliseconds);
            cpuTimes[name].Add(ProcessCpuMilliseconds() - cpuBefore);
            var counted = string.Join(",", report.Rows.Select(r => $"{r.Subject}={r.Students}"));
            if ((agreed ??= counted) != counted)
            {
                throw new InvalidOperationException($"{name} counted differently");
            }
        }
    }

    results["compare rounds"] = rounds;
    foreach (var (name, times) in timings)
    {
        times.Sort();
        results[$"compare, {name}: median ms"] = Math.Round(times[times.Count / 2], 1);
        results[$"compare, {name}: 90th percentile ms"] = Math.Round(times[(int)(times.Count * 0.9)], 1);
        results[$"compare, {name}: worst ms"] = Math.Round(times[^1], 1);
        var cpuOf = cpuTimes[name];
        cpuOf.Sort();
        results[$"compare, {name}: server process CPU ms, median"] = Math.Round(cpuOf[cpuOf.Count / 2], 1);
    }
}

// What the by-students reports counted: runs of different builds on one kept database must agree exactly.
foreach (var (name, byApps) in new[] { ("top sites by students, year, district", false), ("top apps by students, year, district", true) })
{
    var counted = (await queries.TopUsageAsync(district, year, byApps, UsageOrder.Students, 50, CancellationToken.None)).Rows;
    var lines = string.Join("\n", counted.Select(r => $"{r.Subject}={r.Students}"));
    results[$"{name}: students summed over its rows"] = counted.Sum(r => r.Students);
    results[$"{name}: SHA-256 of its subjects and students"] =
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(lines)))[..16];
}

results["sketch read connections"] = sketchConnections ?? "default";
results["load average at the end (1, 5, 15 min)"] = File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "unknown";

await app.StopAsync();
await app.DisposeAsync();
await DropAsync();
await BenchReport.WriteAsync(results, Path.Combine("bench", "results"), $"insights-{provider}-{deviceCount}");

async Task DropAsync()
{
    // --keep (and a reused database) leaves the seeded database for EXPLAIN ANALYZE and later report runs.
    if (database is not null)
    {
        await database.DisposeAsync();
    }

    if (keepDatabase)
    {
        Console.WriteLine($"kept the data directory {dataDirectory}");
        return;
    }

    Directory.Delete(dataDirectory, recursive: true);
}

static Guid Id(int kind, int index)
{
    Span<byte> bytes = stackalloc byte[16];
    BitConverter.TryWriteBytes(bytes, kind);
    BitConverter.TryWriteBytes(bytes[4..], index);
    bytes[15] = 0x5A;
    return new Guid(bytes);
}

// Grades 0 to 12, six per school (elementary, middle or high), spread over its devices.
static int GradeOf(int person, int perSchool) => ((person / perSchool) % 3 * 4) + (person % perSchool * 6 / perSchool);
