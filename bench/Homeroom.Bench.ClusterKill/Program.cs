using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Server.Tests.Hosting.Cluster;
using Homeroom.Simulator.Fleet;

// Cluster kill benchmark: N nodes behind HAProxy, a fleet through it, a command burst, one node killed with SIGKILL.
// Before the burst, a class whose devices sit on every node is locked and unlocked through HAProxy.
// bench/cluster-kill/run.sh [--nodes 3] [--devices 3000] [--commands 30] [--kill-after 15] [--class-commands 50] [--class-on-one-node] [--keep-logs]
// With --commands 0 nothing is killed: only the class across nodes is measured.
var options = BenchReport.ParseArguments(args);
var nodeCount = options.Int("nodes", 3);
var devices = options.Int("devices", 3000);
var commands = options.Int("commands", 30);
var killAfter = options.Int("kill-after", commands / 2);
var classCommands = options.Int("class-commands", 50);
var waitSeconds = options.Int("wait-seconds", 180);
var resultsDirectory = options.GetValueOrDefault("results", "bench/results");
var serverDll = Path.GetFullPath(options.GetValueOrDefault("server-dll") ?? throw new ArgumentException("--server-dll is required (run.sh passes it)"));
var haproxyPath = HaproxyProcess.Find() ?? throw new InvalidOperationException("haproxy is not installed: scripts/ensure-haproxy.sh");
var apiKey = "hrk_bench-" + Guid.NewGuid().ToString("N");
var root = Directory.CreateTempSubdirectory("homeroom-cluster-kill-").FullName;

