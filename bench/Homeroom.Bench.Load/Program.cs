using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Simulator.Fleet;
using Npgsql;

// Load benchmark: a real Homeroom server process and a simulated fleet on this machine.
// bench/load/run.sh [--devices N] [--postgres] [--activity-devices N] [--activity-rate R] [--steady-seconds S] [--settle-seconds S]
var options = BenchReport.ParseArguments(args);
var devices = options.Int("devices", 2000);
var activityDevices = options.Int("activity-devices", 400);
var activityRate = double.Parse(options.GetValueOrDefault("activity-rate", "60"), CultureInfo.InvariantCulture);
var steadySeconds = options.Int("steady-seconds", 30);
var classCommands = options.Int("class-commands", 50);
var usePostgres = options.ContainsKey("postgres");
var resultsDirectory = options.GetValueOrDefault("results", "bench/results");

await using var database = usePostgres ? await BenchPostgres.CreateAsync("load") : null;
var postgres = database is null ? null : new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 50 }.ConnectionString;

var results = new Dictionary<string, object>();
var started = Stopwatch.StartNew();
await using (var server = await ServerProcess.StartAsync(options, 5091, postgres))
{
    using var api = server.ApiClient(TimeSpan.FromMinutes(2));
    await Task.Delay(2000);
    var baselineRss = server.ResidentBytes();
    foreach (var (key, value) in await server.RuntimeMemoryAsync())
    {
        results["server_" + key + "_idle"] = value;
    }

    // 1. Connect the fleet.
    var token = await CreateTokenAsync(api, devices + options.Int("second-wave", 0) + activityDevices + 10);
    var sources = devices > 20_000 ? Enumerable.Range(1, (devices / 20_000) + 1).Select(i => IPAddress.Parse($"127.0.0.{i}")).ToList() : [];
    await using var fleet = new Fleet(new FleetOptions
    {
        Server = server.Address, EnrollToken = token, Devices = devices, Seed = 42, AlwaysOnline = true, SlowAnswerChance = 0, HelpRequests = false,
        ActivityInterval = TimeSpan.FromSeconds(60), SourceAddresses = sources, ConnectConcurrency = 128,
    });
    var acks = new AckTracker();
    fleet.Metrics.CommandAcknowledged += acks.OnAcknowledged;
    var connectWatch = Stopwatch.StartNew();
    var cpuAtStart = server.CpuTime();
    fleet.Start();
    var allConnected = await fleet.WaitForConnectedAsync(devices, TimeSpan.FromMinutes(10));
    var connectSeconds = connectWatch.Elapsed.TotalSeconds;
    Console.WriteLine($"connected {fleet.Metrics.Connected}/{devices} in {connectSeconds:F1} s");
    results["connect_all_seconds"] = Math.Round(connectSeconds, 2);
    results["connected"] = fleet.Metrics.Connected;
    results["all_connected"] = allConnected;

    // 2. Memory and CPU at steady heartbeat load.
    await Task.Delay(5000);
    var cpuBefore = server.CpuTime();
    var wall = Stopwatch.StartNew();
    await Task.Delay(TimeSpan.FromSeconds(steadySeconds));
    var cpuUsed = server.CpuTime() - cpuBefore;
    var rss = server.ResidentBytes();
    results["server_rss_baseline_mb"] = Math.Round(baselineRss / 1048576.0, 1);
    results["server_rss_connected_mb"] = Math.Round(rss / 1048576.0, 1);
    results["server_kb_per_device"] = Math.Round((rss - baselineRss) / 1024.0 / Math.Max(1, fleet.Metrics.Connected), 1);
    results["server_cpu_percent_of_one_core_steady"] = Math.Round(100 * cpuUsed.TotalSeconds / wall.Elapsed.TotalSeconds, 1);
    results["heartbeats_per_second"] = Math.Round(devices / 30.0, 0);
    // All the CPU the connect storm cost, its catch-up included (first policies, first location fixes and so on).
    results["server_cpu_seconds_connect_to_steady_end"] = Math.Round((server.CpuTime() - cpuAtStart).TotalSeconds, 1);
    foreach (var (consent, loads) in await server.CounterAsync("homeroom_policy_consent_loads_total", "consent"))
    {
        results[$"consent_loads_{consent}_connected"] = loads;
    }

    foreach (var (trigger, count) in await server.CounterAsync("homeroom_gc_compactions_total", "trigger"))
    {
        // After a connect storm the server hands its leftover memory back (docs/operations.md, Scaling): did it, by now?
        results[$"gc_compactions_{trigger}_connected"] = count;
    }

    var connectedMemory = await server.RuntimeMemoryAsync();
    foreach (var (key, value) in connectedMemory)
    {
        results["server_" + key + "_connected"] = value;
    }

    // What the connect storm (and the 5 s plus steady window after it) allocated per device, garbage included.
    results["server_gc_allocated_kb_per_device_connect"] = Math.Round(
        (connectedMemory["gc_allocated_mb"] - (double)results["server_gc_allocated_mb_idle"]) * 1024 / Math.Max(1, fleet.Metrics.Connected), 1);

    var settleSeconds = options.Int("settle-seconds", 0);
    if (settleSeconds > 0)
    {
        // Beside the figure above, not instead of it: does the resident memory fall by itself once the storm is over
        // (garbage a later full collection takes, or memory the GC keeps committed)?
        await Task.Delay(TimeSpan.FromSeconds(settleSeconds));
        var settledRss = server.ResidentBytes();
        results["settle_seconds"] = settleSeconds;
        results["server_rss_after_settle_mb"] = Math.Round(settledRss / 1048576.0, 1);
        results["server_kb_per_device_after_settle"] = Math.Round((settledRss - baselineRss) / 1024.0 / Math.Max(1, fleet.Metrics.Connected), 1);
        foreach (var (key, value) in await server.RuntimeMemoryAsync())
        {
            results["server_" + key + "_after_settle"] = value;
        }

        foreach (var (trigger, count) in await server.CounterAsync("homeroom_gc_compactions_total", "trigger"))
        {
            results[$"gc_compactions_{trigger}_after_settle"] = count;
        }
    }

    var secondWave = options.Int("second-wave", 0);
    await using var wave = secondWave > 0 ? new Fleet(new FleetOptions
    {
        Server = server.Address, EnrollToken = token, Devices = secondWave, Seed = 43, AlwaysOnline = true, SlowAnswerChance = 0, HelpRequests = false,
        ActivityInterval = TimeSpan.FromSeconds(60), SourceAddresses = sources, ConnectConcurrency = 128,
    }) : null;
    if (wave is not null)
    {
        // What one more device costs: a second fleet connects after the first is measured, and the slope between the two
        // measurements leaves out what the process holds whatever the fleet's size (code the first storm had compiled,
        // the GC's allocation budget, pools), which the figure above spreads over the first fleet's devices. Both
        // measurements are taken after the node's post-storm collection (the server then runs with CompactAtMostEverySeconds 1).
        var firstConnected = fleet.Metrics.Connected;
        var firstRss = server.ResidentBytes();
        var firstMemory = await server.RuntimeMemoryAsync();
        var compactions = (await server.CounterAsync("homeroom_gc_compactions_total", "trigger")).Sum(c => c.Value);
        wave.Start();
        var waveConnected = await wave.WaitForConnectedAsync(secondWave, TimeSpan.FromMinutes(10));
        Console.WriteLine($"second wave: connected {wave.Metrics.Connected}/{secondWave}");
        for (var waited = 0; waited < 60 && (await server.CounterAsync("homeroom_gc_compactions_total", "trigger")).Sum(c => c.Value) <= compactions; waited++)
        {
            await Task.Delay(1000);
        }

        await Task.Delay(TimeSpan.FromSeconds(5 + steadySeconds));
        var secondRss = server.ResidentBytes();
        var secondMemory = await server.RuntimeMemoryAsync();
        var added = wave.Metrics.Connected;
        var total = firstConnected + added;
        var slope = (secondRss - firstRss) / 1024.0 / Math.Max(1, added);
        // Everything the connected process holds above idle that the slope does not explain: a fixed cost.
        var fixedKb = ((secondRss - baselineRss) / 1024.0) - (slope * total);
        results["second_wave_devices"] = secondWave;
        results["second_wave_all_connected"] = waveConnected;
        results["second_wave_connected"] = added;
        results["server_rss_first_wave_mb"] = Math.Round(firstRss / 1048576.0, 1);
        results["server_rss_second_wave_mb"] = Math.Round(secondRss / 1048576.0, 1);
        results["server_gc_heap_mb_first_wave"] = firstMemory["gc_heap_mb"];
        results["server_gc_heap_mb_second_wave"] = secondMemory["gc_heap_mb"];
        results["server_gc_committed_mb_first_wave"] = firstMemory["gc_committed_mb"];
        results["server_gc_committed_mb_second_wave"] = secondMemory["gc_committed_mb"];
        results["server_kb_per_device_second_wave"] = Math.Round((secondRss - baselineRss) / 1024.0 / Math.Max(1, total), 1);
        results["server_kb_per_added_device"] = Math.Round(slope, 1);
        results["server_gc_heap_kb_per_added_device"] = Math.Round((secondMemory["gc_heap_mb"] - firstMemory["gc_heap_mb"]) * 1024 / Math.Max(1, added), 1);
        results["server_fixed_mb_connected"] = Math.Round(fixedKb / 1024, 1);
        results["server_kb_per_device_projected_100000"] = Math.Round(slope + (fixedKb / 100_000), 1);
    }

    if (options.ContainsKey("gcdump"))
    {
        // What the resident memory holds: the live managed objects by type, with the fleet connected.
        results["gcdump_file"] = await HeapDump.CollectAsync(server.Id, resultsDirectory, $"load-{(usePostgres ? "postgres" : "sqlite")}-{devices}");
    }

    // 3. Command round trip to a 30-device class.
    var ids = fleet.Devices.Where(d => d.DeviceId is not null).Select(d => d.DeviceId!.Value).ToList();
    var classId = await BenchApi.CreateGroupAsync(api, "Bench class", "class", ids.Take(30).ToList());
    // The first command after start pays for JIT and EF query compilation; it is reported on its own.
    var (_, coldMs) = await BenchApi.IssueAndWaitAsync(api, acks, "ping", new { groupId = classId }, 30, TimeSpan.FromSeconds(10));
    results["class_command_first_after_start_ms"] = Math.Round(coldMs, 1);
    var classLatencies = new List<double>();
    for (var i = 0; i < classCommands; i++)
    {
        var (ok, ms) = await BenchApi.IssueAndWaitAsync(api, acks, i % 2 == 0 ? "lock" : "unlock", new { groupId = classId }, 30, TimeSpan.FromSeconds(10));
        if (ok)
        {
            classLatencies.Add(ms);
        }
    }

    results["class_command_count"] = classLatencies.Count;
    results["class_command_p50_ms"] = Percentile(classLatencies, 50);
    results["class_command_p99_ms"] = Percentile(classLatencies, 99);

    // 4. Command round trip to every device.
    var allId = await BenchApi.CreateGroupAsync(api, "Bench all", "custom", ids);
    var allLatencies = new List<double>();
    for (var i = 0; i < 3; i++)
    {
        var (ok, ms) = await BenchApi.IssueAndWaitAsync(api, acks, "ping", new { groupId = allId }, devices, TimeSpan.FromSeconds(60));
        allLatencies.Add(ok ? ms : double.NaN);
        await Task.Delay(2000);
    }

    results["all_command_ms"] = allLatencies.Select(x => Math.Round(x, 1)).ToList();
    results["all_command_max_ms"] = allLatencies.Max();

    // 4b. Policy distribution: a profile change assigned to the whole district, from the API call
    // until every connected device has received and applied the new version.
    var policyRounds = new List<(double All, double P50)>();
    var appliedAt = new long[devices];
    fleet.Metrics.PolicyApplied += (_, index, at) => Volatile.Write(ref appliedAt[index], at);
    using (var created = await api.PostAsJsonAsync("/api/profiles", new { name = "Bench filter", settings = new { webFilter = new { blockedSites = new[] { "round-0.example" } } } }))
    {
        created.EnsureSuccessStatusCode();
        var profileId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using (var assigned = await api.PostAsJsonAsync("/api/assignments", new { profileId, level = "district" }))
        {
            assigned.EnsureSuccessStatusCode();
        }

        await WaitAsync(() => fleet.Devices.All(d => d.PolicyVersion > 1), TimeSpan.FromSeconds(60));
        for (var round = 1; round <= 3; round++)
        {
            await Task.Delay(1000);
            var before = fleet.Devices.Select(d => d.PolicyVersion).ToArray();
            var start = TimeProvider.System.GetTimestamp();
            using (var update = await api.PutAsJsonAsync($"/api/profiles/{profileId}", new { name = "Bench filter", settings = new { webFilter = new { blockedSites = new[] { $"round-{round}.example" } } } }))
            {
                update.EnsureSuccessStatusCode();
            }

            var done = await WaitAsync(() => fleet.Devices.Select((d, i) => d.PolicyVersion > before[i]).All(x => x), TimeSpan.FromSeconds(60));
            var latencies = appliedAt.Select(at => TimeProvider.System.GetElapsedTime(start, at).TotalMilliseconds).ToList();
            policyRounds.Add((done ? latencies.Max() : double.NaN, Percentile(latencies, 50)));
        }
    }

    results["policy_to_all_devices_ms"] = policyRounds.Select(r => Math.Round(r.All, 0)).ToList();
    results["policy_to_all_devices_max_ms"] = policyRounds.Max(r => r.All);
    results["policy_per_device_p50_ms"] = Math.Round(policyRounds.Average(r => r.P50), 0);

    // 5. Activity events persisted per second, and the lag until they are visible in the API.
    await using var activityFleet = new Fleet(new FleetOptions
    {
        Server = server.Address, EnrollToken = token, Devices = activityDevices, Seed = 4242, AlwaysOnline = true, SlowAnswerChance = 0, HelpRequests = false,
        FixedEventsPerSecond = activityRate, ConnectConcurrency = 64,
    });
    activityFleet.Start();
    await activityFleet.WaitForConnectedAsync(activityDevices, TimeSpan.FromMinutes(5));
    await Task.Delay(3000);
    var ackedBefore = activityFleet.Metrics.EventsAcknowledged;
    var generatedBefore = activityFleet.Metrics.EventsGenerated;
    var window = Stopwatch.StartNew();
    var probe = activityFleet.Devices[0].DeviceId!.Value;
    var lags = new List<double>();
    long lastSeq = 0;
    while (window.Elapsed < TimeSpan.FromSeconds(20))
    {
        using var response = await api.GetAsync(new Uri($"/api/activity?deviceId={probe}&pageSize=1", UriKind.Relative));
        var page = await response.Content.ReadFromJsonAsync<JsonElement>();
        var items = page.GetProperty("items");
        if (items.GetArrayLength() > 0)
        {
            var newest = items[0];
            var seq = newest.GetProperty("seq").GetInt64();
            if (lastSeq != 0 && seq != lastSeq)
            {
                lags.Add((DateTimeOffset.UtcNow - newest.GetProperty("occurredAt").GetDateTimeOffset()).TotalMilliseconds);
            }

            lastSeq = seq;
        }

        await Task.Delay(50);
    }

    var persistedRate = (activityFleet.Metrics.EventsAcknowledged - ackedBefore) / window.Elapsed.TotalSeconds;
    var offeredRate = (activityFleet.Metrics.EventsGenerated - generatedBefore) / window.Elapsed.TotalSeconds;
    results["activity_offered_per_second"] = Math.Round(offeredRate, 0);
    results["activity_persisted_per_second"] = Math.Round(persistedRate, 0);
    results["activity_visible_lag_p50_ms"] = Percentile(lags, 50);
    results["activity_visible_lag_p99_ms"] = Percentile(lags, 99);

    // 6. The class command again, while the activity load goes on (a teacher locking a class mid-morning).
    var busyLatencies = new List<double>();
    for (var i = 0; i < classCommands; i++)
    {
        var (ok, ms) = await BenchApi.IssueAndWaitAsync(api, acks, i % 2 == 0 ? "lock" : "unlock", new { groupId = classId }, 30, TimeSpan.FromSeconds(10));
        if (ok)
        {
            busyLatencies.Add(ms);
        }
    }

    results["class_command_under_activity_p50_ms"] = Percentile(busyLatencies, 50);
    results["class_command_under_activity_p99_ms"] = Percentile(busyLatencies, 99);
    await activityFleet.StopAsync();
    await fleet.StopAsync();
}

