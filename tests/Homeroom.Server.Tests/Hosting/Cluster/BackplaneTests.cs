using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Tests.Infrastructure;
using Npgsql;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// Two server nodes on one PostgreSQL database, each with its own agents over real WebSockets: what is stored on
/// one node reaches devices connected to the other through the LISTEN/NOTIFY backplane.
/// </summary>
public sealed class BackplaneTests
{
    private static readonly TimeSpan Arrival = TimeSpan.FromSeconds(3);

    private static async Task<TestAgent> ConnectAsync(HomeroomHost node, EnrollResponse device)
    {
        var agent = await TestAgent.ConnectAsync(node.AgentUri, device.DeviceId, device.Credential);
        await agent.ExpectWelcomeAsync();
        return agent;
    }

    private static async Task<Guid> IssueAsync(HomeroomHost node, string kind, params Guid[] deviceIds) =>
        (await node.PostJsonAsync<JsonElement>("/api/commands", new { kind, deviceIds })).GetProperty("id").GetGuid();

    private static async Task<int> CountAsync(HomeroomHost node, Guid commandId, string status) =>
        (await node.GetJsonAsync<JsonElement>($"/api/commands/{commandId}")).GetProperty("counts").GetProperty(status).GetInt32();

    // The agent acknowledges only, so the stored status shows that one report.
    private static async Task AcknowledgeAsync(TestAgent agent, Guid commandId) =>
        await agent.SendAsync(new CommandStatusFrame(commandId, CommandStatusValues.Acknowledged));

    private static int TimesReceived(TestAgent agent, Guid commandId)
    {
        lock (agent.Received)
        {
            return agent.Received.Count(c => c.CommandId == commandId);
        }
    }

