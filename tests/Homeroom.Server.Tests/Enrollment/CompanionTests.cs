using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Enrollment;
using Homeroom.Server.Safety;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Enrollment;

/// <summary>
/// The desktop's browser extension belongs to the desktop (docs/agent-protocol.md, "Companion credential"): a desktop
/// agent's device is given a companion credential (kept hashed), the extension enrolling with it becomes a companion of
/// that device (listed once, shown on its page, its signals, activity, student and policy the desktop's), and a bad,
/// expired, replaced or foreign credential, or one used for anything but the extension, is refused; releasing the
/// credential or revoking or retiring the desktop revokes the companions.
/// </summary>
public abstract class CompanionTests(DatabaseProvider provider) : IAsyncLifetime
{
    private Guid _school;
    private Guid _student;

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider, "Homeroom:Agents:MaxCompanionsPerDevice=2");
        _school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "North " + Guid.NewGuid().ToString("N")[..6], timeZone = "UTC" })).GetProperty("id").GetGuid();
        _student = (await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "Sam", familyName = "Rivera", schoolId = _school }))
            .GetProperty("id").GetGuid();
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>A Linux desktop of the school, assigned to the student.</summary>
    private async Task<EnrollResponse> DesktopAsync(bool withStudent = true)
    {
        var desktop = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: _school), "DESK-" + Guid.NewGuid().ToString("N")[..8], DevicePlatform.Linux);
        if (withStudent)
        {
            (await Host.Client.PatchAsJsonAsync($"/api/devices/{desktop.DeviceId}", new { assignedPersonId = _student })).EnsureSuccessStatusCode();
        }

        return desktop;
    }

    private async Task<HttpResponseMessage> CompanionRequestAsync(HttpMethod method, Guid deviceId, string credential)
    {
        using var client = Host.CreateClient();
        using var request = new HttpRequestMessage(method, "/agent/v1/companion");
        request.Headers.Authorization = new AuthenticationHeaderValue("Device", $"{deviceId}:{credential}");
        return await client.SendAsync(request);
    }

    private async Task<CompanionCredentialResponse> IssueAsync(EnrollResponse desktop)
    {
        using var response = await CompanionRequestAsync(HttpMethod.Post, desktop.DeviceId, desktop.Credential);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<CompanionCredentialResponse>(HomeroomHost.Json))!;
    }

    private async Task<HttpResponseMessage> EnrollExtensionAsync(string secret, string serial, DevicePlatform platform = DevicePlatform.ChromeOS, string? credential = null)
    {
        using var client = Host.CreateClient();
        return await client.PostAsJsonAsync(
            "/agent/v1/enroll",
            new EnrollRequest(secret, platform, serial, OsVersion: "131.0.6778.85", Name: "desk browser", AgentVersion: "homeroom-extension/1.0.0", Credential: credential),
            HomeroomHost.Json);
    }

    private async Task<EnrollResponse> CompanionAsync(string secret, string serial)
    {
        using var response = await EnrollExtensionAsync(secret, serial);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<EnrollResponse>(HomeroomHost.Json))!;
    }

    private async Task<T> DbAsync<T>(Func<HomeroomDbContext, Task<T>> query)
    {
        await using var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await query(db);
    }

    private static async Task ShouldBeProblemAsync(HttpResponseMessage response, HttpStatusCode status, string words)
    {
        response.StatusCode.ShouldBe(status);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync()).ShouldContain(words);
    }

    [Fact]
    public async Task Companion_EnrolledWithTheDesktopsCredential_IsListedOnceAndShownOnTheDesktopsPage()
    {
        var desktop = await DesktopAsync();

        var issued = await IssueAsync(desktop);
        var companion = await CompanionAsync(issued.Credential, "ext-profile-1");

        issued.Credential.ShouldStartWith("hrc_");
        issued.ExpiresAt.ShouldBeInRange(Host.Clock.GetUtcNow().AddDays(29), Host.Clock.GetUtcNow().AddDays(31));
        var stored = await DbAsync(db => db.Devices.AsNoTracking().SingleAsync(d => d.Id == desktop.DeviceId));
        stored.CompanionCredentialHash.ShouldBe(Secrets.Hash(issued.Credential), "only the hash is kept");
        companion.DeviceId.ShouldNotBe(desktop.DeviceId);

        var list = await Host.GetJsonAsync<JsonElement>("/api/devices");
        list.GetProperty("total").GetInt32().ShouldBe(1, "the desktop is listed once, its browser not beside it");
        list.GetProperty("items")[0].GetProperty("id").GetGuid().ShouldBe(desktop.DeviceId);
        (await Host.Client.GetAsync($"/api/devices/{companion.DeviceId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        await using var extension = await TestAgent.ConnectAsync(Host.AgentUri, companion.DeviceId, companion.Credential);
        await extension.ExpectWelcomeAsync();
        await extension.SendAsync(new InventoryFrame("Chrome OS", "131.0.6778.85", null, null, null, null, null, SignedInUser: new SignedInUser("sam.rivera@students.example.org")));
        JsonElement shown = default;
        await Poll.UntilAsync(async () =>
        {
            shown = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{desktop.DeviceId}")).GetProperty("companions");
            return shown.GetArrayLength() == 1 && shown[0].GetProperty("profile").ValueKind == JsonValueKind.String && shown[0].GetProperty("online").GetBoolean();
        }, HomeroomHost.Timeout);
        shown[0].GetProperty("id").GetGuid().ShouldBe(companion.DeviceId);
        shown[0].GetProperty("profile").GetString().ShouldBe("sam.rivera@students.example.org");
        shown[0].GetProperty("extensionVersion").GetString().ShouldBe("test-agent/1.0", "the version its auth frame reported last");
        shown[0].GetProperty("browserVersion").GetString().ShouldBe("131.0.6778.85");
        shown[0].GetProperty("lastSeenAt").ValueKind.ShouldBe(JsonValueKind.String);
    }

    [Fact]
    public async Task Companion_SignalsActivityAndPolicy_AreTheDesktops()
    {
        var profile = (await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Safety", schoolId = _school, settings = new { safety = new { atHome = true } } }))
            .GetProperty("id").GetGuid();
        (await Host.PostJsonAsync("/api/assignments", new { profileId = profile, level = "school", scopeId = _school.ToString() })).EnsureSuccessStatusCode();
        var desktop = await DesktopAsync();
        var companion = await CompanionAsync((await IssueAsync(desktop)).Credential, "ext-profile-2");
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, desktop.DeviceId, desktop.Credential);
        await agent.ExpectWelcomeAsync();
        var desktopPolicy = await agent.ExpectAsync<PolicyFrame>();
        await using var extension = await TestAgent.ConnectAsync(Host.AgentUri, companion.DeviceId, companion.Credential);
        await extension.ExpectWelcomeAsync();

        var companionPolicy = await extension.ExpectAsync<PolicyFrame>();
        companionPolicy.Document.GetProperty("safety").GetProperty("atHome").GetBoolean()
            .ShouldBe(desktopPolicy.Document.GetProperty("safety").GetProperty("atHome").GetBoolean());
        companionPolicy.Document.GetProperty("safety").GetProperty("atHome").GetBoolean().ShouldBeTrue("the desktop's school profile");

        await extension.SendAsync(new SignalsFrame(1, [new SafetySignal(DateTimeOffset.UtcNow, SignalSources.Search, Safety.SafetyTestText.Imminent, "https://www.google.com/search?q=x")]));
        await extension.ExpectAsync<SignalsAckFrame>();
        var alert = (await DbAsync(db => db.Set<SafetyAlert>().AsNoTracking().ToListAsync())).ShouldHaveSingleItem();
        alert.DeviceId.ShouldBe(desktop.DeviceId);
        alert.PersonId.ShouldBe(_student);
        alert.SchoolId.ShouldBe(_school);

        await extension.SendAsync(new ActivityFrame([new ActivityEvent(1, DateTimeOffset.UtcNow, ActivityKinds.WebVisit, "https://khanacademy.org/math", "Math")]));
        (await extension.ExpectAsync<ActivityAckFrame>()).ThroughSeq.ShouldBe(1);
        var activity = await Host.GetJsonAsync<JsonElement>($"/api/activity?deviceId={desktop.DeviceId}");
        activity.GetProperty("total").GetInt32().ShouldBe(1);
        activity.GetProperty("items")[0].GetProperty("url").GetString().ShouldBe("https://khanacademy.org/math");
        var stored = await DbAsync(db => db.Devices.AsNoTracking().SingleAsync(d => d.Id == companion.DeviceId));
        stored.SchoolId.ShouldBe(_school);
        stored.AssignedPersonId.ShouldBe(_student);
    }

    [Fact]
    public async Task Companion_WebTimeInInsights_CountsAsTheDesktops_PlatformAndUser()
    {
        // No student: the desktop itself is the one user its browser's time counts for.
        var desktop = await DesktopAsync(withStudent: false);
        var companion = await CompanionAsync((await IssueAsync(desktop)).Credential, "ext-insights-1");
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, desktop.DeviceId, desktop.Credential);
        await agent.ExpectWelcomeAsync();
        await using var extension = await TestAgent.ConnectAsync(Host.AgentUri, companion.DeviceId, companion.Credential);
        await extension.ExpectWelcomeAsync();
        var at = Host.Clock.GetUtcNow().AddMinutes(-5);

        await agent.SendAsync(new ActivityFrame([new ActivityEvent(1, at, ActivityKinds.WebBlocked, "https://poki.com/", Detail: "games")]));
        (await agent.ExpectAsync<ActivityAckFrame>()).ThroughSeq.ShouldBe(1);
        await extension.SendAsync(new ActivityFrame([new ActivityEvent(1, at.AddSeconds(30), ActivityKinds.WebBlocked, "https://poki.com/", Detail: "games")]));
        (await extension.ExpectAsync<ActivityAckFrame>()).ThroughSeq.ShouldBe(1);
        await Host.GetService<Homeroom.Server.Insights.InsightFolder>().CatchUpAsync();

        var onLinux = await Host.GetJsonAsync<JsonElement>($"/api/insights/blocked-sites?schoolId={_school}&platform=linux");
        var poki = onLinux.GetProperty("rows").EnumerateArray().ShouldHaveSingleItem();
        poki.GetProperty("subject").GetString().ShouldBe("poki.com");
        poki.GetProperty("blocks").GetInt64().ShouldBe(2, "the browser's block counts under the desktop's platform");
        poki.GetProperty("students").GetInt64().ShouldBe(1, "the desktop and its browser are one user");
        var onChromeOs = await Host.GetJsonAsync<JsonElement>($"/api/insights/blocked-sites?schoolId={_school}&platform=chromeos");
        onChromeOs.GetProperty("rows").GetArrayLength().ShouldBe(0, "no Chromebook blocked anything");
    }

    [Fact]
    public async Task Companion_ScreenView_StandsInForADesktopThatCannotShowItsScreen_AndStepsAsideForOneThatCan()
    {
        Host.Clock.MoveToSchoolDayMorning();
        var desktop = await DesktopAsync();
        var companion = await CompanionAsync((await IssueAsync(desktop)).Credential, "ext-view-1");
        var science = (await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Science", kind = "class", schoolId = _school })).GetProperty("id").GetGuid();
        (await Host.PostJsonAsync($"/api/groups/{science}/members", new { deviceIds = new[] { desktop.DeviceId } })).EnsureSuccessStatusCode();
        var person = await Host.PostJsonAsync<JsonElement>("/api/people", new { kind = "staff", givenName = "Ana", familyName = "Teacher", schoolId = _school });
        (await Host.PostJsonAsync($"/api/groups/{science}/members", new { personIds = new[] { person.GetProperty("id").GetGuid() } })).EnsureSuccessStatusCode();
        using var teacher = await Host.SignInAsNewAccountAsync("ana", "teacher", person.GetProperty("id").GetGuid(), "Ms. Ana", _school);
        (await teacher.PostAsJsonAsync($"/api/groups/{science}/session", new { minutes = 30 })).EnsureSuccessStatusCode();

        // A desktop whose agent says it cannot show the screen (no user-session helper, as on Windows and macOS).
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, desktop.DeviceId, desktop.Credential);
        await agent.ExpectWelcomeAsync();
        await agent.SendAsync(new InventoryFrame("Windows", "11", null, null, null, null, null, [new AgentCapability(CapabilityNames.ScreenView, false, "no user-session helper")]));
        await using var extension = await TestAgent.ConnectAsync(Host.AgentUri, companion.DeviceId, companion.Credential);
        await extension.ExpectWelcomeAsync();
        await Poll.UntilAsync(() => Task.FromResult(Host.GetService<Homeroom.Server.Devices.DeviceLiveState>().Capabilities(desktop.DeviceId) is not null));

        (await teacher.PostAsync($"/api/groups/{science}/screen-view", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await extension.ExpectAsync<ScreenViewFrame>()).ViewerName.ShouldBe("Ms. Ana");
        (await agent.ExpectAsync<ScreenViewFrame>()).Active.ShouldBeTrue("the agent is told as well: its banner, if it can show one");
        var image = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 7, 7, 7 };
        await extension.SendRawAsync(ThumbnailFrame.Encode(ThumbnailFormat.Jpeg, DateTimeOffset.UtcNow, image), System.Net.WebSockets.WebSocketMessageType.Binary);
        await Poll.UntilAsync(async () => (await teacher.GetAsync($"/api/groups/{science}/screens/{desktop.DeviceId}")).StatusCode == HttpStatusCode.OK);
        (await teacher.GetByteArrayAsync($"/api/groups/{science}/screens/{desktop.DeviceId}")).ShouldBe(image, "the browser's tab stands for the desktop's screen");

        (await teacher.DeleteAsync($"/api/groups/{science}/screen-view")).EnsureSuccessStatusCode();
        (await extension.ExpectAsync<ScreenViewFrame>()).Active.ShouldBeFalse();
        (await agent.ExpectAsync<ScreenViewFrame>()).Active.ShouldBeFalse();

        // The agent's helper connects: the desktop shows its own screen, and its browser is neither asked nor taken.
        await agent.SendAsync(new InventoryFrame("Windows", "11", null, null, null, null, null, [new AgentCapability(CapabilityNames.ScreenView, true)]));
        await Poll.UntilAsync(() => Task.FromResult(Host.GetService<Homeroom.Server.Devices.DeviceLiveState>().Capabilities(desktop.DeviceId) is [{ Available: true }]));
        (await teacher.PostAsync($"/api/groups/{science}/screen-view", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await agent.ExpectAsync<ScreenViewFrame>()).Active.ShouldBeTrue();
        (await extension.NothingOfTypeAsync<ScreenViewFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
        await extension.SendRawAsync(ThumbnailFrame.Encode(ThumbnailFormat.Jpeg, DateTimeOffset.UtcNow, [0xFF, 0xD8, 0xFF, 0xE0, 9]), System.Net.WebSockets.WebSocketMessageType.Binary);
        var own = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3 };
        await agent.SendRawAsync(ThumbnailFrame.Encode(ThumbnailFormat.Jpeg, DateTimeOffset.UtcNow, own), System.Net.WebSockets.WebSocketMessageType.Binary);
        await Poll.UntilAsync(async () => (await teacher.GetAsync($"/api/groups/{science}/screens/{desktop.DeviceId}")).StatusCode == HttpStatusCode.OK);
        (await teacher.GetByteArrayAsync($"/api/groups/{science}/screens/{desktop.DeviceId}")).ShouldBe(own);
    }

    [Fact]
    public async Task Companion_SafetyScreenshot_IsAskedOfTheConnectionWhoseSignalRaisedIt_AndKeptAsTheDesktopsEvidence()
    {
        var profile = (await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Safety with screenshots", schoolId = _school, settings = new { safety = new { atHome = true, screenshots = true } } }))
            .GetProperty("id").GetGuid();
        (await Host.PostJsonAsync("/api/assignments", new { profileId = profile, level = "school", scopeId = _school.ToString() })).EnsureSuccessStatusCode();
        var desktop = await DesktopAsync();
        var companion = await CompanionAsync((await IssueAsync(desktop)).Credential, "ext-profile-shot");
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, desktop.DeviceId, desktop.Credential);
        await agent.ExpectWelcomeAsync();
        await using var extension = await TestAgent.ConnectAsync(Host.AgentUri, companion.DeviceId, companion.Credential);
        await extension.ExpectWelcomeAsync();

        // The extension's search raises the desktop's alert: the extension is asked (its visible tab), and its answer is the desktop's evidence.
        await extension.SendAsync(new SignalsFrame(1, [new SafetySignal(DateTimeOffset.UtcNow, SignalSources.Search, Safety.SafetyTestText.Imminent, "https://www.google.com/search?q=x")]));
        var fromExtension = await extension.ExpectAsync<SafetyCaptureFrame>();
        byte[] tab = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
        await extension.SendRawAsync(SafetyScreenshotFrame.Encode(ThumbnailFormat.Jpeg, DateTimeOffset.UtcNow, fromExtension.CaptureId, tab), System.Net.WebSockets.WebSocketMessageType.Binary);
        await Poll.UntilAsync(() => DbAsync(db => db.Set<SafetyScreenshot>().AnyAsync(s => s.Id == fromExtension.CaptureId)));
        var alert = (await DbAsync(db => db.Set<SafetyAlert>().AsNoTracking().ToListAsync())).ShouldHaveSingleItem();
        alert.DeviceId.ShouldBe(desktop.DeviceId);
        (await DbAsync(db => db.Set<SafetyScreenshot>().AsNoTracking().SingleAsync())).AlertId.ShouldBe(alert.Id);

        // The agent's own window title grows it: the agent is asked, and the first capture it ever sees is that one, not the extension's.
        await agent.SendAsync(new SignalsFrame(1, [new SafetySignal(DateTimeOffset.UtcNow, SignalSources.Window, Safety.SafetyTestText.Imminent)]));
        var fromAgent = await agent.ExpectAsync<SafetyCaptureFrame>();
        fromAgent.CaptureId.ShouldNotBe(fromExtension.CaptureId);
        // And the other way round: the extension's next capture is for its own next signal, not the agent's.
        await extension.SendAsync(new SignalsFrame(2, [new SafetySignal(DateTimeOffset.UtcNow.AddSeconds(1), SignalSources.Title, Safety.SafetyTestText.Imminent, "https://example.org/")]));
        var again = await extension.ExpectAsync<SafetyCaptureFrame>();
        again.CaptureId.ShouldNotBe(fromAgent.CaptureId);
        again.CaptureId.ShouldNotBe(fromExtension.CaptureId);
    }

    [Fact]
    public async Task Companion_ProfileAssignedToTheDesktop_ReachesItsBrowser()
    {
        var desktop = await DesktopAsync();
        var companion = await CompanionAsync((await IssueAsync(desktop)).Credential, "ext-device-policy");
        var other = await DesktopAsync();
        var otherCompanion = await CompanionAsync((await IssueAsync(other)).Credential, "ext-other-desk");
        await using var extension = await TestAgent.ConnectAsync(Host.AgentUri, companion.DeviceId, companion.Credential);
        await extension.ExpectWelcomeAsync();
        (await extension.ExpectAsync<PolicyFrame>()).Document.GetProperty("safety").GetProperty("atHome").GetBoolean().ShouldBeFalse("the default");
        await using var otherExtension = await TestAgent.ConnectAsync(Host.AgentUri, otherCompanion.DeviceId, otherCompanion.Credential);
        await otherExtension.ExpectWelcomeAsync();
        await otherExtension.ExpectAsync<PolicyFrame>();

        // Assigned to the computer itself (device level) while its browser is connected: the browser gets it at once.
        var profile = (await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "This desk", schoolId = _school, settings = new { safety = new { atHome = true } } }))
            .GetProperty("id").GetGuid();
        (await Host.PostJsonAsync("/api/assignments", new { profileId = profile, level = "device", scopeId = desktop.DeviceId.ToString() })).EnsureSuccessStatusCode();

        var updated = await extension.ExpectAsync<PolicyFrame>();
        updated.Document.GetProperty("safety").GetProperty("atHome").GetBoolean().ShouldBeTrue("the profile assigned to its desktop");
        (await otherExtension.NothingOfTypeAsync<PolicyFrame>(TimeSpan.FromSeconds(2))).ShouldBeTrue("another desktop's browser is not that desktop");

        // A browser connecting later gets the same.
        await using var again = await TestAgent.ConnectAsync(Host.AgentUri, companion.DeviceId, companion.Credential);
        await again.ExpectWelcomeAsync();
        (await again.ExpectAsync<PolicyFrame>()).Document.GetProperty("safety").GetProperty("atHome").GetBoolean().ShouldBeTrue();
    }

    private async Task<JsonElement> CommandCountsAsync(Guid commandId) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/commands/{commandId}")).GetProperty("counts");

    [Fact]
    public async Task Companion_BrowserCommandIssuedToTheDesktop_IsCarriedByItsBrowserOnTheDesktopsDelivery()
    {
        var desktop = await DesktopAsync();
        var credential = (await IssueAsync(desktop)).Credential;
        var companion = await CompanionAsync(credential, "ext-cmd-1");
        var later = await CompanionAsync(credential, "ext-cmd-2");
        await using var agent = await TestAgent.ConnectAsync(Host.AgentUri, desktop.DeviceId, desktop.Credential);
        await agent.ExpectWelcomeAsync();
        await using var extension = await TestAgent.ConnectAsync(Host.AgentUri, companion.DeviceId, companion.Credential);
        await extension.ExpectWelcomeAsync();

        var open = (await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "openUrl", arguments = new { url = "https://khanacademy.org/math" }, deviceIds = new[] { desktop.DeviceId } }))
            .GetProperty("id").GetGuid();

        var frame = await extension.ExpectAsync<CommandFrame>();
        frame.CommandId.ShouldBe(open);
        frame.Arguments!["url"].ShouldBe("https://khanacademy.org/math");
        await extension.AnswerAsync(frame);
        await Poll.UntilAsync(async () => (await CommandCountsAsync(open)).GetProperty("succeeded").GetInt32() == 1, HomeroomHost.Timeout);
        var deliveries = await Host.GetJsonAsync<JsonElement>($"/api/commands/{open}/deliveries");
        deliveries.GetProperty("items").GetArrayLength().ShouldBe(1, "the desktop's delivery is the one staff see");
        deliveries.GetProperty("items")[0].GetProperty("deviceId").GetGuid().ShouldBe(desktop.DeviceId);
        deliveries.GetProperty("items")[0].GetProperty("result").GetString().ShouldBe("done");

        // What is not the browser's stays with the desktop's agent; the browser neither gets it nor answers for it.
        var lockId = (await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "lock", deviceIds = new[] { desktop.DeviceId } })).GetProperty("id").GetGuid();
        var locked = await agent.ExpectAsync<CommandFrame>();
        locked.CommandId.ShouldBe(lockId, "the desktop's agent was never sent the openUrl");
        await extension.SendAsync(new CommandStatusFrame(lockId, CommandStatusValues.Succeeded, Result: "forged"));
        await agent.SendAsync(new CommandStatusFrame(lockId, CommandStatusValues.Acknowledged));
        await Poll.UntilAsync(async () => (await CommandCountsAsync(lockId)).GetProperty("acknowledged").GetInt32() == 1, HomeroomHost.Timeout);
        (await CommandCountsAsync(lockId)).GetProperty("succeeded").GetInt32().ShouldBe(0);
        (await extension.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromSeconds(1))).ShouldBeTrue("a lock is not the browser's");

        // Issued while the other browser profile is offline, it is carried when that one connects.
        var focus = (await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "endFocus", deviceIds = new[] { desktop.DeviceId } })).GetProperty("id").GetGuid();
        (await extension.ExpectAsync<CommandFrame>()).CommandId.ShouldBe(focus);
        await using var second = await TestAgent.ConnectAsync(Host.AgentUri, later.DeviceId, later.Credential);
        await second.ExpectWelcomeAsync();
        (await second.ExpectAsync<CommandFrame>()).CommandId.ShouldBe(focus);
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromSeconds(1))).ShouldBeTrue("the desktop's agent is sent no browser command");
    }

    [Fact]
    public async Task Companions_AreRevokedOnASwap_AndRevokedOnesDeletedAfterRetention()
    {
        var desktop = await DesktopAsync();
        var companion = await CompanionAsync((await IssueAsync(desktop)).Credential, "ext-swap");
        await using var extension = await TestAgent.ConnectAsync(Host.AgentUri, companion.DeviceId, companion.Credential);
        await extension.ExpectWelcomeAsync();
        var pool = (await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Spares", kind = "sparePool", schoolId = _school })).GetProperty("id").GetGuid();
        var spare = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: _school), "DESK-SPARE", DevicePlatform.Linux);
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{spare.DeviceId}", new { state = "spare" })).EnsureSuccessStatusCode();
        (await Host.PostJsonAsync($"/api/groups/{pool}/members", new { deviceIds = new[] { spare.DeviceId } })).EnsureSuccessStatusCode();

        (await Host.PostJsonAsync($"/api/devices/{desktop.DeviceId}/swap", new { spareId = spare.DeviceId, reason = "Broken hinge" })).EnsureSuccessStatusCode();

        (await extension.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.DeviceRevoked);
        var revokedAt = (await DbAsync(db => db.Devices.AsNoTracking().SingleAsync(d => d.Id == companion.DeviceId))).RevokedAt;
        revokedAt.ShouldNotBeNull("the broken computer's browser is not the spare's");
        var chromebook = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: _school), "CB-REVOKED");
        (await Host.Client.PostAsync($"/api/devices/{chromebook.DeviceId}/revoke", null)).EnsureSuccessStatusCode();

        var retention = Host.Services.GetRequiredService<CompanionRetention>();
        Host.Clock.Advance(TimeSpan.FromDays(89));
        await retention.PurgeAsync(CancellationToken.None);
        (await DbAsync(db => db.Devices.AnyAsync(d => d.Id == companion.DeviceId))).ShouldBeTrue("kept as long as activity is (90 days)");
        Host.Clock.Advance(TimeSpan.FromDays(2));
        await retention.PurgeAsync(CancellationToken.None);
        (await DbAsync(db => db.Devices.AnyAsync(d => d.Id == companion.DeviceId))).ShouldBeFalse();
        (await DbAsync(db => db.Devices.CountAsync(d => d.Id == desktop.DeviceId || d.Id == chromebook.DeviceId))).ShouldBe(2, "only companions are deleted");
    }

    [Fact]
    public async Task CompanionCredential_BadExpiredReplacedOrForeign_IsRefusedAndNeverActsAsADevice()
    {
        var desktop = await DesktopAsync();
        var first = await IssueAsync(desktop);
        var second = await IssueAsync(desktop);
        var chromebook = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: _school), "CB-REAL-1");

        using (var unknown = await EnrollExtensionAsync("hrc_" + new string('x', 43), "ext-a"))
        {
            await ShouldBeProblemAsync(unknown, HttpStatusCode.Unauthorized, "companion credential is not valid");
        }

        using (var replaced = await EnrollExtensionAsync(first.Credential, "ext-a"))
        {
            await ShouldBeProblemAsync(replaced, HttpStatusCode.Unauthorized, "companion credential is not valid");
        }

        using (var asADesktop = await EnrollExtensionAsync(second.Credential, "DESK-FORGED", DevicePlatform.Windows))
        {
            await ShouldBeProblemAsync(asADesktop, HttpStatusCode.Forbidden, "only the Homeroom browser extension");
        }

        using (var takeover = await EnrollExtensionAsync(second.Credential, "CB-REAL-1"))
        {
            await ShouldBeProblemAsync(takeover, HttpStatusCode.Conflict, "never takes over another device");
        }

        // Neither as the desktop's agent nor for another device: a companion credential is no device credential.
        await using (var asTheDesktop = await TestAgent.ConnectAsync(Host.AgentUri, desktop.DeviceId, second.Credential))
        {
            (await asTheDesktop.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.AuthenticationFailed);
        }

        using (var issuingAsIt = await CompanionRequestAsync(HttpMethod.Post, desktop.DeviceId, second.Credential))
        {
            issuingAsIt.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using (var forAChromebook = await CompanionRequestAsync(HttpMethod.Post, chromebook.DeviceId, chromebook.Credential))
        {
            await ShouldBeProblemAsync(forAChromebook, HttpStatusCode.Forbidden, "Only a desktop agent's device");
        }

        var companion = await CompanionAsync(second.Credential, "ext-b");
        using (var companionIssuing = await CompanionRequestAsync(HttpMethod.Post, companion.DeviceId, companion.Credential))
        {
            companionIssuing.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        using (var stealing = await EnrollExtensionAsync(second.Credential, "ext-b"))
        {
            await ShouldBeProblemAsync(stealing, HttpStatusCode.Conflict, "current credential");
        }

        (await CompanionAsync(second.Credential, "ext-b-again")).DeviceId.ShouldNotBe(companion.DeviceId);
        using (var tooMany = await EnrollExtensionAsync(second.Credential, "ext-c"))
        {
            await ShouldBeProblemAsync(tooMany, HttpStatusCode.Forbidden, "the most allowed");
        }

        Host.Clock.Advance(TimeSpan.FromDays(31));
        using (var expired = await EnrollExtensionAsync(second.Credential, "ext-d"))
        {
            await ShouldBeProblemAsync(expired, HttpStatusCode.Forbidden, "expired");
        }

        (await DbAsync(db => db.Devices.CountAsync(d => d.CompanionOf == desktop.DeviceId))).ShouldBe(2);
        (await DbAsync(db => db.Devices.CountAsync(d => d.Serial == "DESK-FORGED" || d.Serial == "ext-a" || d.Serial == "ext-c" || d.Serial == "ext-d"))).ShouldBe(0);
    }

    [Fact]
    public async Task Companions_AreRevoked_WhenTheAgentReleasesTheCredential_OrTheDesktopIsRevokedOrRetired()
    {
        var released = await DesktopAsync();
        var releasedCredential = (await IssueAsync(released)).Credential;
        var first = await CompanionAsync(releasedCredential, "ext-r1");
        await using var extension = await TestAgent.ConnectAsync(Host.AgentUri, first.DeviceId, first.Credential);
        await extension.ExpectWelcomeAsync();

        using (var release = await CompanionRequestAsync(HttpMethod.Delete, released.DeviceId, released.Credential))
        {
            release.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        }

        (await extension.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.DeviceRevoked);
        using (var again = await EnrollExtensionAsync(releasedCredential, "ext-r9"))
        {
            again.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        // Given again, the revoked browser enrolls again with the new credential (as itself, not a new record).
        var renewed = await CompanionAsync((await IssueAsync(released)).Credential, "ext-r1");
        renewed.DeviceId.ShouldBe(first.DeviceId);

        var revoked = await DesktopAsync();
        var second = await CompanionAsync((await IssueAsync(revoked)).Credential, "ext-r2");
        (await Host.Client.PostAsync($"/api/devices/{revoked.DeviceId}/revoke", null)).EnsureSuccessStatusCode();
        await using (var afterRevoke = await TestAgent.ConnectAsync(Host.AgentUri, second.DeviceId, second.Credential))
        {
            (await afterRevoke.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.DeviceRevoked);
        }

        var retired = await DesktopAsync();
        var retiredCredential = (await IssueAsync(retired)).Credential;
        var third = await CompanionAsync(retiredCredential, "ext-r3");
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{retired.DeviceId}", new { state = "retired" })).EnsureSuccessStatusCode();
        (await DbAsync(db => db.Devices.AsNoTracking().SingleAsync(d => d.Id == third.DeviceId))).RevokedAt.ShouldNotBeNull();
        using (var afterRetire = await EnrollExtensionAsync(retiredCredential, "ext-r4"))
        {
            afterRetire.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        (await DbAsync(db => db.AuditLog.CountAsync(a => a.Action == "device.companion.revoke"))).ShouldBe(3);
    }
}

public sealed class CompanionSqliteTests() : CompanionTests(DatabaseProvider.Sqlite);

public sealed class CompanionPostgresTests() : CompanionTests(DatabaseProvider.Postgres);
