using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Agent.State;
using Homeroom.Agent.Tests.Support;
using Homeroom.Server.Data;
using Homeroom.Server.Scripts;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Agent.Tests;

/// <summary>
/// Approved scripts on the real Linux agent against the real server: a signed script runs with bash and reports its
/// output and exit code; a body or signature changed after approval (here, in the server's database) is refused and
/// never run; the time limit kills a script that sleeps, with its child processes.
/// </summary>
public sealed class ScriptAgentTests() : AgentServerTest()
{
    private async Task<Guid> ApprovedAsync(string body, int timeLimitSeconds)
    {
        var id = (await Host.PostJsonAsync<JsonElement>("/api/scripts", new { name = "Agent test", description = "", platform = "linux", body, timeLimitSeconds })).GetProperty("id").GetGuid();
        (await Host.PostJsonAsync($"/api/scripts/{id}/approve", new { version = 1 })).EnsureSuccessStatusCode();
        return id;
    }

    private async Task<Guid> RunAsync(Guid deviceId, Guid scriptId)
    {
        using var response = await Host.PostJsonAsync($"/api/devices/{deviceId}/scripts", new { scriptId });
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("commandId").GetGuid();
    }

    private async Task<JsonElement> OutputAsync(Guid deviceId, Guid commandId)
    {
        JsonElement run = default;
        await Poll.UntilAsync(async () =>
        {
            run = (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/scripts")).EnumerateArray().Single(r => r.GetProperty("commandId").GetGuid() == commandId);
            return run.GetProperty("output").ValueKind == JsonValueKind.Object;
        }, HomeroomHost.Timeout);
        return run.GetProperty("output");
    }

    private string ScriptsDirectory => Path.Combine(StateDirectory, "scripts");

    [Fact]
    public async Task SignedScript_RunsWithBash_ReportsOutputAndExitCode()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();
        var marker = Path.Combine(Host.Database.DataDirectory, $"ran-{Guid.NewGuid():N}");
        var script = await ApprovedAsync($"echo \"bash $BASH_VERSION\"\necho 'to stderr' >&2\ntouch '{marker}'\nexit 3\n", 30);

        var commandId = await RunAsync(deviceId, script);

        (await WaitForDeliveryAsync(commandId, "succeeded")).GetProperty("result").GetString().ShouldBe("exit code 3");
        var output = await OutputAsync(deviceId, commandId);
        output.GetProperty("exitCode").GetInt32().ShouldBe(3);
        output.GetProperty("timedOut").GetBoolean().ShouldBeFalse();
        output.GetProperty("stdout").GetString()!.ShouldMatch(@"^bash \d+\.\d+");
        output.GetProperty("stderr").GetString().ShouldBe("to stderr\n");
        File.Exists(marker).ShouldBeTrue();
        // The agent kept the key the server named, and the script's file is gone.
        (await File.ReadAllBytesAsync(new AgentPaths(StateDirectory).ScriptKeyFile)).ShouldBe(Host.GetService<ScriptSigningKey>().PublicKey);
        Directory.EnumerateFileSystemEntries(ScriptsDirectory).ShouldBeEmpty();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ChangedAfterApproval_RefusedAndNeverRun(bool rehashed)
    {
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();
        var marker = Path.Combine(Host.Database.DataDirectory, $"tampered-{Guid.NewGuid():N}");
        var script = await ApprovedAsync("echo harmless\n", 30);

        // Someone with the database changes the approved body (and, the second time, its hash to match).
        var tampered = $"touch '{marker}'\n";
        await using (var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var hash = Homeroom.Contracts.Agents.ScriptSigning.Hash(System.Text.Encoding.UTF8.GetBytes(tampered));
            await db.Set<ScriptVersion>().Where(v => v.ScriptId == script)
                .ExecuteUpdateAsync(s => s.SetProperty(v => v.Body, tampered).SetProperty(v => v.Sha256, v => rehashed ? hash : v.Sha256));
        }

        var commandId = await RunAsync(deviceId, script);

        var error = (await WaitForDeliveryAsync(commandId, "failed")).GetProperty("error").GetString()!;
        error.ShouldStartWith("runScript refused: ");
        error.ShouldContain(rehashed ? "signature does not verify" : "does not match its signed hash");
        error.ShouldEndWith("nothing was run");
        File.Exists(marker).ShouldBeFalse();
        Directory.Exists(ScriptsDirectory).ShouldBeFalse("nothing of a refused script is written to disk");
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/scripts"))[0].GetProperty("output").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [Fact]
    public async Task TimeLimit_KillsASleepingScriptAndItsChildren()
    {
        var deviceId = await EnrollAsync();
        await using var agent = await AgentUnderTest.StartAsync(StateDirectory);
        await agent.WaitConnectedAsync();
        var marker = Path.Combine(Host.Database.DataDirectory, $"late-{Guid.NewGuid():N}");
        // A sleep no other process has: found in /proc if it outlived the kill.
        var seconds = $"300.{Random.Shared.Next(100_000, 999_999)}";
        var script = await ApprovedAsync($"echo started\nsleep {seconds}\ntouch '{marker}'\n", 2);

        var commandId = await RunAsync(deviceId, script);

        (await WaitForDeliveryAsync(commandId, "failed")).GetProperty("error").GetString().ShouldBe("stopped at its time limit of 2 s");
        var output = await OutputAsync(deviceId, commandId);
        output.GetProperty("timedOut").GetBoolean().ShouldBeTrue();
        output.GetProperty("exitCode").ValueKind.ShouldBe(JsonValueKind.Null);
        output.GetProperty("stdout").GetString().ShouldBe("started\n");
        output.GetProperty("milliseconds").GetInt32().ShouldBeGreaterThanOrEqualTo(2_000);
        var survivors = Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)).Where(d =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(d, "cmdline")).Contains(seconds, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        }).ToList();
        survivors.ShouldBeEmpty();
        File.Exists(marker).ShouldBeFalse();
        Directory.EnumerateFileSystemEntries(ScriptsDirectory).ShouldBeEmpty();
    }
}
