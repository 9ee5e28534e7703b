// OS update rings benchmark: does the health gate decide over a ring of 50,000 devices within 1 s?
// Seeds 50,000 Chromebooks straight into the database, in ring groups (pilot 500 placed in the group,
// early 4,500 placed, broad 45,000: half placed, half through their students' membership, so both ways a
// device belongs to a group are read), with OS versions around the target, check-ins over the
// last days and failed commands before and after the ring started. Rollouts whose current ring is the
// pilot, the broad ring and the whole district (a group holding all 50,000). Times RolloutEvaluator.EvaluateOnceAsync, the pass the
// periodic job runs (read the ring's devices and failed commands, measure, decide, write with the
// audit entry), and the pure gate (RingGate.Measure and Decide) on the same 50,000 devices.
using System.Diagnostics;
using System.Globalization;
using Homeroom.Bench.Load;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Rules.Updates;
using Homeroom.Server;
using Homeroom.Server.Accounts;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Roster;
using Homeroom.Server.Updates;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

var options = BenchReport.ParseArguments(args);
var deviceCount = options.Int("devices", 50_000);
var runs = options.Int("runs", 10);
var postgres = options.GetValueOrDefault("provider") == "postgres";
const double TargetMs = 1000;

var dataDirectory = Path.Combine(Path.GetTempPath(), "homeroom-bench-updates-" + Guid.NewGuid().ToString("N")[..8]);
await using var database = postgres ? await BenchPostgres.CreateAsync("updates") : null;
string[] serverArgs =
[
    "--urls=http://127.0.0.1:0",
    "--HOMEROOM_ADMIN_PASSWORD=benchmark admin passphrase",
    $"--Homeroom:DataDirectory={dataDirectory}",
    "--Logging:LogLevel:Default=Warning",
    // The benchmark drives the evaluation itself.
    "--Homeroom:Updates:EvaluationInterval=01:00:00",
    .. database is null ? Array.Empty<string>() : ["--ConnectionStrings:Postgres=" + database.ConnectionString],
];

var app = await HomeroomApp.CreateAsync(serverArgs);
var dbFactory = app.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
var seedClock = Stopwatch.StartNew();
var rings = await SeedAsync(dbFactory, deviceCount);
Console.WriteLine($"seeded {deviceCount:N0} devices in {seedClock.Elapsed.TotalSeconds:F1} s");

// The planner's statistics as a running server has them: on SQLite what its housekeeping runs a minute after start
// (SqliteMaintenance), on PostgreSQL what autovacuum runs after a bulk load (ANALYZE), without waiting for either.
if (postgres)
{
    await using var db = await dbFactory.CreateDbContextAsync();
    db.Database.SetCommandTimeout(TimeSpan.FromMinutes(10));
    await db.Database.ExecuteSqlRawAsync("ANALYZE");
}
else
{
    await app.Services.GetRequiredService<SqliteMaintenance>().OptimizeAsync(CancellationToken.None);
}

var rollouts = app.Services.GetRequiredService<UpdateRollouts>();
var evaluator = app.Services.GetRequiredService<RolloutEvaluator>();
const string Target = "132.0.6834.0";

// Each case is a rollout whose first ring is one of the groups: about half the devices are on the target, 60 % required and a
// 96-hour check-in window, so the gate keeps waiting (never pauses) and every pass does the whole work.
var cases = new List<(string Name, int Devices, Func<Task<int>> Run)>();
foreach (var (name, group, devices) in rings)
{
    var rollout = await rollouts.CreateAsync(StaffScope.System, new RolloutRequest($"Bench {name}", "chromeos", Target, 96, [new RingRequest(group, 60, 48, null)]));
    cases.Add(($"evaluation pass, ring {name}", devices, async () => (await evaluator.EvaluateOnceAsync(rollout.Id) ?? throw new InvalidOperationException("The rollout is no longer active.")).Decision.Progress.Devices));
}

// The pure gate on the largest ring's devices, as the pass loads them.
var random = new Random(16);
var now = DateTime.UtcNow;
var target = OsVersion.FromReported(Target);
var pure = Enumerable.Range(0, deviceCount).Select(i => new RingDevice(
    OsVersion.FromReported(i % 10 == 0 ? "131.0.6778.85" : Target), now.AddMinutes(-random.Next(0, 60 * 30)),
    random.Next(100) == 0 ? now.AddHours(-1) : null, random.Next(3), random.Next(3))).ToArray();
cases.Add(("pure gate (Measure + Decide)", deviceCount, () =>
{
    var progress = RingGate.Measure(target, 95, pure, now.AddDays(-2), null, now, HealthRule.Default);
    var decision = RingGate.Decide(target, new RingRule("broad", 95, TimeSpan.FromHours(48), null), progress, null, null, now);
    return Task.FromResult(decision.Progress.Devices);
}));