var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["started"] = BenchReport.Now(),
    ["nodes"] = nodeCount,
    ["devices"] = devices,
    ["commands"] = commands,
    ["deliveries"] = (long)devices * commands,
    ["killed_after_commands"] = killAfter,
};
var nodes = new List<NodeProcess>();
// Dropped last, after every node is gone.
await using var database = await BenchPostgres.CreateAsync("kill");
try
{
    // Every node's pool together stays under PostgreSQL's max_connections (100 by default, 3 kept for superusers): with
    // Npgsql's default of 100 per node, the reconnect storm after the kill exhausted it (see docs/performance.md).
    var postgres = new Npgsql.NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = options.Int("pool", 90 / nodeCount) }.ConnectionString;
    results["pool_per_node"] = options.Int("pool", 90 / nodeCount);
    for (var i = 1; i <= nodeCount; i++)
    {
        if (i > 1)
        {
            NodeProcess.CopyClusterKey(Path.Combine(root, "node-1"), Path.Combine(root, $"node-{i}"));
        }

        var node = NodeProcess.Start(serverDll, $"node-{i}", Path.Combine(root, $"node-{i}"), postgres, apiKey);
        nodes.Add(node);
        if (i == 1)
        {
            // The first migrates the database and creates the bootstrap account and key.
            await node.WaitReadyAsync(TimeSpan.FromMinutes(2));
        }
    }

    foreach (var node in nodes.Skip(1))
    {
        await node.WaitReadyAsync(TimeSpan.FromMinutes(2));
    }

    await using var balancer = await HaproxyProcess.StartAsync(haproxyPath, Path.Combine(root, "haproxy"), nodes.Select(n => (n.Name, n.Port)));
    await Until(async () => (await balancer.ServersAsync()).Values.All(s => s.Status == "UP"), TimeSpan.FromSeconds(20));
    using var api = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = balancer.Address, Timeout = TimeSpan.FromMinutes(2) };
    api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    using var tokenResponse = await api.PostAsJsonAsync("/api/enrollment-tokens", new { name = "cluster kill", maxUses = devices });
    tokenResponse.EnsureSuccessStatusCode();
    var token = (await tokenResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();

    var sources = devices > 20_000 ? Enumerable.Range(1, (devices / 20_000) + 1).Select(i => IPAddress.Parse($"127.0.0.{i + 1}")).ToList() : [];
    await using var fleet = new Fleet(new FleetOptions
    {
        Server = balancer.Address, EnrollToken = token, Devices = devices, Seed = 19, AlwaysOnline = true, SlowAnswerChance = 0,
        SafetySignals = false, HelpRequests = false, ActivityInterval = TimeSpan.FromMinutes(10), SourceAddresses = sources, ConnectConcurrency = 64,
    });
    var connecting = Stopwatch.StartNew();
    fleet.Start();
    if (!await fleet.WaitForConnectedAsync(devices, TimeSpan.FromMinutes(10)))
    {
        throw new InvalidOperationException($"only {fleet.Metrics.Connected} of {devices} connected: {fleet.Metrics}");
    }

    results["connect_all_seconds"] = Math.Round(connecting.Elapsed.TotalSeconds, 1);
    await Task.Delay(2000);
    var victim = nodes[0];
    var before = await balancer.ServersAsync();
    results["connections_per_node_before"] = string.Join(" / ", nodes.Select(n => before[n.Name].Sessions));
    results["node_rss_mb_before"] = string.Join(" / ", nodes.Select(n => Math.Round(n.ResidentBytes() / 1048576.0)));
    var deviceIds = fleet.Devices.Select(d => d.DeviceId!.Value).ToList();
    Console.WriteLine($"{devices} devices connected in {results["connect_all_seconds"]} s; per node {results["connections_per_node_before"]}");

    if (classCommands > 0)
    {
        await ClassAcrossNodesAsync();
    }

    var issued = new List<Guid>();
    var refused = 0;
    var apiSeconds = new List<double>();
    var sinceKill = new Stopwatch();
    for (var i = 0; i < commands; i++)
    {
        if (i == killAfter)
        {
            victim.Kill();
            sinceKill.Start();
            Console.WriteLine($"killed {victim.Name} (pid {victim.ProcessId}) after {i} commands");
        }

        var call = Stopwatch.StartNew();
        try
        {
            using var response = await api.PostAsJsonAsync("/api/commands", new { kind = "ping", deviceIds });
            apiSeconds.Add(call.Elapsed.TotalSeconds);
            if (response.IsSuccessStatusCode)
            {
                issued.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
            }
            else
            {
                refused++;
                Console.WriteLine($"command {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }
        catch (HttpRequestException failure)
        {
            // A refused command is counted and the burst goes on; what was stored is still checked below.
            refused++;
            Console.WriteLine($"command {i}: {failure.Message} {failure.InnerException?.Message}");
        }
    }

    var everyone = issued.ToHashSet();
    double? backOnline = null;
    double? allExecuted = null;
    var waited = Stopwatch.StartNew();
    while (waited.Elapsed.TotalSeconds < waitSeconds && (backOnline is null || allExecuted is null))
    {
        if (backOnline is null && fleet.Metrics.Connected == devices)
        {
            backOnline = sinceKill.Elapsed.TotalSeconds;
        }

        if (allExecuted is null && fleet.Devices.All(d => everyone.IsSubsetOf(d.ExecutedCommandsSnapshot())))
        {
            allExecuted = sinceKill.Elapsed.TotalSeconds;
        }

        await Task.Delay(100);
    }

    var snapshots = fleet.Devices.Select(d => d.ExecutedCommandsSnapshot().Where(everyone.Contains).ToList()).ToList();
    var lost = snapshots.Sum(s => everyone.Count(id => !s.Contains(id)));
    var twice = snapshots.Sum(s => s.GroupBy(id => id).Count(g => g.Count() > 1));
    var moved = fleet.Devices.Count(d => d.Sessions > 1);
    var after = await balancer.ServersAsync();
    var acknowledged = 0L;
    foreach (var id in issued)
    {
        var command = await api.GetFromJsonAsync<JsonElement>($"/api/commands/{id}");
        acknowledged += command.GetProperty("counts").GetProperty("succeeded").GetInt32();
    }

    apiSeconds.Sort();
    results["devices_of_killed_node"] = before[victim.Name].Sessions;
    results["devices_reconnected"] = moved;
    results["seconds_until_all_back_online"] = backOnline is { } b ? Math.Round(b, 2) : "not within the wait";
    results["seconds_until_every_delivery_executed"] = allExecuted is { } e ? Math.Round(e, 2) : "not within the wait";
    results["commands_issued"] = issued.Count;
    results["api_refused_during_burst"] = refused;
    results["api_issue_p50_ms"] = Math.Round(BenchReport.Percentile(apiSeconds, 50) * 1000);
    results["api_issue_max_ms"] = apiSeconds.Count == 0 ? 0 : Math.Round(apiSeconds[^1] * 1000);
    results["deliveries_lost"] = lost;
    results["deliveries_executed_twice"] = twice;
    results["repeat_deliveries_answered_from_memory"] = fleet.Metrics.CommandRepeats;
    results["stored_acknowledgements"] = $"{acknowledged} of {(long)issued.Count * devices}";
    results["connections_per_node_after"] = string.Join(" / ", nodes.Select(n => $"{after[n.Name].Status} {after[n.Name].Sessions}"));
    results["node_rss_mb_after"] = string.Join(" / ", nodes.Select(n => Math.Round(n.ResidentBytes() / 1048576.0)));
    await fleet.StopAsync();

    // A teacher's class of 30 whose devices sit on every node (an equal share each, by the node that holds each device's
    // connection in cluster_connections): each lock or unlock is issued through HAProxy, so it lands on one node and
    // reaches the devices of the others over the backplane. Timed from the API call to the last device's acknowledgement.
    async Task ClassAcrossNodesAsync()
    {
        var byNode = new Dictionary<string, List<Guid>>();
        await using (var connection = new Npgsql.NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var query = new Npgsql.NpgsqlCommand("SELECT device_id, node FROM cluster_connections ORDER BY device_id", connection);
            await using var reader = await query.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var node = reader.GetString(1);
                if (!byNode.TryGetValue(node, out var held))
                {
                    byNode[node] = held = [];
                }

                held.Add(reader.GetGuid(0));
            }
        }

        // --class-on-one-node: all 30 on the first node instead, to compare (a third of the commands land on that node).
        var oneNode = options.ContainsKey("class-on-one-node");
        var share = oneNode ? 30 : 30 / Math.Max(1, byNode.Count);
        var members = byNode.OrderBy(n => n.Key, StringComparer.Ordinal).Take(oneNode ? 1 : byNode.Count).SelectMany(n => n.Value.Take(share)).ToList();
        var acks = new AckTracker();
        fleet.Metrics.CommandAcknowledged += acks.OnAcknowledged;
        var classId = await BenchApi.CreateGroupAsync(api, "Bench class across nodes", "class", members);
        // The first command pays for JIT and query compilation on whichever node takes it.
        var (_, coldMs) = await BenchApi.IssueAndWaitAsync(api, acks, "ping", new { groupId = classId }, members.Count, TimeSpan.FromSeconds(10));
        var latencies = new List<double>();
        var missed = 0;
        for (var i = 0; i < classCommands; i++)
        {
            var (ok, ms) = await BenchApi.IssueAndWaitAsync(api, acks, i % 2 == 0 ? "lock" : "unlock", new { groupId = classId }, members.Count, TimeSpan.FromSeconds(10));
            if (ok)
            {
                latencies.Add(ms);
            }
            else
            {
                missed++;
            }
        }

        fleet.Metrics.CommandAcknowledged -= acks.OnAcknowledged;
        latencies.Sort();
        results["class_devices_per_node"] = string.Join(" / ", byNode.OrderBy(n => n.Key, StringComparer.Ordinal).Select((n, i) => $"{n.Key} {(oneNode && i > 0 ? 0 : Math.Min(share, n.Value.Count))}"));
        results["class_command_first_ms"] = Math.Round(coldMs, 1);
        results["class_commands"] = latencies.Count;
        results["class_commands_not_acknowledged_within_10s"] = missed;
        results["class_command_p50_ms"] = Math.Round(BenchReport.Percentile(latencies, 50), 1);
        results["class_command_p99_ms"] = Math.Round(BenchReport.Percentile(latencies, 99), 1);
        results["class_command_max_ms"] = latencies.Count == 0 ? double.NaN : Math.Round(latencies[^1], 1);
        Console.WriteLine($"class across nodes ({results["class_devices_per_node"]}): p50 {results["class_command_p50_ms"]} ms, p99 {results["class_command_p99_ms"]} ms");
    }
}
finally
{
    foreach (var node in nodes)
    {
        await node.DisposeAsync();
    }

    if (options.ContainsKey("keep-logs"))
    {
        Console.WriteLine($"node and HAProxy logs kept in {root}");
    }
    else
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temp folder.
        }
    }
}

results["finished"] = BenchReport.Now();
await BenchReport.WriteAsync(results, resultsDirectory, "cluster-kill");

static async Task Until(Func<Task<bool>> condition, TimeSpan timeout)
{
    var waited = Stopwatch.StartNew();
    while (!await condition())
    {
        if (waited.Elapsed > timeout)
        {
            throw new TimeoutException("the cluster did not come up");
        }

        await Task.Delay(100);
    }
}
