// App assignment benchmark (issue 16): one app required for the whole district reaches a final status on
// every device. A real server in this process (Kestrel on loopback, SQLite or PostgreSQL), the simulator's
// agent fleet over WebSockets (Chromebooks, agent-managed iPads, Windows and Mac laptops, Android tablets)
// and iPads over Apple MDM (each enrolled through the profile, polling as if pushed, installing with a delay,
// a few refusing). Measures from the assignment until every device's row is installed, failed, no-licence,
// missing or not-applicable; the reconciler's passes and the database time spent inside them.
//   bench/apps/run.sh [--devices 10000] [--ipads 1000] [--provider sqlite|postgres] [--timeout-seconds 900]
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Bench.Apps;
using Homeroom.Bench.Load;
using Homeroom.Rules.Apps;
using Homeroom.Server;
using Homeroom.Server.Apps;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Simulator.Apple;
using Homeroom.Simulator.Fleet;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

var options = BenchReport.ParseArguments(args);
var devices = options.Int("devices", 10_000);
var ipads = Math.Min(devices, options.Int("ipads", 1_000));
var agents = devices - ipads;
var timeout = TimeSpan.FromSeconds(options.Int("timeout-seconds", 900));
var postgres = options.GetValueOrDefault("provider") == "postgres";
const string ApiKey = "hrk_apps-benchmark-key-000000000000000000";
const int Port = 5094;

var dataDirectory = Path.Combine(Path.GetTempPath(), "homeroom-bench-apps-" + Guid.NewGuid().ToString("N")[..8]);
await using var database = postgres ? await BenchPostgres.CreateAsync("apps") : null;
var connectionString = database is null ? null : new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 50, Timeout = 30 }.ConnectionString;

string[] serverArgs =
[
    $"--urls=http://127.0.0.1:{Port}",
    $"--HOMEROOM_BOOTSTRAP_API_KEY={ApiKey}",
    "--HOMEROOM_ADMIN_PASSWORD=benchmark admin passphrase",
    $"--Homeroom:DataDirectory={dataDirectory}",
    "--Logging:LogLevel:Default=Warning",
    "--Homeroom:Agents:EnrollmentsPerMinutePerAddress=100000",
    "--Homeroom:Apple:EnrollmentProfilesPerTokenPerMinute=1000",
    // Shortened so the benchmark measures the server rather than waiting (defaults: 1 min, 5 min, 1 min).
    "--Homeroom:Apps:ReconcileInterval=00:00:05",
    "--Homeroom:Apps:AppListInterval=00:00:10",
    "--Homeroom:Apps:FirstRetry=00:00:10",
    .. connectionString is null ? Array.Empty<string>() : ["--ConnectionStrings:Postgres=" + connectionString],
];

var probe = new ReconcilerProbe();
var app = await HomeroomApp.CreateAsync(serverArgs, builder => probe.Attach(builder));
await app.StartAsync();
var server = new Uri($"http://127.0.0.1:{Port}");
var dbFactory = app.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
using var api = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromMinutes(2) };
api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["at"] = BenchReport.Now(),
    ["provider"] = postgres ? "postgres" : "sqlite",
    ["devices"] = devices,
};

// 1. The agent fleet: the district mix of FleetProfile (about half Chromebooks, a third agent-managed iPads, laptops, tablets).
var clock = Stopwatch.StartNew();
var token = await PostAsync(api, "/api/enrollment-tokens", new { name = "apps benchmark", maxUses = agents + 10 }, "token");
await using var fleet = new Fleet(new FleetOptions
{
    Server = server, EnrollToken = token, Devices = agents, Seed = 16, AlwaysOnline = true, SlowAnswerChance = 0, SafetySignals = false, HelpRequests = false,
    ActivityInterval = TimeSpan.FromSeconds(15), ConnectConcurrency = 64,
});
fleet.Start();
var connected = await fleet.WaitForConnectedAsync(agents, TimeSpan.FromMinutes(10));
Console.WriteLine($"agent devices connected: {fleet.Metrics.Connected:N0}/{agents:N0} in {clock.Elapsed.TotalSeconds:F1} s");
results["agent_devices_connected"] = fleet.Metrics.Connected;
results["agent_connect_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);

// 2. iPads over MDM: profile, Authenticate, TokenUpdate; each downloads in 5 to 60 s; 3 % cannot reach the App Store
// (every install refused), 2 % refuse the first install and take the retry.
clock.Restart();
using var mdmHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromMinutes(2) };
var iPadFleet = new VirtualAppleDevice[ipads];
Parallel.For(0, ipads, i =>
{
    var roll = (i * 7919) % 100;
    iPadFleet[i] = new VirtualAppleDevice(mdmHttp, server, $"00008030-APPS{i:D8}", $"APPS{i:D6}",
        installDelay: TimeSpan.FromSeconds(5 + ((i * 31) % 56)), refuseInstallEvery: roll < 3 ? 1 : roll < 5 ? 1_000 : 0);
});
var mdmTokens = new List<string>();
for (var i = 0; i < (ipads + 39) / 40; i++)
{
    mdmTokens.Add(await PostAsync(api, "/api/enrollment-tokens", new { name = $"iPad cart {i + 1}", maxUses = 40 }, "token"));
}

