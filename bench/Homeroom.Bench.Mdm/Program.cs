// Apple MDM benchmark: the server's CPU per enrollment-profile download (each mints a device
// identity), then N simulated iPads enroll through the profile and the server's check-in and command
// endpoints are driven as hard as the devices can: check-ins per second, idle polls per second, and a
// command to every device until all have answered. Prints a table, writes JSON.
//   bench/mdm/run.sh [--devices 1000] [--concurrency 64] [--seconds 10] [--downloads 200]
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Simulator.Apple;

var options = BenchReport.ParseArguments(args);
var devices = options.Int("devices", 1000);
var concurrency = options.Int("concurrency", 64);
var seconds = options.Int("seconds", 10);
var downloads = options.Int("downloads", 200);
var resultsDirectory = options.GetValueOrDefault("results", "bench/results");var results = new Dictionary<string, object>();

await using (var server = await ServerProcess.StartAsync(options, 5092))
{
    using var api = server.ApiClient(TimeSpan.FromMinutes(5));
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { Timeout = TimeSpan.FromMinutes(2) };
    // One token per 40 devices, as one per cart or class: each token may download a limited number of profiles a minute.
    async Task<List<string>> TokensAsync(string name, int count)
    {
        var created = new List<string>();
        for (var i = 0; i < (count + 39) / 40; i++)
        {
            using var response = await api.PostAsJsonAsync("/api/enrollment-tokens", new { name = $"{name} {i}", maxUses = 40 });
            created.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!);
        }

        return created;
    }

    var tokens = await TokensAsync("mdm benchmark", devices);
    var downloadTokens = await TokensAsync("profile downloads", downloads + 1);

    var fleet = Enumerable.Range(0, devices)
        .Select(i => new VirtualAppleDevice(http, server.Address, $"00008030-BENCH{i:D8}", $"BNCH{i:D6}"))
        .ToList();

    // 0. Profile downloads alone: the server's CPU time per download (the identity it issues dominates).
    using (var warm = await http.GetAsync(new Uri(server.Address, "/mdm/enroll?token=" + Uri.EscapeDataString(downloadTokens[0]))))
    {
        warm.EnsureSuccessStatusCode();
    }

    var cpuBefore = server.CpuTime();
    var watchDownloads = Stopwatch.StartNew();
    await Parallel.ForEachAsync(Enumerable.Range(0, downloads), new ParallelOptions { MaxDegreeOfParallelism = Math.Min(concurrency, 8) }, async (i, _) =>
    {
        using var response = await http.GetAsync(new Uri(server.Address, "/mdm/enroll?token=" + Uri.EscapeDataString(downloadTokens[i / 40])));
        response.EnsureSuccessStatusCode();
    });
    results["profile_download_cpu_ms"] = Math.Round((server.CpuTime() - cpuBefore).TotalMilliseconds / downloads, 1);
    results["profile_downloads_per_second"] = Math.Round(downloads / watchDownloads.Elapsed.TotalSeconds, 1);

    // 1. Enrollment: download the profile (the server issues an identity), Authenticate, TokenUpdate.
    var watch = Stopwatch.StartNew();
    await Parallel.ForEachAsync(Enumerable.Range(0, devices), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, _) =>
    {
        var device = fleet[i];
        await device.InstallEnrollmentProfileAsync(tokens[i / 40]);
        (await device.AuthenticateAsync()).EnsureSuccessStatusCode();
        (await device.TokenUpdateAsync()).EnsureSuccessStatusCode();
    });
    results["enroll_seconds"] = Math.Round(watch.Elapsed.TotalSeconds, 2);
    results["enrollments_per_second"] = Math.Round(devices / watch.Elapsed.TotalSeconds, 1);

    // 2. Check-ins: TokenUpdates (each with a new token, as after a restore) for a fixed time.
    var checkIns = await ForAsync(seconds, concurrency, fleet, async device =>
    {
        device.PushToken = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        (await device.TokenUpdateAsync()).EnsureSuccessStatusCode();
        return 1;
    });
    results["checkins_per_second"] = Math.Round(checkIns, 0);

    // 3. Idle polls with nothing queued.
    var polls = await ForAsync(seconds, concurrency, fleet, async device => (await device.PollAsync()) + 1);
    results["idle_polls_per_second"] = Math.Round(polls, 0);

    // 4. One command to every device: from the API call until every device has fetched and answered it.
    var group = await api.PostAsJsonAsync("/api/groups", new { name = "All iPads", kind = "custom" });
    var groupId = (await group.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    var ids = new List<Guid>();
    for (var page = 1; ids.Count < devices; page++)
    {
        var list = await api.GetFromJsonAsync<JsonElement>($"/api/devices?pageSize=500&page={page}");
        ids.AddRange(list.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("id").GetGuid()));
    }

    foreach (var chunk in ids.Chunk(1000))
    {
        (await api.PostAsJsonAsync($"/api/groups/{groupId}/members", new { deviceIds = chunk })).EnsureSuccessStatusCode();
    }

    var rounds = new List<double>();
    for (var round = 0; round < 3; round++)
    {
        watch.Restart();
        (await api.PostAsJsonAsync("/api/commands", new { kind = "ping", groupId })).EnsureSuccessStatusCode();
        await Parallel.ForEachAsync(fleet, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (device, _) => await device.PollAsync());
        rounds.Add(watch.Elapsed.TotalSeconds);
    }

    // Each device made three requests per round: Idle (gets the command), Acknowledged (gets nothing more).
    results["command_to_all_seconds"] = rounds.Select(r => Math.Round(r, 2)).ToList();
    results["command_round_trips_per_second"] = Math.Round(devices / rounds.Min(), 0);
    results["server_rss_mb"] = Math.Round(server.ResidentBytes() / 1048576.0, 0);
    fleet.ForEach(d => d.Dispose());
}

results["devices"] = devices;
results["concurrency"] = concurrency;
results["downloads"] = downloads;
results["machine"] = BenchReport.Machine();
results["date"] = BenchReport.Now();
await BenchReport.WriteAsync(results, resultsDirectory, $"mdm-{devices}");
return 0;

// Runs an action over the fleet (round robin) with fixed concurrency for a time; returns completed actions per second.
static async Task<double> ForAsync(int seconds, int concurrency, List<VirtualAppleDevice> fleet, Func<VirtualAppleDevice, Task<int>> action)
{
    var watch = Stopwatch.StartNew();
    long done = 0;
    var next = -1;
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (watch.Elapsed.TotalSeconds < seconds)
        {
            var device = fleet[(int)((uint)Interlocked.Increment(ref next) % (uint)fleet.Count)];
            Interlocked.Add(ref done, await action(device));
        }
    }));
    return done / watch.Elapsed.TotalSeconds;
}
