using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.SelfUpdates;

public abstract class AgentPilotHost(DatabaseProvider provider) : SharedHost(provider);

public sealed class AgentPilotSqliteHost() : AgentPilotHost(DatabaseProvider.Sqlite);

public sealed class AgentPilotPostgresHost() : AgentPilotHost(DatabaseProvider.Postgres);

/// <summary>
/// A pilot group for agent builds over the real server and real agent WebSockets: the pilot group's devices are offered
/// the pilot build and the others the current one, promoting offers it to everyone, withdrawing offers the pilot's
/// devices the current build again (their waiting pilot offer is not sent again), the hold on promotion, and what is
/// refused. Each test leaves no pilot behind (one pilot per runtime, and the tests share a server).
/// </summary>
public abstract class AgentPilotTests(AgentPilotHost shared)
{
    private static int _minor = 10;
    private static int _fill = 10;

    private HomeroomHost Host => shared.Host;

    // Each build a newer version and distinct bytes (offers are told apart by SHA-256).
    private static (string Older, string Newer) NextVersions()
    {
        var minor = Interlocked.Add(ref _minor, 2);
        return ($"5.{minor}.0", $"5.{minor + 1}.0");
    }

    private static byte[] Elf()
    {
        var file = new byte[300];
        Array.Fill(file, (byte)Interlocked.Increment(ref _fill));
        "\u007fELF"u8.CopyTo(file);
        file[4] = 2;
        file[18] = 0x3E;
        file[19] = 0;
        return file;
    }

