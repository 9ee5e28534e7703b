// Insights report benchmark: does the fleet-health report answer within 500 ms at 50,000 devices?
// Seeds a district (10 schools, 50,000 students each with a device of mixed platforms, OS versions,
// batteries, storage and states, classes of 25 with a policy each and a year of classroom use) straight
// into the database, then times the reports through the use cases the API and console call
// (FleetHealth, ClassroomUse) district-wide and filtered, after one warm-up call each.
using System.Diagnostics;
using System.Globalization;
using Homeroom.Bench.Load;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Insights;
using Homeroom.Server.Policies;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

var options = BenchReport.ParseArguments(args);
var deviceCount = options.Int("devices", 50_000);
var runs = options.Int("runs", 20);
var postgres = options.GetValueOrDefault("provider") == "postgres";
await using var database = postgres ? await BenchPostgres.CreateAsync("reports") : null;
const double TargetMs = 500;

var dataDirectory = Path.Combine(Path.GetTempPath(), "homeroom-bench-reports-" + Guid.NewGuid().ToString("N")[..8]);
string[] serverArgs =
[
    "--urls=http://127.0.0.1:0",
    "--HOMEROOM_ADMIN_PASSWORD=benchmark admin passphrase",
    $"--Homeroom:DataDirectory={dataDirectory}",
    "--Logging:LogLevel:Default=Warning",
    .. database is null ? Array.Empty<string>() : ["--ConnectionStrings:Postgres=" + database.ConnectionString],
];

var app = await HomeroomApp.CreateAsync(serverArgs);
var dbFactory = app.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
var seedClock = Stopwatch.StartNew();
var (firstSchool, firstClass) = await SeedAsync(dbFactory, deviceCount);
Console.WriteLine($"seeded {deviceCount:N0} devices in {seedClock.Elapsed.TotalSeconds:F1} s");

var fleet = app.Services.GetRequiredService<FleetHealth>();
var classroom = app.Services.GetRequiredService<ClassroomUse>();
var district = StaffScope.System;
var schoolAdmin = new StaffScope(Guid.NewGuid(), "bench-admin", "Bench admin", StaffRole.SchoolAdmin, firstSchool, null);
var today = DateOnly.FromDateTime(DateTime.UtcNow);
var cases = new (string Name, Func<Task<int>> Run)[]
{
    ("fleet health, district", async () => (await fleet.ReportAsync(district, new ReportRequest())).Devices),
    ("fleet health, one school (school admin)", async () => (await fleet.ReportAsync(schoolAdmin, new ReportRequest())).Devices),
    ("fleet health, platform chromeos", async () => (await fleet.ReportAsync(district, new ReportRequest(Platform: "chromeos"))).Devices),
    ("fleet health, grade 7", async () => (await fleet.ReportAsync(district, new ReportRequest(Grade: "7"))).Devices),
    ("fleet health, one class", async () => (await fleet.ReportAsync(district, new ReportRequest(ClassId: firstClass.ToString()))).Devices),
    ("classroom use, district, 7 days", async () => (await classroom.ReportAsync(district, new ReportRequest())).Classes),
    ("classroom use, district, 400 days", async () => (await classroom.ReportAsync(district, new ReportRequest(From: ReportFilters.Day(today.AddDays(-399)), To: ReportFilters.Day(today)))).Classes),
};

var rows = new List<(string Case, int Rows, double P50, double P95, double Max)>();
foreach (var (name, run) in cases)
{
    var count = await run(); // warm-up
    var timings = new List<double>();
    for (var i = 0; i < runs; i++)
    {
        var clock = Stopwatch.StartNew();
        await run();
        timings.Add(clock.Elapsed.TotalMilliseconds);
    }

    timings.Sort();
    rows.Add((name, count, timings[timings.Count / 2], timings[(int)Math.Ceiling(timings.Count * 0.95) - 1], timings[^1]));
}