results["database"] = usePostgres ? "postgresql" : "sqlite";
results["devices"] = devices;
results["activity_devices"] = activityDevices;
results["duration_seconds"] = Math.Round(started.Elapsed.TotalSeconds, 0);
results["machine"] = $"{BenchReport.Machine()}, {CpuModel()}";
results["date"] = BenchReport.Now();
await BenchReport.WriteAsync(results, resultsDirectory, $"load-{(usePostgres ? "postgres" : "sqlite")}-{devices}");
return 0;

static async Task<bool> WaitAsync(Func<bool> condition, TimeSpan timeout)
{
    var deadline = DateTime.UtcNow + timeout;
    while (!condition())
    {
        if (DateTime.UtcNow > deadline)
        {
            return false;
        }

        await Task.Delay(10);
    }

    return true;
}

static async Task<string> CreateTokenAsync(HttpClient api, int uses)
{
    using var response = await api.PostAsJsonAsync("/api/enrollment-tokens", new { name = "load benchmark", maxUses = uses });
    response.EnsureSuccessStatusCode();
    return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
}

static double Percentile(List<double> values, int percentile)
{
    if (values.Count == 0)
    {
        return double.NaN;
    }

    var sorted = values.Order().ToList();
    var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1;
    return Math.Round(sorted[Math.Clamp(rank, 0, sorted.Count - 1)], 1);
}

static string CpuModel() =>
    File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
