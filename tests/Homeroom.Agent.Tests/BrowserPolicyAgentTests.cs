using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Agent.State;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Agent.Tests;

/// <summary>
/// Web filtering in desktop browsers end to end: a profile with a web filter and the Homeroom extension for desktop
/// browsers is assigned on the real server; the real agent writes the browsers' policy files (under a root directory
/// of the test's own), reports the policy applied with no failure and the capabilities available; unassigning takes
/// the files away again. Writing that fails is reported as the policy's failure.
/// </summary>
public sealed class BrowserPolicyAgentTests : AgentServerTest
{
    private const string Extension = "haldlgldplgnggkjaafhelgiaglafanh";

    /// <summary>What the Homeroom extension in a browser profile sends to enroll with the secret it finds in its managed configuration.</summary>
    private async Task<HttpResponseMessage> EnrollExtensionAsync(string secret, string serial)
    {
        using var client = Host.CreateClient();
        return await client.PostAsJsonAsync("/agent/v1/enroll", new Homeroom.Contracts.Enrollment.EnrollRequest(
            secret, Homeroom.Contracts.Enrollment.DevicePlatform.ChromeOS, serial, AgentVersion: "homeroom-extension/1.0.0"), HomeroomHost.Json);
    }

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<Guid> AssignFilterWithExtensionAsync()
    {
        var profile = await IdAsync("/api/profiles", new
        {
            name = "Filtered desktops",
            settings = new
            {
                webFilter = new { blockedSites = new[] { "games.example.org" } },
                desktopBrowsers = new
                {
                    extensionId = Extension,
                    // As pasted into Google Admin (parsed, so the test client's camelCase naming leaves "Value" alone).
                    extensionConfig = JsonDocument.Parse("""
                        {"serverUrl": {"Value": "https://homeroom.example.org"}, "enrollmentToken": {"Value": "hre_test"}}
                        """).RootElement,
                },
            },
        });
        return await IdAsync("/api/assignments", new { profileId = profile, level = "district" });
    }

    /// <summary>
    /// The device's policy once the agent applied the version the server holds now, with the blocked site or without, and
    /// reported it (applied, or not with its failures): the document the API shows is resolved live, so the version the
    /// agent stored is what tells the change arrived.
    /// </summary>
    private async Task<JsonElement> AppliedAsync(AgentUnderTest agent, Guid deviceId, bool blocking)
    {
        var file = new AgentPaths(StateDirectory).PolicyFile;
        JsonElement policy = default;
        await Poll.UntilAsync(async () =>
        {
            policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/policy");
            var version = policy.GetProperty("version").GetInt64();
            return File.Exists(file) && File.ReadAllText(file).Contains("games.example.org", StringComparison.Ordinal) == blocking
                && agent.Status.PolicyVersion == version
                && (policy.GetProperty("appliedVersion").GetInt64() == version || policy.GetProperty("applied").ValueKind == JsonValueKind.False);
        }, HomeroomHost.Timeout);
        return policy;
    }