var rows = new List<(string Case, int Devices, double P50, double P95, double Max)>();
foreach (var (name, _, run) in cases)
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
Console.WriteLine($"| case ({deviceCount:N0} devices, {(postgres ? "PostgreSQL" : "SQLite")}) | ring devices | p50 (ms) | p95 (ms) | max of {runs} (ms) | within {TargetMs:F0} ms |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
foreach (var r in rows)
{
    Console.WriteLine($"| {r.Case} | {r.Devices:N0} | {r.P50:F1} | {r.P95:F1} | {r.Max:F1} | {(r.Max <= TargetMs ? "yes" : "NO")} |");
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
        ["case"] = r.Case, ["ring_devices"] = r.Devices, ["p50_ms"] = Math.Round(r.P50, 1), ["p95_ms"] = Math.Round(r.P95, 1), ["max_ms"] = Math.Round(r.Max, 1),
    }).ToList(),
    ["within_1s"] = rows.All(r => r.Max <= TargetMs),
};
await BenchReport.WriteAsync(results, Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results"), $"updates-{(postgres ? "postgres" : "sqlite")}-{deviceCount}", table: false);

await app.DisposeAsync();
if (!postgres)
{
    Directory.Delete(dataDirectory, recursive: true);
}

return 0;

static async Task<List<(string Name, Guid Group, int Devices)>> SeedAsync(IDbContextFactory<HomeroomDbContext> dbFactory, int devices)
{
    var random = new Random(2026);
    var now = DateTime.UtcNow;
    const int Schools = 10;
    var schools = Enumerable.Range(0, Schools).Select(i => new School { Id = Guid.CreateVersion7(), Name = $"School {i + 1:D2}", TimeZone = "America/Chicago", CreatedAt = now }).ToList();
    await InsertAsync(dbFactory, db => db.Schools.AddRange(schools));

    string[] versions = ["130.0.6723.116", "131.0.6778.85", "132.0.6834.0", "132.0.6834.0"];
    var pilot = new Group { Id = Guid.CreateVersion7(), SchoolId = null, Kind = GroupKind.Custom, Name = "Pilot", CreatedAt = now };
    var early = new Group { Id = Guid.CreateVersion7(), SchoolId = null, Kind = GroupKind.Custom, Name = "Early", CreatedAt = now };
    var broad = new Group { Id = Guid.CreateVersion7(), SchoolId = null, Kind = GroupKind.Custom, Name = "Broad", CreatedAt = now };
    var everyone = new Group { Id = Guid.CreateVersion7(), SchoolId = null, Kind = GroupKind.Custom, Name = "Whole district", CreatedAt = now };
    await InsertAsync(dbFactory, db => db.Groups.AddRange(pilot, early, broad, everyone));

    var people = new List<Person>();
    var deviceRows = new List<Device>(devices);
    var placed = new List<GroupDevice>(devices * 2);
    var members = new List<GroupMember>();
    for (var i = 0; i < devices; i++)
    {
        var school = schools[i % Schools];
        var device = new Device
        {
            Id = Guid.CreateVersion7(), SchoolId = school.Id, Name = $"D-{i:D6}", Serial = $"SN{i:D8}", Platform = DevicePlatform.ChromeOS,
            OsVersion = versions[random.Next(versions.Length)], State = DeviceState.Active, EnrolledAt = now.AddDays(-200),
            LastSeenAt = random.Next(50) == 0 ? null : now.AddMinutes(-random.Next(0, 60 * 24 * 3)), CredentialHash = "bench",
        };
        deviceRows.Add(device);
        placed.Add(new GroupDevice { GroupId = everyone.Id, DeviceId = device.Id });
        var share = i % 100;
        if (share == 0)
        {
            placed.Add(new GroupDevice { GroupId = pilot.Id, DeviceId = device.Id });
        }
        else if (share < 10)
        {
            placed.Add(new GroupDevice { GroupId = early.Id, DeviceId = device.Id });
        }
        else if (share % 2 == 0)
        {
            placed.Add(new GroupDevice { GroupId = broad.Id, DeviceId = device.Id });
        }
        else
        {
            // A student's device: in the ring through the student's membership.
            var person = new Person { Id = Guid.CreateVersion7(), SchoolId = school.Id, Kind = PersonKind.Student, GivenName = "Student", FamilyName = i.ToString(CultureInfo.InvariantCulture), CreatedAt = now };
            people.Add(person);
            device.AssignedPersonId = person.Id;
            members.Add(new GroupMember { GroupId = broad.Id, PersonId = person.Id });
        }
    }

    await InsertAsync(dbFactory, db => db.People.AddRange(people));
    await InsertAsync(dbFactory, db => db.Devices.AddRange(deviceRows));
    foreach (var batch in placed.Chunk(50_000))
    {
        await InsertAsync(dbFactory, db => db.GroupDevices.AddRange(batch));
    }

    await InsertAsync(dbFactory, db => db.GroupMembers.AddRange(members));

    // Failed commands over the last three weeks (about one device in five has some), a few of them OS updates.
    var commands = new List<Command>();
    var deliveries = new List<CommandDelivery>();
    for (var c = 0; c < 500; c++)
    {
        var issued = now.AddHours(-random.Next(0, 24 * 21));
        var command = new Command
        {
            Id = Guid.CreateVersion7(), Kind = c % 10 == 0 ? CommandKinds.UpdateOs : CommandKinds.Ping, ArgumentsJson = "{}", TargetType = "devices",
            IssuedBy = "bench", IssuedAt = issued, ExpiresAt = issued.AddDays(1), TargetCount = 20,
        };
        commands.Add(command);
        foreach (var index in Enumerable.Range(0, 20).Select(_ => random.Next(devices)).Distinct())
        {
            deliveries.Add(new CommandDelivery { CommandId = command.Id, DeviceId = deviceRows[index].Id, Status = DeliveryStatus.Failed, UpdatedAt = issued.AddMinutes(5), Error = "bench" });
        }
    }

    await InsertAsync(dbFactory, db => db.Commands.AddRange(commands));
    await InsertAsync(dbFactory, db => db.CommandDeliveries.AddRange(deliveries));
    return [("pilot", pilot.Id, devices / 100), ("broad", broad.Id, devices * 9 / 10), ("whole district", everyone.Id, devices)];
}

static async Task InsertAsync(IDbContextFactory<HomeroomDbContext> dbFactory, Action<HomeroomDbContext> add)
{
    await using var db = await dbFactory.CreateDbContextAsync();
    db.ChangeTracker.AutoDetectChangesEnabled = false;
    add(db);
    await db.SaveChangesAsync();
}