await Parallel.ForEachAsync(Enumerable.Range(0, ipads), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
{
    var iPad = iPadFleet[i];
    await iPad.InstallEnrollmentProfileAsync(mdmTokens[i / 40], ct);
    (await iPad.AuthenticateAsync()).EnsureSuccessStatusCode();
    (await iPad.TokenUpdateAsync()).EnsureSuccessStatusCode();
});
Console.WriteLine($"MDM iPads enrolled: {ipads:N0} in {clock.Elapsed.TotalSeconds:F1} s");
results["mdm_ipads"] = ipads;
results["mdm_enroll_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);

// Each iPad polls every 5 s (jittered), standing in for Apple's push telling it the server has commands.
using var stopPolling = new CancellationTokenSource();
long polls = 0, pollErrors = 0;
var polling = iPadFleet.Select((iPad, i) => Task.Run(async () =>
{
    await Task.Delay(TimeSpan.FromMilliseconds(i * 5_000.0 / ipads), stopPolling.Token).ContinueWith(_ => { }, TaskScheduler.Default);
    while (!stopPolling.IsCancellationRequested)
    {
        try
        {
            await iPad.PollAsync(cancellationToken: stopPolling.Token);
            Interlocked.Increment(ref polls);
        }
        catch (Exception) when (stopPolling.IsCancellationRequested)
        {
            break; // The measurement is over: a poll cut short is not an error.
        }
        catch (Exception)
        {
            Interlocked.Increment(ref pollErrors);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(4_000 + Random.Shared.Next(2_000)), stopPolling.Token).ContinueWith(_ => { }, TaskScheduler.Default);
    }
})).ToList();

// 3. Wait for every Chromebook's extension snapshot, so its status says what the device reports.
var chromebooks = fleet.Devices.Count(d => d.Spec.Platform == Homeroom.Contracts.Enrollment.DevicePlatform.ChromeOS);
clock.Restart();
int reported;
do
{
    await Task.Delay(1_000);
    await using var db = await dbFactory.CreateDbContextAsync();
    reported = await db.DeviceApps.Where(a => a.Source == DeviceAppSources.Chrome && a.AppId == "homeroom-simulator-extension").Select(a => a.DeviceId).Distinct().CountAsync();
}
while (reported < chromebooks && clock.Elapsed < TimeSpan.FromMinutes(3));
Console.WriteLine($"Chromebooks with an extension snapshot: {reported:N0}/{chromebooks:N0}");
results["chromebooks"] = chromebooks;
results["chromebooks_with_snapshot"] = reported;

// 4. One app for every platform, required for the whole district; licences for all but 2 % of the iPads.
var licences = ipads - (ipads / 50);
var appId = Guid.Parse(await PostAsync(api, "/api/apps", new
{
    name = "Kami", category = "productivity", chromeExtensionId = "ecnphlgnajanjnkcmbpancdjoidceilk", appleAdamId = "361309726", appleBundleId = "com.apple.Pages",
    windowsPackageId = "Kami.Kami", androidPackage = "com.kamihq.kami", licensesPurchased = licences,
}, "id"));
probe.Reset();
var assigned = Stopwatch.StartNew();
await PostAsync(api, $"/api/apps/{appId}/assignments", new { intent = "required", level = "district" }, "id");

var finalStates = new[] { AppInstallState.Installed, AppInstallState.Failed, AppInstallState.NoLicence, AppInstallState.Missing, AppInstallState.NotApplicable };
Dictionary<AppInstallState, int> counts = [];
double? firstRowsSeconds = null, allFinalSeconds = null;
var timeline = new List<string>();
var lastLine = "";
while (assigned.Elapsed < timeout)
{
    await Task.Delay(250);
    await using var db = await dbFactory.CreateDbContextAsync();
    counts = await db.Set<AppDeviceStatus>().Where(r => r.AppId == appId).GroupBy(r => r.State).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count);
    var total = counts.Values.Sum();
    firstRowsSeconds ??= total >= devices ? assigned.Elapsed.TotalSeconds : null;
    var line = string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key} {c.Value}"));
    if (line != lastLine)
    {
        timeline.Add($"{assigned.Elapsed.TotalSeconds:F1} s: {line}");
        lastLine = line;
    }

    if (total >= devices && counts.Where(c => !finalStates.Contains(c.Key)).Sum(c => c.Value) == 0)
    {
        allFinalSeconds = assigned.Elapsed.TotalSeconds;
        break;
    }
}