    [Fact]
    public async Task Command_IssuedOnNodeA_ReachesAgentOnNodeBAndIsAcknowledgedOnce()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        await using var b = await HomeroomHost.StartNodeAsync(a);
        await Listening.WaitAsync(a, b);
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "NODE-B-1");
        await using var agent = await ConnectAsync(b, device);

        var clock = Stopwatch.StartNew();
        var id = await IssueAsync(a, "lock", device.DeviceId);
        var frame = await agent.ExpectAsync<CommandFrame>(Arrival);
        clock.Stop();
        await AcknowledgeAsync(agent, frame.CommandId);

        frame.CommandId.ShouldBe(id);
        frame.Kind.ShouldBe("lock");
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2));
        await Poll.UntilAsync(async () => await CountAsync(a, id, "acknowledged") == 1);
        (await CountAsync(a, id, "sent")).ShouldBe(0);
        (await CountAsync(a, id, "queued")).ShouldBe(0);
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
        TimesReceived(agent, id).ShouldBe(1);
    }

    [Fact]
    public async Task ClassLock_OnNodeA_ReachesTheClassesDevicesOnBothNodes()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        await using var b = await HomeroomHost.StartNodeAsync(a);
        await Listening.WaitAsync(a, b);
        a.Clock.MoveToSchoolDayMorning();
        b.Clock.MoveToSchoolDayMorning();
        var today = a.Clock.GetUtcNow().UtcDateTime.Date;
        var school = (await a.PostJsonAsync<JsonElement>("/api/schools", new { name = "Riverside", timeZone = "UTC" })).GetProperty("id").GetGuid();
        var science = (await a.PostJsonAsync<JsonElement>("/api/groups", new { name = "Science", kind = "class", schoolId = school })).GetProperty("id").GetGuid();
        var teacher = (await a.PostJsonAsync<JsonElement>("/api/people", new { kind = "staff", givenName = "Ana", familyName = "Rivera", schoolId = school })).GetProperty("id").GetGuid();
        (await a.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { teacher } })).EnsureSuccessStatusCode();
        (await a.Client.PutAsJsonAsync($"/api/groups/{science}/schedule", new
        {
            termStart = today.AddDays(-7).ToString("yyyy-MM-dd"),
            termEnd = today.AddDays(30).ToString("yyyy-MM-dd"),
            meetings = new[] { new { days = new[] { "monday", "tuesday", "wednesday", "thursday", "friday" }, start = "09:00", end = "11:00" } },
        })).EnsureSuccessStatusCode();
        var token = await a.CreateTokenAsync();
        var agents = new List<TestAgent>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var student = (await a.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = $"Student{i}", familyName = "Lee", schoolId = school })).GetProperty("id").GetGuid();
                (await a.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
                var device = await a.EnrollAsync(token, $"CLASS-{i}");
                (await a.Client.PatchAsJsonAsync($"/api/devices/{device.DeviceId}", new { assignedPersonId = student })).EnsureSuccessStatusCode();
                // Two on each node.
                agents.Add(await ConnectAsync(i % 2 == 0 ? a : b, device));
            }

            using var rivera = await a.SignInAsNewAccountAsync("rivera", "teacher", teacher);
            using var locked = await rivera.PostAsJsonAsync($"/api/groups/{science}/commands", new { kind = "lock" });
            locked.EnsureSuccessStatusCode();
            var issued = await locked.Content.ReadFromJsonAsync<JsonElement>();
            var id = issued.GetProperty("id").GetGuid();
            issued.GetProperty("targetCount").GetInt32().ShouldBe(4);

            foreach (var agent in agents)
            {
                var frame = await agent.ExpectAsync<CommandFrame>(Arrival);
                frame.CommandId.ShouldBe(id);
                frame.Kind.ShouldBe("lock");
                await AcknowledgeAsync(agent, id);
            }

            await Poll.UntilAsync(async () => await CountAsync(a, id, "acknowledged") == 4);
            agents.ShouldAllBe(agent => TimesReceived(agent, id) == 1);
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ListenerConnectionKilled_CommandIssuedMeanwhile_ArrivesByTheSweepAfterReconnecting()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        // Slow to come back, so the command below is surely issued while nobody on B listens.
        await using var b = await HomeroomHost.StartNodeAsync(a, "Homeroom:Backplane:ReconnectMinDelay=00:00:03");
        await Listening.WaitAsync(a, b);
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "NODE-B-KILL");
        await using var agent = await ConnectAsync(b, device);
        var listener = b.GetService<BackplaneListener>();
        var killed = listener.ListenerProcessId;
        killed.ShouldBeGreaterThan(0);

        await using (var admin = new NpgsqlConnection(a.Database.PostgresConnectionString))
        {
            await admin.OpenAsync();
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend($1)", admin) { Parameters = { new() { Value = killed } } };
            ((bool)(await terminate.ExecuteScalarAsync())!).ShouldBeTrue();
        }

        await Poll.UntilAsync(() => Task.FromResult(!listener.IsListening), TimeSpan.FromSeconds(10));
        var id = await IssueAsync(a, "ping", device.DeviceId);
        listener.IsListening.ShouldBeFalse(); // The notice for it went past B.

        var frame = await agent.ExpectAsync<CommandFrame>(TimeSpan.FromSeconds(15));
        frame.CommandId.ShouldBe(id);
        listener.IsListening.ShouldBeTrue();
        listener.ListenerProcessId.ShouldNotBe(killed);
        await AcknowledgeAsync(agent, id);
        await Poll.UntilAsync(async () => await CountAsync(a, id, "acknowledged") == 1);

        // And live notices work again on the new connection.
        var next = await IssueAsync(a, "lock", device.DeviceId);
        (await agent.ExpectAsync<CommandFrame>(Arrival)).CommandId.ShouldBe(next);
        TimesReceived(agent, id).ShouldBe(1);
    }

    [Fact]
    public async Task SameDevice_ConnectsToAThenB_AsConnectionIsClosedWith4409AndBKeepsTheDevice()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        await using var b = await HomeroomHost.StartNodeAsync(a);
        await Listening.WaitAsync(a, b);
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "TWO-NODES");
        await using var first = await ConnectAsync(a, device);
        // A has heard its own connect notice: any notice for the device after this one is a newer connection.
        var registryA = a.GetService<ConnectionRegistry>();
        await Poll.UntilAsync(() => Task.FromResult(registryA.Get(device.DeviceId) is { ClusterAnnounced: true }), TimeSpan.FromSeconds(10));

        await using var second = await ConnectAsync(b, device);

        var (code, reason) = await first.WaitForCloseAsync(TimeSpan.FromSeconds(5));
        code.ShouldBe(AgentCloseCodes.Replaced);
        reason.ShouldBe(BackplaneListener.ReplacedReason);
        second.State.ShouldBe(System.Net.WebSockets.WebSocketState.Open);
        await Poll.UntilAsync(() => Task.FromResult(!registryA.IsOnline(device.DeviceId)));
        b.GetService<ConnectionRegistry>().IsOnline(device.DeviceId).ShouldBeTrue();

        // A command through A now goes to the device's connection on B.
        var id = await IssueAsync(a, "ping", device.DeviceId);
        (await second.ExpectAsync<CommandFrame>(Arrival)).CommandId.ShouldBe(id);
    }

    private static async Task TerminateListenerAsync(HomeroomHost node, BackplaneListener listener)
    {
        var killed = listener.ListenerProcessId;
        killed.ShouldBeGreaterThan(0);
        await using (var admin = new NpgsqlConnection(node.Database.PostgresConnectionString))
        {
            await admin.OpenAsync();
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend($1)", admin) { Parameters = { new() { Value = killed } } };
            ((bool)(await terminate.ExecuteScalarAsync())!).ShouldBeTrue();
        }

        await Poll.UntilAsync(() => Task.FromResult(!listener.IsListening), TimeSpan.FromSeconds(10));
    }

    // The node named by the device's row in cluster_connections: the one whose connection of it committed last.
    private static async Task<string?> RowNodeAsync(HomeroomHost node, Guid deviceId)
    {
        await using var connection = new NpgsqlConnection(node.Database.PostgresConnectionString);
        await connection.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT node FROM cluster_connections WHERE device_id = $1", connection) { Parameters = { new() { Value = deviceId } } };
        return (string?)await read.ExecuteScalarAsync();
    }

    [Fact]
    public async Task SameDevice_ConnectsToBWhileAsListenerIsDown_AClosesItsOlderConnectionWith4409OnceListeningAgain()
    {
        // A is slow to listen again, so the device surely connects to B while nobody on A listens.
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, "Homeroom:Backplane:ReconnectMinDelay=00:00:05");
        await using var b = await HomeroomHost.StartNodeAsync(a);
        await Listening.WaitAsync(a, b);
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "MISSED-NOTICE");
        await using var first = await ConnectAsync(a, device);
        var registryA = a.GetService<ConnectionRegistry>();
        var registryB = b.GetService<ConnectionRegistry>();
        await Poll.UntilAsync(() => Task.FromResult(registryA.Get(device.DeviceId) is { ClusterAnnounced: true, ClusterWritten: true }), TimeSpan.FromSeconds(10));
        var listenerA = a.GetService<BackplaneListener>();
        await TerminateListenerAsync(a, listenerA);

        await using var second = await ConnectAsync(b, device);
        // B's connect notice is committed (B heard it), and went past A.
        await Poll.UntilAsync(() => Task.FromResult(registryB.Get(device.DeviceId) is { ClusterAnnounced: true, ClusterWritten: true }), TimeSpan.FromSeconds(10));
        listenerA.IsListening.ShouldBeFalse();
        registryA.IsOnline(device.DeviceId).ShouldBeTrue(); // connected twice, for now
        (await RowNodeAsync(a, device.DeviceId)).ShouldBe(b.GetService<BackplanePublisher>().NodeId);

        var (code, reason) = await first.WaitForCloseAsync(TimeSpan.FromSeconds(20));
        code.ShouldBe(AgentCloseCodes.Replaced);
        reason.ShouldBe(BackplaneListener.ReplacedReason);
        listenerA.IsListening.ShouldBeTrue();
        await Poll.UntilAsync(() => Task.FromResult(!registryA.IsOnline(device.DeviceId)));

        // The newer connection stays, whichever node sweeps next: nothing flaps.
        await b.GetService<BackplaneListener>().SweepAsync(CancellationToken.None);
        await listenerA.SweepAsync(CancellationToken.None);
        registryB.Get(device.DeviceId).ShouldNotBeNull().CloseCode.ShouldBeNull();
        second.State.ShouldBe(System.Net.WebSockets.WebSocketState.Open);
        registryA.IsOnline(device.DeviceId).ShouldBeFalse();

        // A command through A now goes to the device's connection on B.
        var id = await IssueAsync(a, "ping", device.DeviceId);
        (await second.ExpectAsync<CommandFrame>(Arrival)).CommandId.ShouldBe(id);
    }

    [Fact]
    public async Task SameDevice_ItsNodeGoneAndItConnectsToA_TheGoneNodesRowDoesNotCloseItOnA()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        var gone = await HomeroomHost.StartNodeAsync(a);
        string goneNode;
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "NODE-GONE");
        try
        {
            await Listening.WaitAsync(a, gone);
            goneNode = gone.GetService<BackplanePublisher>().NodeId;
            await using var before = await ConnectAsync(gone, device);
            await Poll.UntilAsync(() => Task.FromResult(gone.GetService<ConnectionRegistry>().Get(device.DeviceId) is { ClusterWritten: true }), TimeSpan.FromSeconds(10));
        }
        finally
        {
            // Nothing at stop removes the node's rows: they stay as a node killed with SIGKILL leaves them.
            await gone.DisposeAsync();
        }

        (await RowNodeAsync(a, device.DeviceId)).ShouldBe(goneNode);
        await using var agent = await ConnectAsync(a, device);
        var registryA = a.GetService<ConnectionRegistry>();
        await Poll.UntilAsync(() => Task.FromResult(registryA.Get(device.DeviceId) is { ClusterWritten: true }), TimeSpan.FromSeconds(10));

        await a.GetService<BackplaneListener>().SweepAsync(CancellationToken.None);

        (await RowNodeAsync(a, device.DeviceId)).ShouldBe(a.GetService<BackplanePublisher>().NodeId);
        registryA.Get(device.DeviceId).ShouldNotBeNull().CloseCode.ShouldBeNull();
        agent.State.ShouldBe(System.Net.WebSockets.WebSocketState.Open);
    }

    [Fact]
    public async Task Notifications_MalformedOrForeign_AreIgnoredAndTheListenerKeepsWorking()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        await using var b = await HomeroomHost.StartNodeAsync(a);
        await Listening.WaitAsync(a, b);
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "NODE-B-BAD");
        await using var agent = await ConnectAsync(b, device);
        var listener = b.GetService<BackplaneListener>();
        var pid = listener.ListenerProcessId;
        var id = device.DeviceId.ToString("N");
        string[] payloads =
        [
            "",
            "hello",
            "d 0123456789ab " + id + ",not-a-device",
            "d 0123456789ab " + id.ToUpperInvariant(),
            "c 0123456789ab " + id + ":0",
            "c 0123456789ab " + id,
            "s 0123456789ab trailing",
            new string('d', 7_999),
            "d 0123456789ab " + string.Join(',', Enumerable.Repeat(id, 200)) + "," + id[..31],
        ];

        await using (var rogue = new NpgsqlConnection(a.Database.PostgresConnectionString))
        {
            await rogue.OpenAsync();
            foreach (var payload in payloads)
            {
                await using var notify = new NpgsqlCommand("SELECT pg_notify('homeroom_devices', $1)", rogue) { Parameters = { new() { Value = payload } } };
                await notify.ExecuteNonQueryAsync();
            }

            // Well formed but naming a device with nothing pending: nothing is sent.
            await using var empty = new NpgsqlCommand("SELECT pg_notify('homeroom_devices', $1)", rogue) { Parameters = { new() { Value = "d 0123456789ab " + id } } };
            await empty.ExecuteNonQueryAsync();
        }

        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
        agent.State.ShouldBe(System.Net.WebSockets.WebSocketState.Open);
        b.GetService<ConnectionRegistry>().IsOnline(device.DeviceId).ShouldBeTrue();
        var command = await IssueAsync(a, "lock", device.DeviceId);
        (await agent.ExpectAsync<CommandFrame>(Arrival)).CommandId.ShouldBe(command);
        listener.ListenerProcessId.ShouldBe(pid);
    }

    [Fact]
    public async Task Command_StoredByANodeWhoseNoticeNeverLeft_ReachesTheDeviceOnAnotherNodeAtItsNextSweep()
    {
        // Node A stores commands and sends no notice, as a node killed between the two would leave them.
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, "Homeroom:Backplane:Enabled=false");
        await using var b = await HomeroomHost.StartNodeAsync(a, "Homeroom:Backplane:SweepInterval=00:00:01");
        await Listening.WaitAsync(b);
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "SWEEP-1");
        await using var agent = await ConnectAsync(b, device);

        var id = await IssueAsync(a, "lock", device.DeviceId);
        var frame = await agent.ExpectAsync<CommandFrame>(TimeSpan.FromSeconds(5));
        await AcknowledgeAsync(agent, frame.CommandId);

        frame.CommandId.ShouldBe(id);
        await Poll.UntilAsync(async () => await CountAsync(a, id, "acknowledged") == 1);
        // The next sweeps find nothing pending: the command is not sent again.
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromSeconds(2.5))).ShouldBeTrue();
    }

    [Fact]
    public async Task Sqlite_SingleNode_HasNoBackplane()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        await using var agent = await host.ConnectNewAgentAsync();

        host.GetService<BackplanePublisher>().Enabled.ShouldBeFalse();
        host.GetService<BackplaneListener>().IsListening.ShouldBeFalse();
        host.GetService<ConnectionRegistry>().Get(agent.DeviceId)!.ClusterSequence.ShouldBe(0);
    }
}
