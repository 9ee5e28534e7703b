using System.Net;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Commands;

public abstract class CommandTests(DatabaseProvider provider) : IAsyncLifetime
{
    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<Guid> IssueAsync(object body)
    {
        var created = await Host.PostJsonAsync<JsonElement>("/api/commands", body);
        return created.GetProperty("id").GetGuid();
    }

    private async Task<JsonElement> CountsAsync(Guid commandId) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/commands/{commandId}")).GetProperty("counts");

    private Task WaitForCountAsync(Guid commandId, string status, int expected) =>
        Poll.UntilAsync(async () => (await CountsAsync(commandId)).GetProperty(status).GetInt32() == expected);

    [Fact]
    public async Task Issue_ToConnectedDevice_DeliversAndTracksEveryStatus()
    {
        await using var agent = await Host.ConnectNewAgentAsync();

        var id = await IssueAsync(new { kind = "message", arguments = new { text = "Eyes up front" }, deviceIds = new[] { agent.DeviceId } });

        var frame = await agent.ExpectAsync<CommandFrame>();
        frame.CommandId.ShouldBe(id);
        frame.Kind.ShouldBe("message");
        frame.Arguments!["text"].ShouldBe("Eyes up front");
        frame.ExpiresAt.ShouldBeGreaterThan(frame.IssuedAt);
        await WaitForCountAsync(id, "sent", 1);
        await agent.AnswerAsync(frame);
        await WaitForCountAsync(id, "succeeded", 1);
        var deliveries = await Host.GetJsonAsync<JsonElement>($"/api/commands/{id}/deliveries");
        deliveries.GetProperty("items")[0].GetProperty("result").GetString().ShouldBe("done");
        var history = await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/commands");
        history.GetProperty("items")[0].GetProperty("status").GetString().ShouldBe("succeeded");
    }

