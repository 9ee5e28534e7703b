using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Policies;

public abstract class PolicyTests(DatabaseProvider provider) : IAsyncLifetime
{
    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<Guid> CreateProfileAsync(string name, object settings) =>
        (await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name, settings })).GetProperty("id").GetGuid();

    private async Task<Guid> AssignAsync(Guid profileId, string level, string? scopeId = null, int priority = 0, object? condition = null) =>
        (await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId, level, scopeId, priority, condition })).GetProperty("id").GetGuid();

    private static JsonElement Setting(PolicyFrame frame, string group, string name) => frame.Document.GetProperty(group).GetProperty(name);

    [Fact]
    public async Task Assignment_ReachesOnlineDevice_ThenChangesBumpTheVersion()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var initial = await agent.ExpectAsync<PolicyFrame>();
        initial.Version.ShouldBe(1);
        Setting(initial, "restrictions", "camera").GetBoolean().ShouldBeTrue();

        var profile = await CreateProfileAsync("No camera", new { restrictions = new { camera = false } });
        await AssignAsync(profile, "district");
        var second = await agent.ExpectAsync<PolicyFrame>();
        second.Version.ShouldBe(2);
        Setting(second, "restrictions", "camera").GetBoolean().ShouldBeFalse();

        using var update = await Host.Client.PutAsJsonAsync($"/api/profiles/{profile}", new { name = "No camera", settings = new { restrictions = new { camera = false }, webFilter = new { safeSearch = true } } }, HomeroomHost.Json);
        update.StatusCode.ShouldBe(HttpStatusCode.OK);
        var third = await agent.ExpectAsync<PolicyFrame>();
        third.Version.ShouldBe(3);
        Setting(third, "webFilter", "safeSearch").GetBoolean().ShouldBeTrue();

        // A change that leaves this device's document the same sends nothing.
        var other = await CreateProfileAsync("Other school", new { restrictions = new { bluetooth = false } });
        var school = await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Elsewhere", timeZone = "UTC" });
        await AssignAsync(other, "school", school.GetProperty("id").GetString());
        (await agent.NothingOfTypeAsync<PolicyFrame>(TimeSpan.FromSeconds(1.5))).ShouldBeTrue();
    }

    [Fact]
    public async Task Compliance_FollowsWhatTheAgentReports()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var frame = await agent.ExpectAsync<PolicyFrame>();

        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>("/api/policies/compliance")).GetProperty("total").GetInt32() == 1);

        await agent.SendAsync(new PolicyStatusFrame(frame.Version, Applied: false, ["camera: not supported on this device"]));
        await Poll.UntilAsync(async () =>
        {
            var items = (await Host.GetJsonAsync<JsonElement>("/api/policies/compliance")).GetProperty("items");
            return items.GetArrayLength() == 1 && items[0].GetProperty("failures").GetString() == "camera: not supported on this device";
        });

        await agent.SendAsync(new PolicyStatusFrame(frame.Version, Applied: true, null));
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>("/api/policies/compliance")).GetProperty("total").GetInt32() == 0);
        var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/policy");
        policy.GetProperty("compliant").GetBoolean().ShouldBeTrue();
        policy.GetProperty("appliedVersion").GetInt64().ShouldBe(frame.Version);
    }

    [Fact]
    public async Task OfflineDevice_GetsTheCurrentPolicyOnReconnect_Once()
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "SN-OFFLINE-1");
        var profile = await CreateProfileAsync("Curfew message", new { device = new { lockMessage = "Sleep well" } });
        await AssignAsync(profile, "device", enrolled.DeviceId.ToString());

        long version;
        await using (var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential))
        {
            await agent.ExpectWelcomeAsync();
            var frame = await agent.ExpectAsync<PolicyFrame>();
            version = frame.Version;
            Setting(frame, "device", "lockMessage").GetString().ShouldBe("Sleep well");
            await agent.SendAsync(new PolicyStatusFrame(frame.Version, true, null));
            await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{enrolled.DeviceId}/policy")).GetProperty("compliant").GetBoolean());
        }

        await Host.GetService<Homeroom.Server.Devices.PresenceTracker>().FlushAsync(CancellationToken.None);
        await using var again = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        var welcome = await again.ExpectWelcomeAsync();
        welcome.PolicyVersion.ShouldBe(version);
        (await again.NothingOfTypeAsync<PolicyFrame>(TimeSpan.FromSeconds(1.5))).ShouldBeTrue();
    }

    [Fact]
    public async Task DeviceConnectingJustAsEveryDeviceIsResolvedAgain_StillGetsItsCurrentVersion_Once()
    {
        // The gateway tells the distributor a device connected behind; a change elsewhere asks for a full pass
        // before the distributor wakes. The full pass finds nothing new, but still owes that device its version.
        // The device never reports applying it, so each new connection starts behind.
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "SN-BEHIND-1");
        var distributor = Host.GetService<Homeroom.Server.Policies.PolicyDistributor>();
        long current = 0;
        for (var round = 0; round < 3; round++)
        {
            await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
            (await agent.ExpectWelcomeAsync()).PolicyVersion.ShouldBe(0);
            distributor.DeviceConnected(agent.DeviceId, 0);
            distributor.RequestAll();
            var frame = await agent.ExpectAsync<PolicyFrame>();
            if (round == 0)
            {
                current = frame.Version;
            }

            frame.Version.ShouldBe(current);
            (await agent.NothingOfTypeAsync<PolicyFrame>(TimeSpan.FromSeconds(1))).ShouldBeTrue();
        }
    }

    [Fact]
    public async Task ConnectQueuedByAnOlderConnection_DoesNotSendTheNewOneItsVersionAgain()
    {
        // A connection that ended just after connecting leaves its "connected behind" in the distributor's queue; the
        // pass that takes it may find the device's next connection, which already has the version.
        await using var agent = await Host.ConnectNewAgentAsync();
        var first = await agent.ExpectAsync<PolicyFrame>();
        var distributor = Host.GetService<Homeroom.Server.Policies.PolicyDistributor>();
        var passes = 0;
        distributor.PassCompleted += _ => Interlocked.Increment(ref passes);

        distributor.DeviceConnected(agent.DeviceId, 0);
        await Poll.UntilAsync(() => Task.FromResult(Volatile.Read(ref passes) > 0));
        (await agent.NothingOfTypeAsync<PolicyFrame>(TimeSpan.FromSeconds(1))).ShouldBeTrue();

        // A newer version still reaches it.
        var profile = await CreateProfileAsync("No camera", new { restrictions = new { camera = false } });
        await AssignAsync(profile, "district");
        (await agent.ExpectAsync<PolicyFrame>()).Version.ShouldBe(first.Version + 1);
    }

    [Fact]
    public async Task Explain_NamesTheWinningProfileAndWhatItOverrode()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var district = await CreateProfileAsync("District", new { webFilter = new { blockedCategories = new[] { "games", "adult" } } });
        var device = await CreateProfileAsync("Exception", new { webFilter = new { blockedCategories = new[] { "adult" } } });
        await AssignAsync(district, "district");
        var exception = await AssignAsync(device, "device", agent.DeviceId.ToString());

        var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/policy");

        var blocked = policy.GetProperty("settings").EnumerateArray().Single(s => s.GetProperty("key").GetString() == "webFilter.blockedCategories");
        blocked.GetProperty("value").EnumerateArray().Select(v => v.GetString()).ShouldBe(["adult"]);
        blocked.GetProperty("source").GetProperty("profileName").GetString().ShouldBe("Exception");
        blocked.GetProperty("source").GetProperty("assignmentId").GetGuid().ShouldBe(exception);
        blocked.GetProperty("source").GetProperty("level").GetString().ShouldBe("device");
        blocked.GetProperty("overridden")[0].GetProperty("profileName").GetString().ShouldBe("District");
        var camera = policy.GetProperty("settings").EnumerateArray().Single(s => s.GetProperty("key").GetString() == "restrictions.camera");
        camera.GetProperty("source").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task BadProfiles_AreRefusedWithReasons_AndChangeNothing()
    {
        using var unknown = await Host.PostJsonAsync("/api/profiles", new { name = "Bad", settings = new { webFilter = new { blockedSitez = new[] { "x.test" } } } });
        unknown.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await unknown.Content.ReadAsStringAsync()).ShouldContain("webFilter.blockedSitez");

        using var badSite = await Host.PostJsonAsync("/api/profiles", new { name = "Bad", settings = new { webFilter = new { blockedSites = new[] { "exa mple.com" } } } });
        badSite.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await badSite.Content.ReadAsStringAsync()).ShouldContain("blockedSites[0]");

        using var badType = await Host.PostJsonAsync("/api/profiles", new { name = "Bad", settings = new { restrictions = new { camera = "no" } } });
        badType.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        using var tooBig = await Host.PostJsonAsync("/api/profiles", new { name = "Huge", settings = new { webFilter = new { blockedSites = Enumerable.Range(0, 5000).Select(i => $"site-number-{i}.example.org").ToArray() } } });
        tooBig.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await tooBig.Content.ReadAsStringAsync()).ShouldContain("64 KB");

        using var missingZone = await Host.PostJsonAsync("/api/profiles", new { name = "Zones", settings = new { location = new { allowedZones = new[] { Guid.NewGuid() } } } });
        missingZone.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        using var notJson = await Host.Client.PostAsync("/api/profiles", new StringContent("{\"name\":", System.Text.Encoding.UTF8, "application/json"));
        notJson.StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        (await Host.GetJsonAsync<JsonElement>("/api/profiles")).GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task ConflictingAssignments_AreRefused_UntilGivenPriorities()
    {
        var a = await CreateProfileAsync("A", new { restrictions = new { camera = false } });
        var b = await CreateProfileAsync("B", new { restrictions = new { camera = true } });
        await AssignAsync(a, "district");

        using var conflict = await Host.PostJsonAsync("/api/assignments", new { profileId = b, level = "district" });
        conflict.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await conflict.Content.ReadAsStringAsync()).ShouldContain("restrictions.camera");

        using var withPriority = await Host.PostJsonAsync("/api/assignments", new { profileId = b, level = "district", priority = 1 });
        withPriority.StatusCode.ShouldBe(HttpStatusCode.Created);

        // A profile edit that would create a conflict is refused too.
        var c = await CreateProfileAsync("C", new { restrictions = new { bluetooth = false } });
        await AssignAsync(c, "district", priority: 1);
        using var edit = await Host.Client.PutAsJsonAsync($"/api/profiles/{c}", new { name = "C", settings = new { restrictions = new { camera = false } } }, HomeroomHost.Json);
        edit.StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task ScheduleBoundary_SwitchesThePolicyWithoutAnyChange()
    {
        // Put the server's clock 10 s before a minute boundary, with a window that starts on it (time
        // enough to set it up on a busy machine before the boundary passes).
        var now = Host.Clock.GetUtcNow();
        var boundary = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(2);
        Host.Clock.Advance(boundary - now - TimeSpan.FromSeconds(10));
        await using var agent = await Host.ConnectNewAgentAsync();
        (await agent.ExpectAsync<PolicyFrame>()).Version.ShouldBe(1);
        var curfew = await CreateProfileAsync("Curfew", new { device = new { locked = true } });
        var day = boundary.DayOfWeek.ToString().ToLowerInvariant();
        await AssignAsync(curfew, "district", condition: new { schedule = new[] { new { days = new[] { day }, start = boundary.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture), end = boundary.AddMinutes(30).ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture) } } });
        (await agent.NothingOfTypeAsync<PolicyFrame>(TimeSpan.FromSeconds(1))).ShouldBeTrue();

        var locked = await agent.ExpectAsync<PolicyFrame>(TimeSpan.FromSeconds(25));

        Host.Clock.GetUtcNow().ShouldBeGreaterThanOrEqualTo(boundary);
        Setting(locked, "device", "locked").GetBoolean().ShouldBeTrue();
        var audit = await Host.GetJsonAsync<JsonElement>("/api/audit?action=assignment.create");
        audit.GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task EffectivePolicyTooLarge_IsNotSent_AndShowsAsAFailure()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var first = await agent.ExpectAsync<PolicyFrame>();
        // Each profile is at most 64 KB, so the effective policy passes 256 KB only when several long settings come from
        // different profiles: both site lists, both category lists (free text here) and an extension configuration.
        string[] Sites(string prefix) => Enumerable.Range(0, 2300).Select(i => $"{prefix}-{i:D5}.example.org").ToArray();
        string[] Categories(string prefix) => Enumerable.Range(0, 1000).Select(i => $"{prefix}-{i:D5}-".PadRight(60, 'x')).ToArray();
        var big = new object[]
        {
            new { webFilter = new { blockedSites = Sites("blocked") } },
            new { webFilter = new { allowedSites = Sites("allowed") } },
            new { webFilter = new { blockedCategories = Categories("blocked") } },
            new { webFilter = new { allowedCategories = Categories("allowed") } },
            new { desktopBrowsers = new { extensionConfig = new { note = new { Value = new string('n', 8000) } } } },
        };
        var profiles = new List<Guid>();
        for (var i = 0; i < big.Length; i++)
        {
            profiles.Add(await CreateProfileAsync($"Big {i}", big[i]));
        }

        for (var i = 0; i < profiles.Count; i++)
        {
            await AssignAsync(profiles[i], "device", agent.DeviceId.ToString(), priority: i);
        }

        await Poll.UntilAsync(async () =>
        {
            var items = (await Host.GetJsonAsync<JsonElement>("/api/policies/compliance")).GetProperty("items");
            return items.GetArrayLength() == 1 && items[0].GetProperty("failures").GetString() is { } failures && failures.Contains("256 KB", StringComparison.Ordinal);
        });
        var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/policy");
        var stored = policy.GetProperty("version").GetInt64();
        stored.ShouldBeGreaterThanOrEqualTo(first.Version);

        // What the agent received last is that stored version, whole; nothing newer was sent.
        while (!await agent.NothingOfTypeAsync<PolicyFrame>(TimeSpan.FromSeconds(1)))
        {
        }

        agent.LastPolicy!.Version.ShouldBe(stored);
    }

    [Fact]
    public async Task SettingsCatalog_ListsEveryKey()
    {
        var settings = await Host.GetJsonAsync<JsonElement>("/api/profiles/settings");

        settings.EnumerateArray().Select(s => s.GetProperty("key").GetString()).ShouldBe(Rules.Policies.PolicySettings.All.Keys, ignoreOrder: true);
    }
}

