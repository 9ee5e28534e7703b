using System.Runtime.Versioning;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Linux;

/// <summary>Restart and shutdown through systemd (<c>systemctl reboot</c>, <c>systemctl poweroff</c>).</summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxPower(IOsCommandRunner runner, string? systemctl) : IPowerCapability
{
    /// <summary>Where systemctl is on this machine, or null.</summary>
    public static string? FindSystemctl() => ((string[])["/usr/bin/systemctl", "/bin/systemctl"]).FirstOrDefault(File.Exists);

    private const string Missing = "systemctl was not found: this system does not run systemd";

    public IEnumerable<AgentCapability> Describe() =>
    [
        new(CapabilityNames.Restart, systemctl is not null, systemctl is null ? Missing : null),
        new(CapabilityNames.Shutdown, systemctl is not null, systemctl is null ? Missing : null),
    ];

    public Task<string?> RestartAsync(CancellationToken cancellationToken) => RunAsync("reboot", cancellationToken);

    public Task<string?> ShutdownAsync(CancellationToken cancellationToken) => RunAsync("poweroff", cancellationToken);

    private async Task<string?> RunAsync(string verb, CancellationToken cancellationToken)
    {
        if (systemctl is null)
        {
            return Missing;
        }

        var exit = await runner.RunAsync(systemctl, [verb], cancellationToken);
        return exit == 0 ? null : $"systemctl {verb} exited with {exit}";
    }
}