Console.WriteLine(string.Join(Environment.NewLine, timeline.TakeLast(12)));
var passes = probe.Passes();
var cpu = Process.GetCurrentProcess().TotalProcessorTime;
await stopPolling.CancelAsync();
await Task.WhenAll(polling);

results["rows"] = counts.Values.Sum();
results["states"] = counts.ToDictionary(c => c.Key.ToString(), c => (object)c.Value);
results["all_rows_created_seconds"] = firstRowsSeconds is { } f ? Math.Round(f, 1) : double.NaN;
results["all_final_seconds"] = allFinalSeconds is { } a ? Math.Round(a, 1) : double.NaN;
results["reconciler_passes"] = passes.Count;
results["reconciler_pass_ms_p50"] = Math.Round(Percentile(passes.Select(p => p.Wall.TotalMilliseconds), 50), 1);
results["reconciler_pass_ms_max"] = Math.Round(passes.Count == 0 ? 0 : passes.Max(p => p.Wall.TotalMilliseconds), 1);
results["reconciler_db_ms_total"] = Math.Round(passes.Sum(p => p.Database.TotalMilliseconds), 0);
results["reconciler_db_commands_total"] = passes.Sum(p => p.Commands);
results["reconciler_pass_ms_total"] = Math.Round(passes.Sum(p => p.Wall.TotalMilliseconds), 0);
results["reconciler_first_pass_ms"] = passes.Count == 0 ? 0 : Math.Round(passes[0].Wall.TotalMilliseconds, 1);
results["reconciler_first_pass_db_ms"] = passes.Count == 0 ? 0 : Math.Round(passes[0].Database.TotalMilliseconds, 1);
results["mdm_polls"] = polls;
results["mdm_poll_errors"] = pollErrors;
results["ipads_refusing"] = iPadFleet.Count(d => d.InstallsRefused > 0);
results["process_cpu_seconds"] = Math.Round(cpu.TotalSeconds, 0);
results["timeline"] = timeline;
results["passes"] = passes.Select(p => $"{p.StartedAfter.TotalSeconds:F1} s: {p.Wall.TotalMilliseconds:F0} ms, db {p.Database.TotalMilliseconds:F0} ms in {p.Commands} commands; {p.Summary}").ToList();

Console.WriteLine();
Console.WriteLine($"| {devices:N0} devices, {(postgres ? "PostgreSQL" : "SQLite")} | value |");
Console.WriteLine("| --- | --- |");
Console.WriteLine($"| devices: agent (WebSocket) / MDM iPads | {agents:N0} / {ipads:N0} |");
Console.WriteLine($"| status rows | {results["rows"]:N0} |");
Console.WriteLine($"| every device has a row after | {results["all_rows_created_seconds"]} s |");
Console.WriteLine($"| **every device's status final after** | **{results["all_final_seconds"]} s** |");
foreach (var (state, count) in counts.OrderBy(c => c.Key))
{
    Console.WriteLine($"| {state} | {count:N0} |");
}

Console.WriteLine($"| reconciler passes | {passes.Count} |");
Console.WriteLine($"| first pass (rows created), wall / database | {results["reconciler_first_pass_ms"]} / {results["reconciler_first_pass_db_ms"]} ms |");
Console.WriteLine($"| pass p50 / max | {results["reconciler_pass_ms_p50"]} / {results["reconciler_pass_ms_max"]} ms |");
Console.WriteLine($"| all passes, wall / database | {results["reconciler_pass_ms_total"]} / {results["reconciler_db_ms_total"]} ms ({results["reconciler_db_commands_total"]} commands) |");
Console.WriteLine($"| MDM polls (errors) | {polls:N0} ({pollErrors}) |");
var file = await BenchReport.WriteAsync(results, Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results"), $"apps-{(postgres ? "postgres" : "sqlite")}-{devices}", table: false);

await fleet.StopAsync();
foreach (var iPad in iPadFleet)
{
    iPad.Dispose();
}

await app.StopAsync();
await app.DisposeAsync();
if (!postgres)
{
    Directory.Delete(dataDirectory, recursive: true);
}

return allFinalSeconds is null ? 1 : 0;

static async Task<string> PostAsync(HttpClient api, string path, object body, string property)
{
    using var response = await api.PostAsJsonAsync(path, body);
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    var value = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty(property);
    return value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
}

static double Percentile(IEnumerable<double> values, int percentile)
{
    var sorted = values.Order().ToList();
    return sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(sorted.Count * percentile / 100.0) - 1)];
}
