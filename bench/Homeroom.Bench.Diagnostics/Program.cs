// Diagnostics benchmark (issue 21): a server process (SQLite, or PostgreSQL with --provider postgres) and N simulated devices (1,000 by default) connected
// over loopback WebSockets, all in one group. One staff request asks the group for diagnostics
// (POST /api/groups/{id}/diagnostics: one diagnose command, delivered to every connected device); each simulated
// device gathers its report (with a real HEAD to the server's /healthz) and sends it as a diagnostics frame
// before its succeeded status. Measured: from the request until every report is stored (the last report's
// receivedAt, the server's clock) and until every report is readable (the staff's GET /api/groups/{id}/diagnostics
// shows each device's newest report answering this command, polled every 100 ms). Target: at most 10 s.
// Prints a table; JSON goes to bench/results/.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Simulator.Fleet;

const double TargetSeconds = 10;
var options = BenchReport.ParseArguments(args);
var devices = options.Int("devices", 1000);
var runs = options.Int("runs", 3);
var postgres = options.GetValueOrDefault("provider") == "postgres";
var provider = postgres ? "postgres" : "sqlite";
await using var database = postgres ? await BenchPostgres.CreateAsync("diagnostics") : null;
var resultsDirectory = options.GetValueOrDefault("results", "bench/results");
// One district site to test, as a district would configure (the simulator simulates that test; the server test is real).
Environment.SetEnvironmentVariable("Homeroom__Diagnostics__Sites__0", "https://learn.example.org/");

