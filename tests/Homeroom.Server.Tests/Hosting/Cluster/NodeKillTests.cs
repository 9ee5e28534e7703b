using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// Issue 19's failure case at test size: two server nodes as separate processes on one PostgreSQL database behind a
/// real HAProxy, a simulated fleet connected through it, a burst of stored commands issued through the API, and one
/// node killed with SIGKILL in the middle of it. Its devices come back through HAProxy to the other node (with the
/// agents' jittered back-off), every stored command is carried out exactly once on every device (counted on the
/// devices: none lost, none run twice) and acknowledged on the server, and the API answers through HAProxy throughout.
/// The node killed is the one that stored the last command, the instant it answered.
/// bench/cluster-kill runs the same at a larger size.
/// </summary>
public sealed class NodeKillTests
{
    private const int Devices = 240;
    private const int Commands = 16;
    private const int KillAfter = 8;
    private const string ApiKey = "hrk_cluster-kill-test-0123456789";

    [Fact]
    public async Task NodeKilledMidBurst_ItsDevicesReturnThroughHaproxy_AndEveryCommandRunsOncePerDevice()
    {
        var haproxy = HaproxyProcess.Find()
            ?? throw new InvalidOperationException("haproxy is not installed: run scripts/ensure-haproxy.sh (scripts/test.sh does) to install Debian's package.");
        var serverDll = NodeProcess.FindServerDll();
        await using var database = await TestDatabase.CreateMigratedAsync(DatabaseProvider.Postgres);
        var root = database.DataDirectory;
        // PostgreSQL's connections are shared with the other tests running beside this one.
        var postgres = new Npgsql.NpgsqlConnectionStringBuilder(database.PostgresConnectionString) { MaxPoolSize = 20 }.ConnectionString;
        // The killed node may have stored a command and died before its notice left; the others' sweep delivers it.
        var settings = new Dictionary<string, string> { ["Homeroom__Backplane__SweepInterval"] = "00:00:05" };
        await using var a = NodeProcess.Start(serverDll, "node-a", Path.Combine(root, "node-a"), postgres, ApiKey, settings);
        await a.WaitReadyAsync(TimeSpan.FromSeconds(60));
        // After the first: the bootstrap account and key are made by whichever node starts first.
        NodeProcess.CopyClusterKey(Path.Combine(root, "node-a"), Path.Combine(root, "node-b"));
        await using var b = NodeProcess.Start(serverDll, "node-b", Path.Combine(root, "node-b"), postgres, ApiKey, settings);
        await b.WaitReadyAsync(TimeSpan.FromSeconds(60));
        var nodes = new[] { a, b };
        await using var balancer = await HaproxyProcess.StartAsync(haproxy, Path.Combine(root, "haproxy"), nodes.Select(n => (n.Name, n.Port)));
        await Poll.UntilAsync(async () => (await balancer.ServersAsync()).Values.All(s => s.Status == "UP"), TimeSpan.FromSeconds(10));
        // No cookies: HAProxy's node cookie would keep every command on one node (it still says which node answered).
        using var api = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = balancer.Address, Timeout = TimeSpan.FromSeconds(15) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

        var token = await PostAsync(api, "/api/enrollment-tokens", new { name = "kill test", maxUses = Devices });
        await using var fleet = new Fleet(new FleetOptions
        {
            Server = balancer.Address,
            EnrollToken = token.GetProperty("token").GetString(),
            Devices = Devices,
            Seed = 19,
            AlwaysOnline = true,
            SlowAnswerChance = 0,
            SafetySignals = false,
            HelpRequests = false,
            ActivityInterval = TimeSpan.FromMinutes(10),
            ConnectConcurrency = 32,
        });
        fleet.Start();
        (await fleet.WaitForConnectedAsync(Devices, TimeSpan.FromSeconds(60))).ShouldBeTrue($"connected: {fleet.Metrics}");
        // leastconn spreads the fleet over both nodes.
        var before = await balancer.ServersAsync();
        // (A node HAProxy took out during the connect storm would get none: its log says when a node went DOWN.)
        var spread = $"node-a holds {before[a.Name].Sessions}, node-b {before[b.Name].Sessions}; HAProxy's log ends:\n{balancer.LogTail()}";
        before[a.Name].Sessions.ShouldBeGreaterThan(Devices / 4, spread);
        before[b.Name].Sessions.ShouldBeGreaterThan(Devices / 4, spread);
        var deviceIds = fleet.Devices.Select(d => d.DeviceId!.Value).ToList();

        var issued = new List<Guid>();
        var refused = new List<string>();
        var killedAt = Stopwatch.StartNew();
        NodeProcess? victim = null;
        string? lastAnswered = null;
        var sessionsBefore = Array.Empty<int>();
        for (var i = 0; i < Commands; i++)
        {
            if (i == KillAfter)
            {
                // The node that stored the last command dies the moment it answered, while the deliveries of the
                // commands so far are under way (hundreds per command, over both nodes).
                victim = nodes.Single(n => n.Name == lastAnswered);
                sessionsBefore = fleet.Devices.Select(d => d.Sessions).ToArray();
                victim.Kill();
                killedAt.Restart();
            }

            try
            {
                using var response = await api.PostAsJsonAsync("/api/commands", new { kind = "ping", deviceIds }, HomeroomHost.Json);
                if (response.IsSuccessStatusCode)
                {
                    issued.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
                    lastAnswered = AnsweredBy(response);
                }
                else
                {
                    refused.Add($"command {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (HttpRequestException e)
            {
                refused.Add($"command {i}: {e.Message} {e.InnerException?.Message}");
            }
        }

        refused.ShouldBeEmpty($"the API answers through HAProxy while a node dies; HAProxy's log ends:\n{balancer.LogTail()}");
        var survivor = nodes.Single(n => n != victim);
        var everyone = issued.ToHashSet();
        var allDone = await WaitAsync(() => fleet.Devices.All(d => everyone.IsSubsetOf(d.ExecutedCommandsSnapshot())), TimeSpan.FromSeconds(30));
        var backOnline = await WaitAsync(() => fleet.Metrics.Connected == Devices, TimeSpan.FromSeconds(30));
        var reconnectSeconds = killedAt.Elapsed.TotalSeconds;

        var snapshots = fleet.Devices.Select(d => d.ExecutedCommandsSnapshot().Where(everyone.Contains).ToList()).ToList();
        var missing = snapshots.Sum(s => everyone.Count(id => !s.Contains(id)));
        var twice = snapshots.Sum(s => s.GroupBy(id => id).Count(g => g.Count() > 1));
        var moved = fleet.Devices.Where((d, i) => d.Sessions > sessionsBefore[i]).ToList();
        var closes = string.Join(", ", moved.GroupBy(d => d.LastCloseCode).Select(g => $"{g.Key}: {g.Count()}"));
        allDone.ShouldBeTrue($"{missing} deliveries missing after 30 s; {fleet.Metrics}\n{survivor.Name}'s log:\n{survivor.LogTail()}");
        missing.ShouldBe(0);
        twice.ShouldBe(0, "a device carried out a command twice");
        backOnline.ShouldBeTrue($"connected {fleet.Metrics.Connected} of {Devices}");
        // HAProxy's count for the node also holds requests under way at the moment.
        moved.Count.ShouldBeGreaterThan(Devices / 4, $"the killed node's devices connected again ({reconnectSeconds:0.0} s)");
        moved.Count.ShouldBeLessThanOrEqualTo(before[victim!.Name].Sessions, $"only the killed node's devices lost their connection (close codes seen: {closes})");
        moved.ShouldAllBe(d => d.Connected);

        var after = await balancer.ServersAsync();
        after[victim.Name].Status.ShouldStartWith("DOWN");
        after[survivor.Name].Status.ShouldBe("UP");
        after[survivor.Name].Sessions.ShouldBeGreaterThanOrEqualTo(Devices);
        foreach (var id in issued)
        {
            // Acknowledgements reach the database in batches; the killed node's unwritten ones came again from the devices.
            await Poll.UntilAsync(async () => (await GetAsync(api, $"/api/commands/{id}")).GetProperty("counts").GetProperty("succeeded").GetInt32() == Devices, TimeSpan.FromSeconds(15));
        }
    }

    /// <summary>The node HAProxy sent a request to, from the cookie it adds for browsers.</summary>
    private static string? AnsweredBy(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var cookies)
            ? cookies.Select(c => c.Split(';')[0]).Where(c => c.StartsWith("HRNODE=", StringComparison.Ordinal)).Select(c => c["HRNODE=".Length..]).FirstOrDefault()
            : null;

    private static async Task<bool> WaitAsync(Func<bool> condition, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    private static async Task<JsonElement> PostAsync(HttpClient api, string path, object body)
    {
        using var response = await api.PostAsJsonAsync(path, body, HomeroomHost.Json);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement> GetAsync(HttpClient api, string path)
    {
        using var response = await api.GetAsync(new Uri(path, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