    private async Task<JsonElement> UploadAsync(string version)
    {
        using var content = new ByteArrayContent(Elf());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await Host.Client.PostAsync($"/api/agent-updates?rid=linux-x64&version={version}", content);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    // A current build and a newer one to pilot; a pilot a failed test left behind is withdrawn first, so it fails alone.
    private sealed record Builds(Guid Current, string CurrentSha, Guid Pilot, string PilotSha, string Older, string Newer);

    private async Task<Builds> BuildsAsync()
    {
        foreach (var left in (await Host.GetJsonAsync<JsonElement>("/api/agent-updates")).GetProperty("builds").EnumerateArray()
            .Where(b => b.GetProperty("pilot").ValueKind == JsonValueKind.Object))
        {
            (await Host.Client.PostAsync($"/api/agent-updates/{left.GetProperty("id").GetGuid()}/withdraw", null)).EnsureSuccessStatusCode();
        }

        var (older, newer) = NextVersions();
        var current = await UploadAsync(older);
        (await Host.Client.PostAsync($"/api/agent-updates/{current.GetProperty("id").GetGuid()}/current", null)).EnsureSuccessStatusCode();
        var pilot = await UploadAsync(newer);
        return new Builds(current.GetProperty("id").GetGuid(), current.GetProperty("sha256").GetString()!, pilot.GetProperty("id").GetGuid(), pilot.GetProperty("sha256").GetString()!, older, newer);
    }

    // One device in a pilot group, connected on the older build, with the pilot build just offered to it; the caller disposes the agent.
    private async Task<(Builds Builds, Guid Group, EnrollResponse Device, TestAgent Agent, CommandFrame Offer)> OnePilotDeviceOfferedAsync()
    {
        var builds = await BuildsAsync();
        var (_, group) = await GroupAsync();
        var device = await EnrollAsync(group);
        var agent = await ConnectAsync(device, builds.Older);
        (await StartPilotAsync(builds.Pilot, group)).EnsureSuccessStatusCode();
        var offer = await agent.ExpectAsync<CommandFrame>();
        OfferedSha(offer).ShouldBe(builds.PilotSha);
        return (builds, group, device, agent, offer);
    }

    private async Task<(Guid School, Guid Group)> GroupAsync()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Pilot " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" })).GetProperty("id").GetGuid();
        var group = (await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Pilot group " + Guid.NewGuid().ToString("N")[..8], kind = "custom", schoolId = school })).GetProperty("id").GetGuid();
        return (school, group);
    }

    private async Task<EnrollResponse> EnrollAsync(Guid? group = null, DevicePlatform platform = DevicePlatform.Linux) =>
        await Host.EnrollAsync(await Host.CreateTokenAsync(groupId: group), "SN-" + Guid.NewGuid().ToString("N")[..10], platform);

    private async Task<TestAgent> ConnectAsync(EnrollResponse device, string version)
    {
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, device.DeviceId, device.Credential, auth: false);
        await agent.SendAsync(new AuthFrame(device.DeviceId, device.Credential, AgentProtocol.Version, AgentUpdates.AgentVersionPrefix + version));
        await agent.ExpectWelcomeAsync();
        return agent;
    }

    private Task<HttpResponseMessage> StartPilotAsync(Guid build, Guid? group) =>
        Host.PostJsonAsync($"/api/agent-updates/{build}/pilot", new { groupId = group });

    private async Task<JsonElement> BuildAsync(Guid id) =>
        (await Host.GetJsonAsync<JsonElement>("/api/agent-updates")).GetProperty("builds").EnumerateArray().Single(b => b.GetProperty("id").GetGuid() == id);

    private static string OfferedSha(CommandFrame command)
    {
        command.Kind.ShouldBe(CommandKinds.AgentUpdate);
        return command.Arguments!["linux-x64"].Split(' ')[1];
    }

    [Fact]
    public async Task PilotDevices_AreOfferedThePilotBuild_OthersAreNot_UntilPromoted()
    {
        var builds = await BuildsAsync();
        var (_, group) = await GroupAsync();
        var inPilot = await EnrollAsync(group);
        var outside = await EnrollAsync();
        var joining = await EnrollAsync();
        await using var pilotAgent = await ConnectAsync(inPilot, builds.Older);
        await using var outsideAgent = await ConnectAsync(outside, builds.Older);

        using (var started = await StartPilotAsync(builds.Pilot, group))
        {
            started.StatusCode.ShouldBe(HttpStatusCode.OK, await started.Content.ReadAsStringAsync());
            var pilot = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("pilot");
            pilot.GetProperty("groupId").GetGuid().ShouldBe(group);
            pilot.GetProperty("devices").GetInt32().ShouldBe(1);
        }

        // The pilot's device is offered the pilot build at once; the device outside it is not.
        OfferedSha(await pilotAgent.ExpectAsync<CommandFrame>()).ShouldBe(builds.PilotSha);
        (await outsideAgent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();

        // A device that joins the group is offered it at its next connect.
        await using (var before = await ConnectAsync(joining, builds.Older))
        {
            (await before.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        }

        (await Host.PostJsonAsync($"/api/groups/{group}/members", new { deviceIds = new[] { joining.DeviceId } })).EnsureSuccessStatusCode();
        await using (var after = await ConnectAsync(joining, builds.Older))
        {
            OfferedSha(await after.ExpectAsync<CommandFrame>()).ShouldBe(builds.PilotSha);
        }

        var listed = (await BuildAsync(builds.Pilot)).GetProperty("pilot");
        listed.GetProperty("devices").GetInt32().ShouldBe(2);
        listed.GetProperty("offered").GetInt32().ShouldBe(2);
        listed.GetProperty("updated").GetInt32().ShouldBe(0);
        listed.GetProperty("onOlder").GetInt32().ShouldBe(2);
        (await BuildAsync(builds.Current)).GetProperty("current").GetBoolean().ShouldBeTrue();

        // Promoted: it is current, the device outside is offered it, the pilot's device is not offered it twice.
        using (var promoted = await Host.Client.PostAsync($"/api/agent-updates/{builds.Pilot}/promote", null))
        {
            promoted.StatusCode.ShouldBe(HttpStatusCode.OK, await promoted.Content.ReadAsStringAsync());
            var build = await promoted.Content.ReadFromJsonAsync<JsonElement>();
            build.GetProperty("current").GetBoolean().ShouldBeTrue();
            build.GetProperty("pilot").ValueKind.ShouldBe(JsonValueKind.Null);
        }

        OfferedSha(await outsideAgent.ExpectAsync<CommandFrame>()).ShouldBe(builds.PilotSha);
        (await pilotAgent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        (await BuildAsync(builds.Current)).GetProperty("current").GetBoolean().ShouldBeFalse();
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.Set<Audit.AuditEntry>().Where(a => a.TargetId == builds.Pilot.ToString()).OrderBy(a => a.Id).Select(a => a.Action).ToListAsync())
            .ShouldBe(["agentUpdate.upload", "agentUpdate.pilot", "agentUpdate.promote"]);
    }

    [Fact]
    public async Task Withdraw_OffersThePilotDevicesTheCurrentBuild_AndTheWaitingPilotOfferIsNotSentAgain()
    {
        var builds = await BuildsAsync();
        var (_, group) = await GroupAsync();
        var waiting = await EnrollAsync(group);
        var updated = await EnrollAsync(group);
        var agent = await ConnectAsync(waiting, "1.0.0");
        await using (var ownedAgent = agent)
        {
            // Not piloting yet: offered the current build; then the pilot replaces that offer with its own.
            OfferedSha(await agent.ExpectAsync<CommandFrame>()).ShouldBe(builds.CurrentSha);
            await using var updatedAgent = await ConnectAsync(updated, builds.Newer);
            (await StartPilotAsync(builds.Pilot, group)).EnsureSuccessStatusCode();
            OfferedSha(await agent.ExpectAsync<CommandFrame>()).ShouldBe(builds.PilotSha);
            (await updatedAgent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
            var pilot = (await BuildAsync(builds.Pilot)).GetProperty("pilot");
            pilot.GetProperty("devices").GetInt32().ShouldBe(2);
            pilot.GetProperty("updated").GetInt32().ShouldBe(1);
            pilot.GetProperty("onOlder").GetInt32().ShouldBe(1);

            using (var withdrawn = await Host.Client.PostAsync($"/api/agent-updates/{builds.Pilot}/withdraw", null))
            {
                withdrawn.StatusCode.ShouldBe(HttpStatusCode.OK, await withdrawn.Content.ReadAsStringAsync());
                (await withdrawn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("pilot").ValueKind.ShouldBe(JsonValueKind.Null);
            }

            // The pilot's device is offered the current build again, through the normal offer.
            OfferedSha(await agent.ExpectAsync<CommandFrame>()).ShouldBe(builds.CurrentSha);
            await agent.CloseAsync();
        }

        // Reconnecting brings the current build's offer only: the pilot's offer was never answered, and is not sent again.
        await using (var again = await ConnectAsync(waiting, "1.0.0"))
        {
            var shas = new List<string> { OfferedSha(await again.ExpectAsync<CommandFrame>()) };
            while (!await again.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500)))
            {
                shas.Add(OfferedSha(await again.ExpectAsync<CommandFrame>()));
            }

            shas.ShouldBe([builds.CurrentSha]);
        }

        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var pilotOffers = await db.CommandDeliveries.Where(d => d.DeviceId == waiting.DeviceId)
            .Join(db.Commands.Where(c => c.ArgumentsJson.Contains(builds.PilotSha)), d => d.CommandId, c => c.Id, (d, c) => d.Status).ToListAsync();
        pilotOffers.ShouldBe([DeliveryStatus.Expired]);
        (await db.Set<Audit.AuditEntry>().Where(a => a.TargetId == builds.Pilot.ToString()).OrderBy(a => a.Id).Select(a => a.Action).ToListAsync())
            .ShouldBe(["agentUpdate.upload", "agentUpdate.pilot", "agentUpdate.withdraw"]);
        (await BuildAsync(builds.Current)).GetProperty("current").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task ADeviceThatLeavesThePilot_IsNotSentItsWaitingPilotOffer_ButTheCurrentBuild()
    {
        var (builds, group, device, agent, _) = await OnePilotDeviceOfferedAsync();
        await agent.DisposeAsync();

        (await Host.PostJsonAsync($"/api/groups/{group}/members/remove", new { deviceIds = new[] { device.DeviceId } })).EnsureSuccessStatusCode();
        await using (var again = await ConnectAsync(device, "1.0.0"))
        {
            OfferedSha(await again.ExpectAsync<CommandFrame>()).ShouldBe(builds.CurrentSha);
            (await again.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
        }

        (await Host.Client.PostAsync($"/api/agent-updates/{builds.Pilot}/withdraw", null)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Withdraw_WhileAPilotDeviceIsOffline_ItIsSentTheCurrentBuildOnly_WhenItConnects()
    {
        var (builds, _, device, agent, _) = await OnePilotDeviceOfferedAsync();
        await agent.DisposeAsync();

        // Withdrawn while the device is away (its pilot offer waits, never answered); it comes back on an old version.
        (await Host.Client.PostAsync($"/api/agent-updates/{builds.Pilot}/withdraw", null)).EnsureSuccessStatusCode();
        await using var again = await ConnectAsync(device, "1.0.0");
        OfferedSha(await again.ExpectAsync<CommandFrame>()).ShouldBe(builds.CurrentSha);
        (await again.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
    }

    [Fact]
    public async Task Promotion_IsHeldWhenTooManyPilotDevicesFailed_UntilConfirmed()
    {
        var (builds, _, _, agent, command) = await OnePilotDeviceOfferedAsync();
        await using var owned = agent;
        await agent.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Failed, Error: $"rolled back to {builds.Older}: version {builds.Newer} did not connect"));
        await Poll.UntilAsync(async () => (await BuildAsync(builds.Pilot)).GetProperty("pilot").GetProperty("failed").GetInt32() == 1, HomeroomHost.Timeout);
        (await BuildAsync(builds.Pilot)).GetProperty("pilot").GetProperty("held").GetBoolean().ShouldBeTrue();

        using (var held = await Host.Client.PostAsync($"/api/agent-updates/{builds.Pilot}/promote", null))
        {
            held.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            held.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            var detail = (await held.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
            detail.ShouldNotBeNull().ShouldContain("1 offered");
            detail.ShouldContain("1 failed or rolled back");
            detail.ShouldContain("10 % hold");
        }

        (await BuildAsync(builds.Pilot)).GetProperty("current").GetBoolean().ShouldBeFalse();
        using var confirmed = await Host.Client.PostAsync($"/api/agent-updates/{builds.Pilot}/promote?confirm=true", null);
        confirmed.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await confirmed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("current").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public async Task Pilot_RefusesBadRequests_WithProblemDetails_AndChangesNothing()
    {
        var builds = await BuildsAsync();
        var (school, group) = await GroupAsync();
        foreach (var (body, field) in new (object Body, string Field)[] { (new { groupId = (Guid?)null }, "groupId"), (new { groupId = (Guid?)Guid.NewGuid() }, "groupId") })
        {
            using var refused = await Host.PostJsonAsync($"/api/agent-updates/{builds.Pilot}/pilot", body);
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue();
        }

        // Only district administrators manage builds: a school's administrator cannot pilot, with another school's group or their own.
        var (_, otherGroup) = await GroupAsync();
        using (var schoolAdmin = await Host.SignInAsNewAccountAsync($"sa-{Guid.NewGuid():N}"[..20], "schoolAdmin", schoolId: school))
        {
            foreach (var g in new[] { otherGroup, group })
            {
                using var refused = await schoolAdmin.PostAsJsonAsync($"/api/agent-updates/{builds.Pilot}/pilot", new { groupId = g });
                refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            }

            (await schoolAdmin.PostAsync($"/api/agent-updates/{builds.Pilot}/promote", null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await schoolAdmin.PostAsync($"/api/agent-updates/{builds.Pilot}/withdraw", null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        (await BuildAsync(builds.Pilot)).GetProperty("pilot").ValueKind.ShouldBe(JsonValueKind.Null);

        // Promoting or withdrawing what is not piloting, piloting the current build or an older one: 409.
        foreach (var action in new[] { "promote", "withdraw" })
        {
            using var conflict = await Host.Client.PostAsync($"/api/agent-updates/{builds.Pilot}/{action}", null);
            conflict.StatusCode.ShouldBe(HttpStatusCode.Conflict, action);
            (await conflict.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().ShouldNotBeNull().ShouldContain("not piloting");
        }

        (await StartPilotAsync(builds.Current, group)).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        var (stale, _) = NextVersions();
        var old = (await UploadAsync("4" + stale[1..])).GetProperty("id").GetGuid();
        (await StartPilotAsync(old, group)).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await Host.Client.PostAsync($"/api/agent-updates/{Guid.NewGuid()}/promote", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        // One pilot per runtime.
        (await StartPilotAsync(builds.Pilot, group)).EnsureSuccessStatusCode();
        var (_, newest) = NextVersions();
        var another = (await UploadAsync(newest)).GetProperty("id").GetGuid();
        using (var second = await StartPilotAsync(another, otherGroup))
        {
            second.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString().ShouldNotBeNull().ShouldContain("promote or withdraw it first");
        }

        (await Host.Client.PostAsync($"/api/agent-updates/{builds.Pilot}/withdraw", null)).EnsureSuccessStatusCode();
    }
}

public sealed class AgentPilotSqliteTests(AgentPilotSqliteHost shared) : AgentPilotTests(shared), IClassFixture<AgentPilotSqliteHost>;

public sealed class AgentPilotPostgresTests(AgentPilotPostgresHost shared) : AgentPilotTests(shared), IClassFixture<AgentPilotPostgresHost>;
