using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Agent.State;
using Homeroom.Agent.Tests.Support;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The desktop agent reports who is signed in, and a shared device follows them: the real server, the real agent and
/// a user-session helper connected as another user (uid 65534, <c>nobody</c>, through setpriv) over the real local
/// channel. The service takes that user from the kernel (<c>SO_PEERCRED</c>), reports <c>nobody@north.example.org</c>,
/// and the server gives the device that student's policy; when the helper goes (sign-out) the cart's policy returns.
/// </summary>
public sealed class SignedInUserTests : AgentServerTest
{
    private const uint Nobody = 65534;
    private readonly string _socket = $"homeroom-test/{Guid.NewGuid():N}";

    // A session helper as far as the channel goes: says hello for its display, prints the service's answer, and stays
    // connected until its input closes (the student signing out). The real helper needs an X display; who it runs as is
    // what matters here, and this one runs as another user.
    private const string StandInHelper = """
        import json, socket, struct, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("\0" + sys.argv[1])
        body = json.dumps({"type": "hello", "display": ":0"}).encode()
        s.sendall(struct.pack(">I", len(body)) + body)
        header = s.recv(4)
        length = struct.unpack(">I", header)[0]
        data = b""
        while len(data) < length:
            data += s.recv(length - len(data))
        print(json.loads(data)["type"], flush=True)
        sys.stdin.read()
        s.close()
        """;

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task AssignAsync(string name, string lockMessage, string level, string scopeId)
    {
        var profile = await IdAsync("/api/profiles", new { name, settings = new { device = new { lockMessage } } });
        await IdAsync("/api/assignments", new { profileId = profile, level, scopeId });
    }

    private async Task<string> ResolvedLockMessageAsync(Guid deviceId)
    {
        var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/policy");
        return policy.GetProperty("settings").EnumerateArray().Single(s => s.GetProperty("key").GetString() == "device.lockMessage").GetProperty("value").GetString()!;
    }

    /// <summary>Waits until the policy the agent applied and stored carries <paramref name="lockMessage"/>.</summary>
    private async Task AgentAppliesAsync(string lockMessage)
    {
        var file = new AgentPaths(StateDirectory).PolicyFile;
        await Poll.UntilAsync(() => Task.FromResult(File.Exists(file) && File.ReadAllText(file).Contains(lockMessage, StringComparison.Ordinal)), HomeroomHost.Timeout);
    }

    private static Process StartHelperAsNobody(string socket)
    {
        File.Exists("/usr/bin/setpriv").ShouldBeTrue("setpriv (util-linux) runs the helper as another user");
        var start = new ProcessStartInfo("/usr/bin/setpriv") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var part in (string[])[$"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "/usr/bin/python3", "-c", StandInHelper, socket])
        {
            start.ArgumentList.Add(part);
        }

        return Process.Start(start)!;
    }

    [Fact]
    public async Task SharedDevice_HelperConnectsAsAStudent_GetsTheirPolicy_AndSignOutReturnsTheCartPolicy()
    {
        var north = await IdAsync("/api/schools", new { name = "North", timeZone = "UTC" });
        var student = await IdAsync("/api/people", new { kind = "student", givenName = "Nora", familyName = "Body", email = "nobody@north.example.org", gradeLevel = 7, schoolId = north });
        await AssignAsync("Cart", "Cart device", "school", north.ToString());
        await AssignAsync("Grade 7", "Grade seven", "grade", "7");
        var deviceId = await EnrollAsync(await Host.CreateTokenAsync(maxUses: 1, schoolId: north));
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{deviceId}", new { shared = true }, HomeroomHost.Json)).EnsureSuccessStatusCode();

        await using var agent = await AgentUnderTest.StartAsync(StateDirectory, configure: options =>
        {
            options.SessionSocketName = _socket;
            options.SessionHelperUids = new HashSet<uint> { Nobody };
            options.UserEmailDomain = "north.example.org";
        });
        await agent.WaitConnectedAsync();
        await agent.Sessions.Listening.WaitAsync(HomeroomHost.Timeout);
        // Nobody at the screen (no helper, and no logind sessions in this container): the cart's own policy.
        await AgentAppliesAsync("Cart device");
        (await ResolvedLockMessageAsync(deviceId)).ShouldBe("Cart device");

        using var helper = StartHelperAsNobody(_socket);
        try
        {
            (await helper.StandardOutput.ReadLineAsync().WaitAsync(HomeroomHost.Timeout)).ShouldBe("welcome", await ErrorsAsync(helper));
            agent.Sessions.HelperUsers.ShouldBe([(":0", Nobody)]);

            // The helper's user is the student: the server matches the address and the device follows them.
            await AgentAppliesAsync("Grade seven");
            (await ResolvedLockMessageAsync(deviceId)).ShouldBe("Grade seven");
            var signedIn = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}")).GetProperty("signedIn");
            signedIn.GetProperty("email").GetString().ShouldBe("nobody@north.example.org");
            signedIn.GetProperty("personId").GetGuid().ShouldBe(student);
        }
        finally
        {
            helper.StandardInput.Close();
            await helper.WaitForExitAsync().WaitAsync(HomeroomHost.Timeout);
        }

        // Sign-out: the helper went away and nobody else is at the screen, so the cart's policy returns.
        await AgentAppliesAsync("Cart device");
        (await ResolvedLockMessageAsync(deviceId)).ShouldBe("Cart device");
        var after = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}")).GetProperty("signedIn");
        after.GetProperty("email").ValueKind.ShouldBe(JsonValueKind.Null);
        after.GetProperty("personId").ValueKind.ShouldBe(JsonValueKind.Null);
        var audit = (await Host.GetJsonAsync<JsonElement>($"/api/audit?targetId={deviceId}")).GetProperty("items").EnumerateArray()
            .Select(e => e.GetProperty("action").GetString()).ToList();
        audit.ShouldContain("device.sign-in");
        audit.ShouldContain("device.sign-out");
    }

    [Fact]
    public async Task UserEmailDomain_NotADomainName_OnTheCommandLineOrInTheConfigFile_StopsTheAgentWithTheReason()
    {
        var (code, _, error) = await CliAsync("run", "--user-email-domain", "north example.org");
        code.ShouldBe(AgentCli.Usage);
        error.ShouldContain("The user e-mail domain must be a domain name");

        var config = Path.Combine(Host.Database.DataDirectory, "agent.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new { server = Network.Address.ToString(), token = "hre_unused", userEmailDomain = "@north.example.org" }));
        (code, _, error) = await CliAsync("run", "--config", config);
        code.ShouldBe(AgentCli.Usage);
        error.ShouldContain("not '@north.example.org'");
        File.Exists(new AgentPaths(StateDirectory).CredentialFile).ShouldBeFalse("nothing was enrolled");
    }

    private static async Task<string> ErrorsAsync(Process process) =>
        process.HasExited ? await process.StandardError.ReadToEndAsync() : "the helper is still running";
}