public sealed class PolicySqliteTests() : PolicyTests(DatabaseProvider.Sqlite);

public sealed class PolicyPostgresTests() : PolicyTests(DatabaseProvider.Postgres);

/// <summary>Refused assignments store nothing, so these cases share one server (<see cref="SharedHost"/>): none is ever stored, so the list stays empty.</summary>
public abstract class PolicyValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("""{"profileId":"{P}","level":"school","scopeId":"not-a-guid"}""", "scopeId")]
    [InlineData("""{"profileId":"{P}","level":"grade","scopeId":"14"}""", "scopeId")]
    [InlineData("""{"profileId":"{P}","level":"district","scopeId":"x"}""", "scopeId")]
    [InlineData("""{"profileId":"{P}","level":"planet"}""", "")]
    [InlineData("""{"profileId":"{P}","level":"district","condition":{"schedule":[{"days":["funday"],"start":"08:00","end":"15:00"}]}}""", "condition.schedule[0]")]
    [InlineData("""{"profileId":"{P}","level":"district","condition":{"schedule":[{"days":["monday,tuesday"],"start":"08:00","end":"15:00"}]}}""", "condition.schedule[0]")]
    [InlineData("""{"profileId":"{P}","level":"district","condition":{"schedule":[{"days":["monday"],"start":"8am","end":"15:00"}]}}""", "condition.schedule[0]")]
    [InlineData("""{"profileId":"{P}","level":"district","condition":{"insideZones":["6f9619ff-8b86-d011-b42d-00cf4fc964ff"]}}""", "condition")]
    [InlineData("""{"profileId":"6f9619ff-8b86-d011-b42d-00cf4fc964ff","level":"district"}""", "profileId")]
    public async Task BadAssignments_AreRefusedWithTheField(string json, string field)
    {
        var profile = (await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "P " + Guid.NewGuid().ToString("N")[..8], settings = new { } })).GetProperty("id").GetGuid();
        using var response = await Host.Client.PostAsync("/api/assignments", new StringContent(json.Replace("{P}", profile.ToString(), StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync()).ShouldContain(field);
        (await Host.GetJsonAsync<JsonElement>("/api/assignments")).GetArrayLength().ShouldBe(0);
    }
}

public sealed class PolicyValidationSqliteTests(SharedSqliteHost shared) : PolicyValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class PolicyValidationPostgresTests(SharedPostgresHost shared) : PolicyValidationTests(shared), IClassFixture<SharedPostgresHost>;