    [Fact]
    public async Task ExtensionAssigned_WritesTheBrowsersPolicy_AndTheFilterIsApplied_ThenUnassigningRemovesIt()
    {
        var deviceId = await EnrollAsync();
        var root = AgentUnderTest.BrowserPolicyRoot(StateDirectory);
        string[] files =
        [
            Path.Combine(root, "etc/opt/chrome/policies/managed/homeroom.json"),
            Path.Combine(root, "etc/chromium/policies/managed/homeroom.json"),
            Path.Combine(root, "etc/opt/edge/policies/managed/homeroom.json"),
        ];
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();
        var assignment = await AssignFilterWithExtensionAsync();

        var policy = await AppliedAsync(agent, deviceId, blocking: true);
        policy.GetProperty("applied").GetBoolean().ShouldBeTrue(policy.GetProperty("failures").ToString());
        policy.GetProperty("compliant").GetBoolean().ShouldBeTrue();
        string? companionCredential = null;
        foreach (var file in files)
        {
            var written = JsonDocument.Parse(await File.ReadAllTextAsync(file)).RootElement;
            written.GetProperty("ExtensionInstallForcelist")[0].GetString().ShouldBe($"{Extension};https://clients2.google.com/service/update2/crx");
            var config = written.GetProperty("3rdparty").GetProperty("extensions").GetProperty(Extension);
            config.GetProperty("serverUrl").GetString().ShouldBe("https://homeroom.example.org");
            // The world-readable file carries this device's companion credential, never the district's enrollment token.
            config.TryGetProperty("enrollmentToken", out _).ShouldBeFalse();
            (await File.ReadAllTextAsync(file)).ShouldNotContain("hre_test");
            companionCredential ??= config.GetProperty("companionCredential").GetString();
            config.GetProperty("companionCredential").GetString().ShouldBe(companionCredential);
        }

        companionCredential.ShouldNotBeNull().ShouldStartWith("hrc_");
        // The extension enrolling with it becomes a companion of this desktop, not a device of its own.
        using var companion = await EnrollExtensionAsync(companionCredential, "profile-1");
        companion.StatusCode.ShouldBe(System.Net.HttpStatusCode.OK, await companion.Content.ReadAsStringAsync());
        var desktop = await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}");
        desktop.GetProperty("companions").GetArrayLength().ShouldBe(1);
        (await Host.GetJsonAsync<JsonElement>("/api/devices")).GetProperty("total").GetInt32().ShouldBe(1);

        File.Exists(Path.Combine(root, "etc/firefox/policies/policies.json")).ShouldBeFalse("no Firefox add-on is set");
        var live = Host.GetService<DeviceLiveState>();
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(deviceId)?.Any(c => c.Name == CapabilityNames.WebFilter && c.Available) == true), HomeroomHost.Timeout);
        live.Capabilities(deviceId)!.ShouldContain(new AgentCapability(CapabilityNames.BrowserPolicy, true));

        (await Host.Client.DeleteAsync($"/api/assignments/{assignment}")).EnsureSuccessStatusCode();

        policy = await AppliedAsync(agent, deviceId, blocking: false);
        policy.GetProperty("applied").GetBoolean().ShouldBeTrue(policy.GetProperty("failures").ToString());
        files.ShouldAllBe(f => !File.Exists(f));
        // The policy gone, the agent gave the credential back: the browser's companion is revoked, the credential enrolls nothing.
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}")).GetProperty("companions")[0].GetProperty("revokedAt").ValueKind.ShouldBe(JsonValueKind.String);
        using var refused = await EnrollExtensionAsync(companionCredential, "profile-2");
        refused.StatusCode.ShouldBe(System.Net.HttpStatusCode.Unauthorized);
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(deviceId)?.Any(c => c.Name == CapabilityNames.WebFilter && !c.Available) == true), HomeroomHost.Timeout);
    }

    [Fact]
    public async Task ExtensionAssigned_PolicyCannotBeWritten_IsReportedAsTheFailure()
    {
        var deviceId = await EnrollAsync();
        var root = AgentUnderTest.BrowserPolicyRoot(StateDirectory);
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "etc"), "a file where /etc should be: nothing can be written under it");
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();
        await AssignFilterWithExtensionAsync();

        // A version reported not applied leaves the applied version where it was: wait for the report itself.
        JsonElement policy = default;
        await Poll.UntilAsync(async () =>
        {
            policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/policy");
            return policy.GetProperty("applied").ValueKind == JsonValueKind.False;
        }, HomeroomHost.Timeout);
        policy.GetProperty("compliant").GetBoolean().ShouldBeFalse();
        var failures = policy.GetProperty("failures").GetString()!;
        failures.ShouldContain("desktopBrowsers: Google Chrome's policy");
        failures.ShouldContain("could not be written");
        failures.ShouldContain("webFilter: desktop browsers are not filtered: the Homeroom extension's browser policy could not be written");
        var live = Host.GetService<DeviceLiveState>();
        await Poll.UntilAsync(() => Task.FromResult(live.Capabilities(deviceId)?.Any(c => c.Name == CapabilityNames.BrowserPolicy && !c.Available) == true), HomeroomHost.Timeout);
    }
}
