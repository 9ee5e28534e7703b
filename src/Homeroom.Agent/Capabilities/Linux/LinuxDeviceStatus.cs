using System.Runtime.Versioning;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Linux;

/// <summary>Battery from <c>/sys/class/power_supply</c> and the network from the interfaces that are up.</summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxDeviceStatus : IDeviceStatusCapability
{
    private const string PowerSupplies = "/sys/class/power_supply";

    public IEnumerable<AgentCapability> Describe() =>
    [
        BatteryDirectory() is null
            ? new(CapabilityNames.Battery, false, "this device has no battery (no /sys/class/power_supply entry of type Battery)")
            : new(CapabilityNames.Battery, true),
        new(CapabilityNames.Network, true),
    ];

    public BatteryState? Battery()
    {
        var directory = BatteryDirectory();
        if (directory is null || !int.TryParse(ReadOrNull(Path.Combine(directory, "capacity")), out var level))
        {
            return null;
        }

        var status = ReadOrNull(Path.Combine(directory, "status"));
        return new BatteryState(Math.Clamp(level, 0, 100), status is "Charging" or "Full");
    }

    public NetworkState? Network()
    {
        var first = LinuxInventory.UpInterfaces().OrderBy(n => n.Kind switch { "ethernet" => 0, "wifi" => 1, _ => 2 }).FirstOrDefault();
        return first is null ? null : new NetworkState(first.Kind, null, first.IpAddress);
    }

    private static string? BatteryDirectory()
    {
        if (!Directory.Exists(PowerSupplies))
        {
            return null;
        }

        return Directory.EnumerateDirectories(PowerSupplies).FirstOrDefault(d => ReadOrNull(Path.Combine(d, "type")) == "Battery");
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