var rows = new List<(int Run, double RequestMs, double AllReceivedSeconds, double FirstStoredSeconds, double MedianStoredSeconds, double StoredSeconds, double ReadableSeconds, int Polls, double ReadP50Ms, double ReadMaxMs, int Reports, int FailedChecks, double CpuPercent)>();
var idleReads = new List<double>();
await using (var server = await ServerProcess.StartAsync(options, 5097, database?.ConnectionString))
{
    using var api = server.ApiClient(TimeSpan.FromMinutes(2));

    using var groupCreated = await api.PostAsJsonAsync("/api/groups", new { name = "Diagnostics benchmark", kind = "custom" });
    groupCreated.EnsureSuccessStatusCode();
    var groupId = (await groupCreated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    using var tokenCreated = await api.PostAsJsonAsync("/api/enrollment-tokens", new { name = "diagnostics benchmark", maxUses = devices + 10 });
    tokenCreated.EnsureSuccessStatusCode();
    var token = (await tokenCreated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;

    await using var fleet = new Fleet(new FleetOptions
    {
        Server = server.Address, EnrollToken = token, Devices = devices, Seed = 21, AlwaysOnline = true, SlowAnswerChance = 0, HelpRequests = false,
        ActivityInterval = TimeSpan.FromSeconds(60), ConnectConcurrency = 64,
    });
    // When each device got the command (its acknowledgement, on the device's side): the delivery part of the time.
    var acknowledged = new ConcurrentDictionary<Guid, ConcurrentBag<long>>();
    fleet.Metrics.CommandAcknowledged += (commandId, _, timestamp) => acknowledged.GetOrAdd(commandId, _ => []).Add(timestamp);
    var connecting = Stopwatch.StartNew();
    fleet.Start();
    if (!await fleet.WaitForConnectedAsync(devices, TimeSpan.FromMinutes(5)))
    {
        throw new InvalidOperationException($"Only {fleet.Metrics.Connected} of {devices} devices connected.");
    }

    Console.WriteLine($"connected {devices:N0} devices in {connecting.Elapsed.TotalSeconds:F1} s");
    foreach (var chunk in fleet.Devices.Select(d => d.DeviceId!.Value).Chunk(1000))
    {
        (await api.PostAsJsonAsync($"/api/groups/{groupId}/members", new { deviceIds = chunk })).EnsureSuccessStatusCode();
    }

    // Let enrollment's first policies and inventories settle before measuring.
    await Task.Delay(TimeSpan.FromSeconds(5));
    for (var run = 1; run <= runs; run++)
    {
        var cpuBefore = server.CpuTime();
        var startedAt = Stopwatch.GetTimestamp();
        var watch = Stopwatch.StartNew();
        using var requested = await api.PostAsync($"/api/groups/{groupId}/diagnostics", null);
        var requestMs = watch.Elapsed.TotalMilliseconds;
        if (requested.StatusCode != System.Net.HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"The request was refused: {(int)requested.StatusCode} {await requested.Content.ReadAsStringAsync()}");
        }

        var answer = await requested.Content.ReadFromJsonAsync<JsonElement>();
        var commandId = answer.GetProperty("commandId").GetGuid();
        var requestedAt = answer.GetProperty("requestedAt").GetDateTime();
        if (answer.GetProperty("deviceCount").GetInt32() != devices)
        {
            throw new InvalidOperationException($"The command went to {answer.GetProperty("deviceCount").GetInt32()} devices, not {devices}.");
        }

        var reads = new List<double>();
        JsonElement list = default;
        var done = 0;
        while (watch.Elapsed < TimeSpan.FromSeconds(120))
        {
            var read = Stopwatch.StartNew();
            list = await api.GetFromJsonAsync<JsonElement>($"/api/groups/{groupId}/diagnostics");
            reads.Add(read.Elapsed.TotalMilliseconds);
            done = list.EnumerateArray().Count(d => d.GetProperty("latest") is { ValueKind: JsonValueKind.Object } latest && latest.GetProperty("commandId").GetGuid() == commandId);
            if (done == devices)
            {
                break;
            }

            await Task.Delay(100);
        }

        var readable = watch.Elapsed.TotalSeconds;
        var cpu = server.CpuTime() - cpuBefore;
        if (done != devices)
        {
            throw new TimeoutException($"Only {done} of {devices} reports were readable after 120 s.");
        }

        var stored = list.EnumerateArray().Select(d => (d.GetProperty("latest").GetProperty("receivedAt").GetDateTime() - requestedAt).TotalSeconds).Order().ToList();
        var lastAck = acknowledged.TryGetValue(commandId, out var acks) && acks.Count == devices ? Stopwatch.GetElapsedTime(startedAt, acks.Max()).TotalSeconds : double.NaN;
        var failedChecks = list.EnumerateArray().Sum(d => d.GetProperty("latest").GetProperty("failedChecks").GetInt32());
        reads.Sort();
        rows.Add((run, requestMs, lastAck, stored[0], stored[stored.Count / 2], stored[^1], readable, reads.Count, reads[reads.Count / 2], reads[^1], done, failedChecks,
            100 * cpu.TotalSeconds / readable));
        Console.WriteLine($"run {run}: {done} reports readable in {readable:F2} s");
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    // The group's list on a quiet server, for comparison with the reads made while reports poured in.
    for (var i = 0; i < 5; i++)
    {
        var read = Stopwatch.StartNew();
        await api.GetStringAsync($"/api/groups/{groupId}/diagnostics");
        idleReads.Add(read.Elapsed.TotalMilliseconds);
    }

    idleReads.Sort();

    // One report as staff read it, to show what the devices sent.
    var sample = await api.GetStringAsync($"/api/devices/{fleet.Devices[0].DeviceId}/diagnostics");
    Console.WriteLine($"sample report ({fleet.Devices[0].Spec.Platform}): {sample.Length:N0} characters as staff read it");
}

Console.WriteLine();
Console.WriteLine($"| run ({devices:N0} devices, {(postgres ? "PostgreSQL" : "SQLite")}) | request answered (ms) | all devices got it (s) | first stored (s) | half stored (s) | all stored (s) | all readable (s) | list reads | list read p50 (ms) | list read max (ms) | reports | failed checks | server CPU (% of one core) | within {TargetSeconds:F0} s |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
foreach (var r in rows)
{
    Console.WriteLine($"| {r.Run} | {r.RequestMs:F0} | {r.AllReceivedSeconds:F2} | {r.FirstStoredSeconds:F2} | {r.MedianStoredSeconds:F2} | {r.StoredSeconds:F2} | {r.ReadableSeconds:F2} | {r.Polls} | {r.ReadP50Ms:F0} | {r.ReadMaxMs:F0} | {r.Reports:N0} | {r.FailedChecks} | {r.CpuPercent:F0} | {(r.ReadableSeconds <= TargetSeconds ? "yes" : "NO")} |");
}

Console.WriteLine($"the group's list of {devices:N0} devices on a quiet server: p50 {idleReads[idleReads.Count / 2]:F0} ms, max {idleReads[^1]:F0} ms (5 reads)");

var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["at"] = BenchReport.Now(),
    ["provider"] = provider,
    ["devices"] = devices,
    ["runs"] = rows.Select(r => new Dictionary<string, object>
    {
        ["run"] = r.Run, ["request_ms"] = Math.Round(r.RequestMs, 1), ["all_devices_got_it_seconds"] = Math.Round(r.AllReceivedSeconds, 2),
        ["first_stored_seconds"] = Math.Round(r.FirstStoredSeconds, 2), ["half_stored_seconds"] = Math.Round(r.MedianStoredSeconds, 2), ["all_stored_seconds"] = Math.Round(r.StoredSeconds, 2),
        ["all_readable_seconds"] = Math.Round(r.ReadableSeconds, 2), ["list_reads"] = r.Polls, ["list_read_p50_ms"] = Math.Round(r.ReadP50Ms, 1),
        ["list_read_max_ms"] = Math.Round(r.ReadMaxMs, 1), ["reports"] = r.Reports, ["failed_checks"] = r.FailedChecks,
        ["server_cpu_percent_of_one_core"] = Math.Round(r.CpuPercent, 1),
    }).ToList(),
    ["idle_list_read_p50_ms"] = Math.Round(idleReads[idleReads.Count / 2], 1),
    ["within_10s"] = rows.All(r => r.ReadableSeconds <= TargetSeconds),
};
await BenchReport.WriteAsync(results, resultsDirectory, $"diagnostics-{provider}-{devices}", table: false);
return 0;
