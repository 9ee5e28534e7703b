using System.Text.Json;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Agent.Tests;

/// <summary>
/// <c>scripts/package-agent.sh</c> as a release would run it, for Linux: the agent compiled with Native AOT
/// and its .deb. The packaged program (not the test's in-process agent) enrolls with a real server,
/// which shows the single file runs without a .NET installation's help.
/// </summary>
public sealed class PackagingTests : IAsyncLifetime
{
    private readonly string _work = Directory.CreateTempSubdirectory("homeroom-package-").FullName;
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task LinuxPackage_HoldsTheAgentAndAUnitThatEnrollsFromItsConfig_AndTheSingleFileEnrolls()
    {
        var output = await AgentPrograms.PackageOutputAsync();

        var deb = Path.Combine(output, "homeroom-agent_1.0.0_amd64.deb");
        (await AgentPrograms.RunAsync("dpkg-deb", HomeroomHost.Timeout, "--field", deb, "Package", "Version", "Architecture")).Output
            .ShouldBe("Package: homeroom-agent\nVersion: 1.0.0\nArchitecture: amd64\n");
        var listing = (await AgentPrograms.RunAsync("dpkg-deb", HomeroomHost.Timeout, "--contents", deb)).Output;
        listing.ShouldContain("-rwxr-xr-x root/root");
        listing.ShouldContain("./usr/lib/homeroom-agent/homeroom-agent");
        listing.ShouldContain("./usr/bin/homeroom-agent -> ../lib/homeroom-agent/homeroom-agent");
        listing.ShouldContain("./lib/systemd/system/homeroom-agent.service");
        listing.ShouldContain("./usr/share/applications/homeroom-help.desktop");

        var unpacked = Path.Combine(_work, "root");
        (await AgentPrograms.RunAsync("dpkg-deb", HomeroomHost.Timeout, "--extract", deb, unpacked)).Code.ShouldBe(0);
        var unit = await File.ReadAllTextAsync(Path.Combine(unpacked, "lib/systemd/system/homeroom-agent.service"));
        unit.ShouldContain("ExecStart=/usr/lib/homeroom-agent/homeroom-agent run --state /var/lib/homeroom-agent --config /etc/homeroom-agent/agent.json");
        // The applications menu's "I need help" runs the help command as the student.
        (await File.ReadAllTextAsync(Path.Combine(unpacked, "usr/share/applications/homeroom-help.desktop"))).ShouldContain("Exec=/usr/bin/homeroom-agent help\n");
        var control = Path.Combine(_work, "control");
        (await AgentPrograms.RunAsync("dpkg-deb", HomeroomHost.Timeout, "--control", deb, control)).Code.ShouldBe(0);
        File.GetUnixFileMode(Path.Combine(control, "postinst")).HasFlag(UnixFileMode.UserExecute).ShouldBeTrue();

        // The checksums the release publishes match what was built.
        var sums = (await File.ReadAllLinesAsync(Path.Combine(output, "SHA256SUMS"))).Select(line => line.Split("  ")).ToDictionary(p => p[1], p => p[0]);
        sums.Keys.ShouldBe(["linux-x64/homeroom-agent", "homeroom-agent_1.0.0_amd64.deb"], ignoreOrder: true);
        sums["homeroom-agent_1.0.0_amd64.deb"].ShouldBe(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(deb))));

        // The program from the package, run as its own process with no DOTNET_ROOT, enrolls and reports its state.
        var agent = Path.Combine(unpacked, "usr/lib/homeroom-agent/homeroom-agent");
        var state = Path.Combine(_work, "state");
        var token = await _host.CreateTokenAsync(maxUses: 1);
        var enrolled = await AgentPrograms.RunAsync(agent, HomeroomHost.Timeout, "enroll", "--server", _host.BaseAddress.ToString(), "--token", token, "--name", "packaged-laptop", "--state", state);
        enrolled.Code.ShouldBe(0, enrolled.Output);
        enrolled.Output.ShouldContain("Enrolled as device");
        var devices = await _host.GetJsonAsync<JsonElement>("/api/devices?search=packaged-laptop");
        devices.GetProperty("items").EnumerateArray().Single().GetProperty("platform").GetString().ShouldBe("linux");
        (await AgentPrograms.RunAsync(agent, HomeroomHost.Timeout, "status", "--state", state)).Output.ShouldStartWith($"Server {_host.BaseAddress}");

        // Native AOT: no JIT runtime inside (a single file holds the runtime's TieredCompilation settings and the bundled
        // assemblies' homeroom-agent.deps.json), and what used reflection works without it.
        var program = await File.ReadAllBytesAsync(agent);
        program.AsSpan().IndexOf("TieredCompilation"u8).ShouldBe(-1);
        program.AsSpan().IndexOf("homeroom-agent.deps.json"u8).ShouldBe(-1);
        var inventory = await AgentPrograms.RunAsync(agent, HomeroomHost.Timeout, "inventory");
        inventory.Code.ShouldBe(0, inventory.Output);
        var report = JsonDocument.Parse(inventory.Output).RootElement;
        report.GetProperty("facts").GetProperty("osName").GetString().ShouldNotBeNullOrEmpty();
        report.GetProperty("apps").GetInt32().ShouldBeGreaterThan(0);
        report.GetProperty("capabilities").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ShouldContain(CapabilityNames.OsUpdates);
    }
}
