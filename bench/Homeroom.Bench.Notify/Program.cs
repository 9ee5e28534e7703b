// Notification benchmark: how long from an out-of-bounds report reaching the alert service until
// every open console connection has the notification in hand? Starts the server in this process on
// loopback (SQLite in a temporary directory), enrolls one device, and subscribes N listeners to the
// notifier exactly as each console connection does (one subscription, one reader loop each). Per run
// the device is reported out of bounds (the alert is stored, audited, published) and then back; the
// time is taken from the report to each listener's read. A share of the listeners never read at all
// (a dead connection), to show they do not hold up the others.
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server;
using Homeroom.Server.Accounts;
using Homeroom.Server.Locations;
using Homeroom.Server.Notifications;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

var options = BenchReport.ParseArguments(args);
var runs = options.Int("runs", 20);
var stuckPercent = options.Int("stuck-percent", 10);
var sizes = (options.GetValueOrDefault("listeners") ?? "1,100,1000,5000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
const string ApiKey = "hrk_bench-notify-key-0123456789abcdef";

var dataDirectory = Path.Combine(Path.GetTempPath(), "homeroom-bench-notify-" + Guid.NewGuid().ToString("N")[..8]);
var app = await HomeroomApp.CreateAsync(
[
    "--urls=http://127.0.0.1:0",
    "--HOMEROOM_ADMIN_PASSWORD=benchmark admin passphrase",
    $"--HOMEROOM_BOOTSTRAP_API_KEY={ApiKey}",
    $"--Homeroom:DataDirectory={dataDirectory}",
    "--Logging:LogLevel:Default=Error",
]);
await app.StartAsync();
var baseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
using var api = new HttpClient { BaseAddress = baseAddress };
api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

var school = await IdAsync("/api/schools", new { name = "Bench Middle", timeZone = "UTC" });
var token = (await PostAsync("/api/enrollment-tokens", new { name = "bench", schoolId = school })).GetProperty("token").GetString()!;
using var enroll = await api.PostAsJsonAsync("/agent/v1/enroll", new EnrollRequest(token, DevicePlatform.ChromeOS, "SN-BENCH-1", "Bench", "Bench", "1.0"), AgentJsonContext.Default.EnrollRequest);
enroll.EnsureSuccessStatusCode();
var device = (await enroll.Content.ReadFromJsonAsync(AgentJsonContext.Default.EnrollResponse))!.DeviceId;

var alerts = app.Services.GetRequiredService<AlertService>();
var notifier = app.Services.GetRequiredService<Notifier>();
var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["at"] = BenchReport.Now(),
    ["runs"] = runs,
    ["stuckPercent"] = stuckPercent,
};
Console.WriteLine($"| listeners (of which never reading) | report → first listener p50 ms | report → last listener p50 ms | p95 ms | max ms |");
Console.WriteLine("| --- | --- | --- | --- | --- |");

foreach (var size in sizes)
{
    var stuck = size * stuckPercent / 100;
    var scope = new StaffScope(Guid.NewGuid(), "bench", "Bench", StaffRole.SchoolAdmin, school, null);
    var subscriptions = Enumerable.Range(0, size).Select(_ => notifier.Subscribe(scope)).ToList();
    var readers = subscriptions.Skip(stuck).ToList();
    var first = new List<double>();
    var last = new List<double>();

    for (var run = 0; run < runs + 1; run++)
    {
        var arrived = new long[readers.Count];
        var tasks = readers.Select((s, i) => Task.Run(async () =>
        {
            // A console connection's loop: read the next change, note when it arrived.
            while (true)
            {
                var update = await s.Updates.ReadAsync();
                if (update.Change == NotificationChange.Raised)
                {
                    arrived[i] = Stopwatch.GetTimestamp();
                    return;
                }
            }
        })).ToArray();

        var start = Stopwatch.GetTimestamp();
        alerts.Report(new BoundsReport(device, true, null, 47.64, -122.3));
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
        if (run > 0)
        {
            // The first run warms up (JIT, connection pool) and is not counted.
            first.Add(Stopwatch.GetElapsedTime(start, arrived.Min()).TotalMilliseconds);
            last.Add(Stopwatch.GetElapsedTime(start, arrived.Max()).TotalMilliseconds);
        }

        // Back in bounds: the alert clears (an update every listener receives), ready for the next run.
        var cleared = readers.Select(s => s.Updates.ReadAsync().AsTask()).ToArray();
        alerts.Report(new BoundsReport(device, false, null, 47.60, -122.3));
        await Task.WhenAll(cleared).WaitAsync(TimeSpan.FromSeconds(60));
    }

    foreach (var s in subscriptions)
    {
        s.Dispose();
    }

    var row = new
    {
        listeners = size,
        neverReading = stuck,
        firstP50Ms = Percentile(first, 50),
        lastP50Ms = Percentile(last, 50),
        lastP95Ms = Percentile(last, 95),
        lastMaxMs = last.Max(),
    };
    results[$"listeners-{size}"] = row;
    Console.WriteLine($"| {size} ({stuck}) | {row.firstP50Ms:F2} | {row.lastP50Ms:F2} | {row.lastP95Ms:F2} | {row.lastMaxMs:F2} |");
}

await BenchReport.WriteAsync(results, Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results"), "notify", table: false);
await app.StopAsync();
await app.DisposeAsync();
try
{
    Directory.Delete(dataDirectory, recursive: true);
}
catch (IOException)
{
}

static double Percentile(List<double> values, int percentile)
{
    var sorted = values.Order().ToList();
    return Math.Round(sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)], 2);
}

async Task<JsonElement> PostAsync(string path, object body)
{
    using var response = await api.PostAsJsonAsync(path, body);
    response.EnsureSuccessStatusCode();
    return await response.Content.ReadFromJsonAsync<JsonElement>();
}

async Task<Guid> IdAsync(string path, object body) => (await PostAsync(path, body)).GetProperty("id").GetGuid();