    [Fact]
    public async Task Issue_ToOfflineDevice_IsDeliveredWhenItConnects()
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "OFF-1");
        var id = await IssueAsync(new { kind = "lock", deviceIds = new[] { enrolled.DeviceId } });
        (await CountsAsync(id)).GetProperty("queued").GetInt32().ShouldBe(1);

        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();

        (await agent.HandleNextCommandAsync()).CommandId.ShouldBe(id);
        await WaitForCountAsync(id, "succeeded", 1);
    }

    [Fact]
    public async Task ServerRestart_WithQueuedAndUnansweredCommands_LosesNoneAndRunsNoneTwice()
    {
        var token = await Host.CreateTokenAsync();
        var offline = await Host.EnrollAsync(token, "RST-OFF");
        var online = await Host.EnrollAsync(token, "RST-ON");
        var onlineAgent = await TestAgent.ConnectAsync(Host.AgentUri, online.DeviceId, online.Credential);
        await onlineAgent.ExpectWelcomeAsync();
        var queued = await IssueAsync(new { kind = "lock", deviceIds = new[] { offline.DeviceId, online.DeviceId } });
        var sentButUnanswered = await onlineAgent.ExpectAsync<CommandFrame>();
        onlineAgent.Abort();
        await onlineAgent.DisposeAsync();

        await Host.RestartAsync();

        await using var first = await TestAgent.ConnectAsync(Host.AgentUri, offline.DeviceId, offline.Credential);
        await first.ExpectWelcomeAsync();
        (await first.HandleNextCommandAsync()).CommandId.ShouldBe(queued);
        await using var second = await TestAgent.ConnectAsync(Host.AgentUri, online.DeviceId, online.Credential);
        await second.ExpectWelcomeAsync();
        (await second.HandleNextCommandAsync()).CommandId.ShouldBe(sentButUnanswered.CommandId);
        await WaitForCountAsync(queued, "succeeded", 2);

        // Finished commands are not delivered again, on this server or the next.
        await first.CloseAsync();
        await Host.RestartAsync();
        await using var third = await TestAgent.ConnectAsync(Host.AgentUri, offline.DeviceId, offline.Credential);
        await third.ExpectWelcomeAsync();
        (await third.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
    }

    [Fact]
    public async Task RepeatedDelivery_AgentIgnoresTheRepeat_StatusStaysFinal()
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "REP-1");
        var id = await IssueAsync(new { kind = "ping", deviceIds = new[] { enrolled.DeviceId } });
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        var frame = await agent.ExpectAsync<CommandFrame>();

        // Reconnect before answering: the server must deliver it again (at least once)...
        agent.Abort();
        await agent.DisposeAsync();
        await using var again = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await again.ExpectWelcomeAsync();
        var repeat = await again.ExpectAsync<CommandFrame>();
        repeat.CommandId.ShouldBe(frame.CommandId);
        await again.AnswerAsync(repeat);
        await WaitForCountAsync(id, "succeeded", 1);

        // Late or repeated reports never move a finished status.
        await again.SendAsync(new CommandStatusFrame(id, CommandStatusValues.Failed, Error: "late duplicate"));
        await again.SendAsync(new CommandStatusFrame(id, CommandStatusValues.Acknowledged));
        await Task.Delay(300);
        (await CountsAsync(id)).GetProperty("succeeded").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task AcknowledgedButNeverFinished_IsSentAgainOnTheNextConnection_UntilItsFinalStatusIsStored()
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "ACK-1");
        var id = await IssueAsync(new { kind = "ping", deviceIds = new[] { enrolled.DeviceId } });
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        var frame = await agent.ExpectAsync<CommandFrame>();
        await agent.SendAsync(new CommandStatusFrame(id, CommandStatusValues.Acknowledged));
        await WaitForCountAsync(id, "acknowledged", 1);

        // The final status never arrived (the device's connection, or the node that held it, died first): the next
        // connection is sent the command again, and the agent answers the repeat from its memory.
        agent.Abort();
        await agent.DisposeAsync();
        await using var again = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await again.ExpectWelcomeAsync();
        var repeat = await again.ExpectAsync<CommandFrame>();
        repeat.CommandId.ShouldBe(frame.CommandId);
        await again.AnswerAsync(repeat);
        await WaitForCountAsync(id, "succeeded", 1);

        // Final: not sent again.
        await again.DisposeAsync();
        await using var third = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await third.ExpectWelcomeAsync();
        (await third.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
    }

    [Fact]
    public async Task StatusReport_ForAnotherDevicesCommand_ChangesNothing()
    {
        var token = await Host.CreateTokenAsync();
        var victim = await Host.EnrollAsync(token, "VIC-1");
        await using var attacker = await Host.ConnectNewAgentAsync(token, "ATT-1");
        var id = await IssueAsync(new { kind = "lock", deviceIds = new[] { victim.DeviceId } });

        await attacker.SendAsync(new CommandStatusFrame(id, CommandStatusValues.Succeeded, Result: "forged"));
        await attacker.SendAsync(new CommandStatusFrame(Guid.NewGuid(), CommandStatusValues.Succeeded));
        await Task.Delay(300);

        var counts = await CountsAsync(id);
        counts.GetProperty("queued").GetInt32().ShouldBe(1);
        counts.GetProperty("succeeded").GetInt32().ShouldBe(0);
        attacker.State.ShouldBe(System.Net.WebSockets.WebSocketState.Open);
    }

    [Fact]
    public async Task StatusReport_ForItsOwnCommandStillQueued_IsIgnored()
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "QUE-1");
        // Past its time to live but not yet marked expired: stored as queued, and never sent.
        var neverSent = await IssueAsync(new { kind = "lock", deviceIds = new[] { enrolled.DeviceId }, ttlSeconds = 60 });
        Host.Clock.Advance(TimeSpan.FromMinutes(2));
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        var delivered = await IssueAsync(new { kind = "ping", deviceIds = new[] { enrolled.DeviceId } });
        var frame = await agent.ExpectAsync<CommandFrame>();
        frame.CommandId.ShouldBe(delivered);

        await agent.SendAsync(new CommandStatusFrame(neverSent, CommandStatusValues.Acknowledged));
        await agent.SendAsync(new CommandStatusFrame(neverSent, CommandStatusValues.Succeeded, Result: "locked"));
        await agent.AnswerAsync(frame);

        // The writer applies reports in order: once the later report is stored, the earlier ones were seen.
        await WaitForCountAsync(delivered, "succeeded", 1);
        var counts = await CountsAsync(neverSent);
        (counts.GetProperty("queued").GetInt32() + counts.GetProperty("expired").GetInt32()).ShouldBe(1);
        counts.GetProperty("sent").GetInt32().ShouldBe(0);
        counts.GetProperty("acknowledged").GetInt32().ShouldBe(0);
        counts.GetProperty("succeeded").GetInt32().ShouldBe(0);
        Host.GetService<Homeroom.Server.Devices.DeviceLiveState>().Get(enrolled.DeviceId).Locked.ShouldNotBe(true);
    }

    [Fact]
    public async Task Issue_ToAClass_ReachesStudentsDevicesAndCartDevices()
    {
        var token = await Host.CreateTokenAsync();
        var cls = await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Grade 5 – Room 12", kind = "class" });
        var classId = cls.GetProperty("id").GetGuid();
        var student = await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "Ada", familyName = "Lovelace", externalId = "stu-1" });
        await using var studentDevice = await Host.ConnectNewAgentAsync(token, "STU-DEV");
        await using var cartDevice = await Host.ConnectNewAgentAsync(token, "CART-DEV");
        await using var outsider = await Host.ConnectNewAgentAsync(token, "OUT-DEV");
        (await Host.Client.PatchAsync(new Uri($"/api/devices/{studentDevice.DeviceId}", UriKind.Relative),
            JsonContent(new { assignedPersonId = student.GetProperty("id").GetGuid() }))).EnsureSuccessStatusCode();
        (await Host.PostJsonAsync($"/api/groups/{classId}/members", new { personIds = new[] { student.GetProperty("id").GetGuid() }, deviceIds = new[] { cartDevice.DeviceId } })).EnsureSuccessStatusCode();

        var id = await IssueAsync(new { kind = "lock", groupId = classId });

        (await studentDevice.HandleNextCommandAsync()).CommandId.ShouldBe(id);
        (await cartDevice.HandleNextCommandAsync()).CommandId.ShouldBe(id);
        (await outsider.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        var command = await Host.GetJsonAsync<JsonElement>($"/api/commands/{id}");
        command.GetProperty("targetCount").GetInt32().ShouldBe(2);
        command.GetProperty("targetType").GetString().ShouldBe("group");
        var progress = Host.GetService<CommandProgress>();
        (await progress.WaitForAllAsync(id, TimeSpan.FromSeconds(5))).Complete.ShouldBeTrue();
    }

    [Fact]
    public async Task Command_PastItsTimeToLive_IsExpiredAndNeverDelivered()
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "TTL-1");
        var id = await IssueAsync(new { kind = "lock", deviceIds = new[] { enrolled.DeviceId }, ttlSeconds = 60 });

        Host.Clock.Advance(TimeSpan.FromMinutes(2));
        (await Host.GetService<CommandMaintenance>().ExpireAsync(CancellationToken.None)).ShouldBe(1);

        (await CountsAsync(id)).GetProperty("expired").GetInt32().ShouldBe(1);
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
    }

    [Fact]
    public async Task FinishedCommands_PastRetention_ArePurgedAndUnfinishedKept()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var done = await IssueAsync(new { kind = "ping", deviceIds = new[] { agent.DeviceId } });
        await agent.HandleNextCommandAsync();
        await WaitForCountAsync(done, "succeeded", 1);
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "PUR-OFF");
        var pending = await IssueAsync(new { kind = "lock", deviceIds = new[] { enrolled.DeviceId }, ttlSeconds = 14 * 24 * 3600 });

        Host.Clock.Advance(TimeSpan.FromDays(31));
        var purged = await Host.GetService<CommandMaintenance>().PurgeAsync(CancellationToken.None);

        purged.ShouldBe(1);
        (await Host.Client.GetAsync(new Uri($"/api/commands/{done}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Host.Client.GetAsync(new Uri($"/api/commands/{pending}", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private static StringContent JsonContent(object body) =>
        new(JsonSerializer.Serialize(body, HomeroomHost.Json), System.Text.Encoding.UTF8, "application/json");
}

public sealed class CommandSqliteTests() : CommandTests(DatabaseProvider.Sqlite);

public sealed class CommandPostgresTests() : CommandTests(DatabaseProvider.Postgres);

/// <summary>Refused commands store nothing, so these cases share one server (<see cref="SharedHost"/>): none is ever stored, so the count stays 0.</summary>
public abstract class CommandValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("{\"kind\":\"selfDestruct\",\"deviceIds\":[\"0195a3b2-0000-7000-8000-000000000001\"]}", "kind")]
    [InlineData("{\"kind\":\"message\",\"deviceIds\":[\"0195a3b2-0000-7000-8000-000000000001\"]}", "arguments.text")]
    [InlineData("{\"kind\":\"openUrl\",\"arguments\":{\"url\":\"javascript:alert(1)\"},\"deviceIds\":[\"0195a3b2-0000-7000-8000-000000000001\"]}", "arguments.url")]
    [InlineData("{\"kind\":\"lock\"}", "target")]
    [InlineData("{\"kind\":\"lock\",\"deviceIds\":[\"0195a3b2-0000-7000-8000-000000000001\"],\"ttlSeconds\":0}", "ttlSeconds")]
    [InlineData("{\"kind\":\"lock\",\"deviceIds\":[\"0195a3b2-0000-7000-8000-000000000001\"]}", "deviceIds")]
    public async Task Issue_InvalidRequest_Answers400WithTheFieldAndStoresNothing(string body, string field)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");

        using var response = await Host.Client.PostAsync(new Uri("/api/commands", UriKind.Relative), content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        problem.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(await response.Content.ReadAsStringAsync());
        (await Host.GetJsonAsync<JsonElement>("/api/commands")).GetProperty("total").GetInt32().ShouldBe(0);
    }
}

public sealed class CommandValidationSqliteTests(SharedSqliteHost shared) : CommandValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class CommandValidationPostgresTests(SharedPostgresHost shared) : CommandValidationTests(shared), IClassFixture<SharedPostgresHost>;
