// Console page benchmark: is every page usable within 1 s at district scale?
// Seeds a district (10 schools, 50,000 students each with a device, classes of 25, 100,000 audit
// entries, 250,000 activity events at 50,000 devices) straight into the database, starts the server in this process
// on loopback, and opens every console page (found by reflection, like the accessibility test) in
// Chromium as the district admin. A page is "usable" when its heading is shown and its content has
// settled: the time of the last change to the page before 300 ms without one, measured in the
// browser from the start of navigation (a full page load, the slowest way to arrive).
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server;
using Homeroom.Server.Activity;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Roster;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

var options = BenchReport.ParseArguments(args);
var deviceCount = options.Int("devices", 50_000);
var runs = options.Int("runs", 5);
var postgres = options.GetValueOrDefault("provider") == "postgres";
await using var database = postgres ? await BenchPostgres.CreateAsync("console") : null;
const string AdminPassword = "benchmark admin passphrase";
const string ApiKey = "hrk_bench-console-key-0123456789abcdef";

var dataDirectory = Path.Combine(Path.GetTempPath(), "homeroom-bench-console-" + Guid.NewGuid().ToString("N")[..8]);
string[] serverArgs =
[
    "--urls=http://127.0.0.1:0",
    $"--HOMEROOM_ADMIN_PASSWORD={AdminPassword}",
    $"--HOMEROOM_BOOTSTRAP_API_KEY={ApiKey}",
    $"--Homeroom:DataDirectory={dataDirectory}",
    "--Logging:LogLevel:Default=Warning",
    .. database is null ? Array.Empty<string>() : ["--ConnectionStrings:Postgres=" + database.ConnectionString],
];

var app = await HomeroomApp.CreateAsync(serverArgs);
var seedClock = Stopwatch.StartNew();
await SeedAsync(app.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>(), deviceCount);
var seedSeconds = seedClock.Elapsed.TotalSeconds;
Console.WriteLine($"seeded {deviceCount:N0} devices in {seedSeconds:F1} s");
await app.StartAsync();
var baseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

using var api = new HttpClient { BaseAddress = baseAddress };
api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

using var playwright = await Playwright.CreateAsync();
await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
{
    ExecutablePath = Environment.GetEnvironmentVariable("HOMEROOM_CHROMIUM") ?? "/usr/bin/chromium",
    Headless = true,
    Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseAddress.AbsoluteUri, ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
await context.AddInitScriptAsync(
    """
    window.__lastChange = 0;
    new MutationObserver(() => { window.__lastChange = performance.now(); })
      .observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
    """);
var page = await context.NewPageAsync();
await page.GotoAsync("/login");
await page.GetByLabel("Username").FillAsync("admin");
await page.GetByLabel("Password").FillAsync(AdminPassword);
await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
try
{
    await page.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal));
}
catch (TimeoutException)
{
    Console.Error.WriteLine("Sign-in did not finish; the page says: " + await page.Locator("body").InnerTextAsync());
    throw;
}

var templates = typeof(HomeroomApp).Assembly.GetTypes()
    .Where(type => typeof(IComponent).IsAssignableFrom(type))
    .SelectMany(type => type.GetCustomAttributes<RouteAttribute>())
    .Select(route => route.Template)
    .Where(template => template != "/login")
    .Distinct()
    .Order(StringComparer.Ordinal)
    .ToList();

var rows = new List<(string Page, double P50, double Max)>();
foreach (var template in templates)
{
    var path = await PathForAsync(api, template);
    var timings = new List<double>();
    for (var run = 0; run <= runs; run++)
    {
        await page.GotoAsync(path);
        await page.WaitForFunctionAsync(
            "() => document.querySelector('main h1') && !document.querySelector('main').innerText.includes('Loading') && performance.now() - window.__lastChange > 300",
            null, new PageWaitForFunctionOptions { Timeout = 60_000, PollingInterval = 50 });
        var settled = await page.EvaluateAsync<double>("() => window.__lastChange");
        if (run > 0)
        {
            timings.Add(settled);
        }
    }

    timings.Sort();
    rows.Add((template, timings[timings.Count / 2], timings[^1]));
}

Console.WriteLine();
Console.WriteLine($"| page ({deviceCount:N0} devices, {(postgres ? "PostgreSQL" : "SQLite")}) | usable p50 (ms) | max of {runs} (ms) | within 1 s |");
Console.WriteLine("| --- | --- | --- | --- |");
foreach (var (name, p50, max) in rows)
{
    Console.WriteLine($"| {name} | {p50:F0} | {max:F0} | {(max <= 1000 ? "yes" : "NO")} |");
}