Console.WriteLine();
Console.WriteLine($"| report ({deviceCount:N0} devices, {(postgres ? "PostgreSQL" : "SQLite")}) | devices or classes | p50 (ms) | p95 (ms) | max of {runs} (ms) | fleet within {TargetMs:F0} ms |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
foreach (var r in rows)
{
    var target = r.Case.StartsWith("fleet", StringComparison.Ordinal) ? (r.Max <= TargetMs ? "yes" : "NO") : "";
    Console.WriteLine($"| {r.Case} | {r.Rows:N0} | {r.P50:F1} | {r.P95:F1} | {r.Max:F1} | {target} |");
}

var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["at"] = BenchReport.Now(),
    ["provider"] = postgres ? "postgres" : "sqlite",
    ["devices"] = deviceCount,
    ["runs"] = runs,
    ["cases"] = rows.Select(r => new Dictionary<string, object>
    {
        ["case"] = r.Case, ["rows"] = r.Rows, ["p50_ms"] = Math.Round(r.P50, 1), ["p95_ms"] = Math.Round(r.P95, 1), ["max_ms"] = Math.Round(r.Max, 1),
    }).ToList(),
    ["fleet_within_500ms"] = rows.Where(r => r.Case.StartsWith("fleet", StringComparison.Ordinal)).All(r => r.Max <= TargetMs),
};
await BenchReport.WriteAsync(results, Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results"), $"reports-{(postgres ? "postgres" : "sqlite")}-{deviceCount}", table: false);

await app.DisposeAsync();
if (!postgres)
{
    Directory.Delete(dataDirectory, recursive: true);
}

return 0;

static async Task<(Guid School, Guid Class)> SeedAsync(IDbContextFactory<HomeroomDbContext> dbFactory, int devices)
{
    var random = new Random(2026);
    var now = DateTime.UtcNow;
    const int Schools = 10, ClassSize = 25;
    var schools = Enumerable.Range(0, Schools).Select(i => new School { Id = Guid.CreateVersion7(), Name = $"School {i + 1:D2}", TimeZone = "America/Chicago", CreatedAt = now }).ToList();
    await InsertAsync(dbFactory, db => db.Schools.AddRange(schools));

    string[] chromeVersions = ["126.0.6478.222", "127.0.6533.132", "128.0.6613.158", "129.0.6668.110", "130.0.6723.116"];
    string[] ipadVersions = ["17.6.1", "18.0", "18.1", "18.1.1"];
    DeviceState[] states = [DeviceState.Active, DeviceState.Active, DeviceState.Active, DeviceState.Spare, DeviceState.InRepair, DeviceState.Lost, DeviceState.Retired];
    var people = new List<Person>(devices);
    var deviceRows = new List<Device>(devices);
    var groups = new List<Group>();
    var members = new List<GroupMember>(devices);
    var policies = new List<DevicePolicy>(devices);
    for (var i = 0; i < devices; i++)
    {
        var school = schools[i % Schools];
        var grade = 1 + (i / Schools % 12);
        var person = new Person { Id = Guid.CreateVersion7(), SchoolId = school.Id, Kind = PersonKind.Student, GivenName = "Student", FamilyName = i.ToString(CultureInfo.InvariantCulture), GradeLevel = grade, CreatedAt = now };
        people.Add(person);
        var chromebook = grade >= 3;
        var device = new Device
        {
            Id = Guid.CreateVersion7(), SchoolId = school.Id, Name = $"D-{i:D6}", Serial = $"SN{i:D8}",
            Platform = chromebook ? DevicePlatform.ChromeOS : DevicePlatform.IPadOS,
            OsVersion = chromebook ? chromeVersions[random.Next(chromeVersions.Length)] : ipadVersions[random.Next(ipadVersions.Length)],
            AssignedPersonId = person.Id, State = states[random.Next(100) < 90 ? 0 : random.Next(states.Length)], EnrolledAt = now.AddDays(-200),
            LastSeenAt = random.Next(20) == 0 ? null : now.AddMinutes(-random.Next(0, 60 * 24 * 45)), CredentialHash = "bench",
            BatteryLevel = random.Next(1, 101), BatteryCharging = random.Next(4) == 0,
            StorageTotalBytes = 32_000_000_000, StorageFreeBytes = random.Next(0, 32_000) * 1_000_000L,
        };
        deviceRows.Add(device);
        var version = random.Next(1, 5);
        policies.Add(new DevicePolicy { DeviceId = device.Id, Version = version, Hash = "bench", ComputedAt = now, ReportedVersion = random.Next(3) == 0 ? version - 1 : version, ReportedApplied = random.Next(50) != 0 });
        if (i % ClassSize == 0)
        {
            groups.Add(new Group { Id = Guid.CreateVersion7(), SchoolId = school.Id, Kind = GroupKind.Class, Name = $"Class {groups.Count + 1}", GradeLevel = grade, CreatedAt = now });
        }

        members.Add(new GroupMember { GroupId = groups[^1].Id, PersonId = person.Id });
    }

    await InsertAsync(dbFactory, db => db.People.AddRange(people));
    await InsertAsync(dbFactory, db => db.Devices.AddRange(deviceRows));
    await InsertAsync(dbFactory, db => db.Groups.AddRange(groups));
    await InsertAsync(dbFactory, db => db.GroupMembers.AddRange(members));
    await InsertAsync(dbFactory, db => db.DevicePolicies.AddRange(policies));

    // A school year of classroom use: each class on about half of the last 400 days.
    var today = DateOnly.FromDateTime(now);
    var usage = groups.SelectMany(g => Enumerable.Range(0, 400).Where(_ => random.Next(2) == 0)
        .Select(d => new ClassUsageDay { GroupId = g.Id, Day = today.AddDays(-d), ViewedSeconds = random.Next(0, 3600), Commands = random.Next(0, 20) }));
    foreach (var batch in usage.Chunk(50_000))
    {
        await InsertAsync(dbFactory, db => db.ClassUsageDays.AddRange(batch));
    }

    return (schools[0].Id, groups[0].Id);
}

static async Task InsertAsync(IDbContextFactory<HomeroomDbContext> dbFactory, Action<HomeroomDbContext> add)
{
    await using var db = await dbFactory.CreateDbContextAsync();
    db.ChangeTracker.AutoDetectChangesEnabled = false;
    add(db);
    await db.SaveChangesAsync();
}
