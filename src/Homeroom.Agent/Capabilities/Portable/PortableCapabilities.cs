using System.Runtime.InteropServices;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Portable;

/// <summary>
/// Windows and macOS in this build: only what .NET itself reads the same way everywhere (the OS
/// description and version, the system drive's size, the network interfaces). The platform-specific
/// parts (hardware model and serial, battery, restart, and on macOS installed applications) are not written
/// yet and are reported as not available on this build, with that reason; nothing is made up. On Windows the
/// installed applications come from <see cref="Windows.WindowsInstalledPrograms"/>.
/// </summary>
public sealed class PortableCapabilities(InstallationId installation) : IInventoryCapability, IApplicationsCapability, IDeviceStatusCapability, IPowerCapability
{
    private static string Platform => OperatingSystem.IsWindows() ? "Windows" : OperatingSystem.IsMacOS() ? "macOS" : RuntimeInformation.OSDescription;

    private static string NotOnThisBuild => $"not available on this build of the agent for {Platform}";

    public IEnumerable<AgentCapability> Describe() =>
    [
        new(CapabilityNames.Inventory, true),
        .. OperatingSystem.IsWindows() ? Array.Empty<AgentCapability>() : [new(CapabilityNames.Applications, false, NotOnThisBuild)],
        new(CapabilityNames.Battery, false, NotOnThisBuild),
        new(CapabilityNames.Network, true),
        new(CapabilityNames.Restart, false, NotOnThisBuild),
        new(CapabilityNames.Shutdown, false, NotOnThisBuild),
    ];

    public DeviceFacts Read()
    {
        long? total = null, free = null;
        try
        {
            var system = new DriveInfo(Path.GetPathRoot(Environment.SystemDirectory) is { Length: > 0 } root ? root : "/");
            (total, free) = (system.TotalSize, system.AvailableFreeSpace);
        }
        catch (IOException)
        {
        }

        var interfaces = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up
                && n.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
            .Select(n => new NetworkInterfaceFacts(n.Name, n.NetworkInterfaceType == System.Net.NetworkInformation.NetworkInterfaceType.Wireless80211 ? "wifi" : "other",
                n.GetIPProperties().UnicastAddresses.FirstOrDefault()?.Address.ToString()))
            .ToList();
        return new DeviceFacts(Platform, Environment.OSVersion.Version.ToString(), null, null, installation.Value, total, free, null, [], interfaces);
    }

    public IReadOnlyList<InstalledApp> ListInstalled() => [];

    public BatteryState? Battery() => null;

    public NetworkState? Network() => null;

    public Task<string?> RestartAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(NotOnThisBuild);

    public Task<string?> ShutdownAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(NotOnThisBuild);
}