var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["at"] = BenchReport.Now(),
    ["provider"] = postgres ? "postgres" : "sqlite",
    ["devices"] = deviceCount,
    ["runs"] = runs,
    ["seed_seconds"] = Math.Round(seedSeconds, 1),
    ["pages"] = rows.Select(r => new Dictionary<string, object> { ["page"] = r.Page, ["p50_ms"] = Math.Round(r.P50), ["max_ms"] = Math.Round(r.Max) }).ToList(),
    ["all_within_1s"] = rows.All(r => r.Max <= 1000),
};
await BenchReport.WriteAsync(results, Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results"), $"console-{(postgres ? "postgres" : "sqlite")}-{deviceCount}", table: false);

await context.CloseAsync();
await app.StopAsync();
await app.DisposeAsync();
if (!postgres)
{
    Directory.Delete(dataDirectory, recursive: true);
}

return 0;

// A real path for a template: a route parameter takes the id of the first resource the API lists
// under the same name (/devices/{Id} → the first of /api/devices); the classroom takes a class.
static async Task<string> PathForAsync(HttpClient api, string template)
{
    var parameter = template.IndexOf('{', StringComparison.Ordinal);
    if (parameter < 0)
    {
        return template;
    }

    var collection = template[..parameter].Trim('/');
    var listed = await api.GetFromJsonAsync<JsonElement>(collection == "classroom" ? "/api/groups?kind=class" : $"/api/{collection}");
    var items = listed.ValueKind == JsonValueKind.Array ? listed : listed.GetProperty("items");
    var id = items[0].GetProperty("id").GetString();
    return template[..parameter] + id + template[(template.IndexOf('}', parameter) + 1)..];
}

static async Task SeedAsync(IDbContextFactory<HomeroomDbContext> dbFactory, int devices)
{
    var random = new Random(2026);
    var now = DateTime.UtcNow;
    const int Schools = 10, ClassSize = 25;
    string[] given = ["Ada", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Mo", "Nia", "Oli", "Pia"];
    string[] family = ["Lovelace", "Okafor", "Silva", "Patel", "Novak", "Wong", "Garcia", "Kim", "Haddad", "Ivanova", "Mensah", "Rossi"];
    string[] zones = ["America/Chicago", "America/New_York"];

    var schools = Enumerable.Range(0, Schools).Select(i => new School { Id = Guid.CreateVersion7(), Name = $"School {i + 1:D2}", Code = $"S{i + 1:D2}", TimeZone = zones[i % 2], CreatedAt = now }).ToList();
    await InsertAsync(dbFactory, db => db.Schools.AddRange(schools));

    var people = new List<Person>(devices);
    var deviceRows = new List<Device>(devices);
    var groups = new List<Group>();
    var members = new List<GroupMember>(devices);
    for (var i = 0; i < devices; i++)
    {
        var school = schools[i % Schools];
        var grade = 1 + (i / Schools % 12);
        var person = new Person
        {
            Id = Guid.CreateVersion7(), SchoolId = school.Id, Kind = PersonKind.Student, GivenName = given[random.Next(given.Length)],
            FamilyName = family[random.Next(family.Length)] + " " + i.ToString(CultureInfo.InvariantCulture), GradeLevel = grade, CreatedAt = now,
        };
        people.Add(person);
        var chromebook = grade >= 3;
        deviceRows.Add(new Device
        {
            Id = Guid.CreateVersion7(), SchoolId = school.Id, Name = $"{(chromebook ? "CB" : "IPAD")}-{i:D6}", Serial = $"SN{i:D8}",
            Platform = chromebook ? DevicePlatform.ChromeOS : DevicePlatform.IPadOS, Model = chromebook ? "Chromebook 11" : "iPad (10th generation)",
            OsVersion = chromebook ? "128.0" : "18.1", AssignedPersonId = person.Id, State = i % 50 == 0 ? DeviceState.Spare : DeviceState.Active,
            EnrolledAt = now.AddDays(-200), LastSeenAt = now.AddMinutes(-random.Next(0, 10_000)), CredentialHash = "bench", BatteryLevel = random.Next(5, 100),
        });
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

    // Something for every detail page: a profile and an out-of-bounds alert.
    await InsertAsync(dbFactory, db => db.Profiles.Add(new Homeroom.Server.Policies.Profile { Id = Guid.CreateVersion7(), Name = "School day", SettingsJson = "{}", CreatedAt = now, UpdatedAt = now }));
    await InsertAsync(dbFactory, db => db.Alerts.Add(new Homeroom.Server.Locations.Alert
    {
        Id = Guid.CreateVersion7(), Kind = Homeroom.Server.Locations.AlertKinds.OutOfBounds, DeviceId = deviceRows[0].Id, RaisedAt = now, Latitude = 41.88, Longitude = -87.63,
    }));

    var audit = Enumerable.Range(0, devices * 2).Select(i => new AuditEntry
    {
        At = now.AddSeconds(-i * 30), ActorName = "admin", Action = i % 3 == 0 ? "device.update" : "command.issue", TargetType = "device",
        TargetId = deviceRows[i % deviceRows.Count].Id.ToString(), SchoolId = deviceRows[i % deviceRows.Count].SchoolId, RemoteAddress = "127.0.0.1",
    });
    foreach (var batch in audit.Chunk(20_000))
    {
        await InsertAsync(dbFactory, db => db.AuditLog.AddRange(batch));
    }

    var activity = Enumerable.Range(0, devices * 5).Select(i => new ActivityRecord
    {
        DeviceId = deviceRows[i % deviceRows.Count].Id, Seq = i / deviceRows.Count + 1, OccurredAt = now.AddSeconds(-i), ReceivedAt = now.AddSeconds(-i),
        Kind = "web", Url = $"https://site{i % 500}.example.org/page", Title = "Page",
    });
    foreach (var batch in activity.Chunk(25_000))
    {
        await InsertAsync(dbFactory, db => db.ActivityEvents.AddRange(batch));
    }
}

static async Task InsertAsync(IDbContextFactory<HomeroomDbContext> dbFactory, Action<HomeroomDbContext> add)
{
    await using var db = await dbFactory.CreateDbContextAsync();
    db.ChangeTracker.AutoDetectChangesEnabled = false;
    add(db);
    await db.SaveChangesAsync();
}
