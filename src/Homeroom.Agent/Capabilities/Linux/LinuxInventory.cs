using System.Buffers.Binary;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Linux;

/// <summary>
/// Inventory read from the Linux system itself: <c>/etc/os-release</c>, <c>/sys/class/dmi/id</c>,
/// <c>/proc/meminfo</c>, the root file system's size (statvfs, through <see cref="DriveInfo"/>), the
/// network interfaces that are up, the users logged in (<c>/run/utmp</c>) and the installed packages
/// (<c>/var/lib/dpkg/status</c>). A fact that cannot be read is left out, never made up.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxInventory(InstallationId installation) : IInventoryCapability, IApplicationsCapability
{
    private const string DpkgStatus = "/var/lib/dpkg/status";
    private const int UtmpRecordSize = 384;
    private const int UtmpUserProcess = 7;

    public IEnumerable<AgentCapability> Describe() =>
    [
        new(CapabilityNames.Inventory, true),
        File.Exists(DpkgStatus)
            ? new(CapabilityNames.Applications, true)
            : new(CapabilityNames.Applications, false, "no dpkg package database on this system (only Debian-family distributions are read)"),
    ];

    public DeviceFacts Read()
    {
        var release = ReadKeyValues("/etc/os-release");
        var storage = RootStorage();
        return new DeviceFacts(
            release.GetValueOrDefault("NAME") ?? "Linux",
            release.GetValueOrDefault("VERSION_ID") ?? release.GetValueOrDefault("VERSION"),
            Dmi("product_name"),
            Dmi("sys_vendor"),
            Dmi("product_serial") is { } serial && IsRealSerial(serial) ? serial : installation.Value,
            storage.Total,
            storage.Free,
            MemoryTotal(),
            LoggedInUsers(),
            UpInterfaces());
    }

    public IReadOnlyList<InstalledApp> ListInstalled() => File.Exists(DpkgStatus) ? ReadDpkgStatus(File.ReadLines(DpkgStatus)) : [];

    /// <summary>The packages dpkg lists as installed (<c>Status: install ok installed</c>), by name, with their versions.</summary>
    internal static IReadOnlyList<InstalledApp> ReadDpkgStatus(IEnumerable<string> lines)
    {
        var apps = new List<InstalledApp>();
        string? package = null, version = null, status = null, architecture = null;
        void Flush()
        {
            if (package is not null && status is not null && status.EndsWith(" installed", StringComparison.Ordinal) && package.Length <= ProtocolLimits.MaxShortText)
            {
                var id = architecture is null or "all" or "amd64" or "arm64" ? package : package + ":" + architecture;
                apps.Add(new InstalledApp(id[..Math.Min(id.Length, ProtocolLimits.MaxShortText)], package, version?[..Math.Min(version.Length, ProtocolLimits.MaxShortText)]));
            }

            package = version = status = architecture = null;
        }

        foreach (var line in lines)
        {
            if (line.Length == 0)
            {
                Flush();
            }
            else if (line.StartsWith("Package: ", StringComparison.Ordinal))
            {
                package = line[9..].Trim();
            }
            else if (line.StartsWith("Version: ", StringComparison.Ordinal))
            {
                version = line[9..].Trim();
            }
            else if (line.StartsWith("Status: ", StringComparison.Ordinal))
            {
                status = line[8..].Trim();
            }
            else if (line.StartsWith("Architecture: ", StringComparison.Ordinal))
            {
                architecture = line[14..].Trim();
            }
        }

        Flush();
        return apps.DistinctBy(a => a.Id, StringComparer.Ordinal).OrderBy(a => a.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>The users with a session in a utmp file (glibc's 384-byte records: type at 0, user name at 44, 32 bytes).</summary>
    internal static IReadOnlyList<string> ReadUtmp(ReadOnlySpan<byte> utmp)
    {
        var users = new SortedSet<string>(StringComparer.Ordinal);
        for (var offset = 0; offset + UtmpRecordSize <= utmp.Length; offset += UtmpRecordSize)
        {
            var record = utmp.Slice(offset, UtmpRecordSize);
            if (BinaryPrimitives.ReadInt16LittleEndian(record) != UtmpUserProcess)
            {
                continue;
            }

            var name = record.Slice(44, 32);
            var end = name.IndexOf((byte)0);
            var user = Encoding.UTF8.GetString(end < 0 ? name : name[..end]);
            if (user.Length > 0)
            {
                users.Add(user);
            }
        }

        return [.. users];
    }

    internal static Dictionary<string, string> ReadKeyValues(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return values;
        }

        foreach (var line in File.ReadLines(path))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || line.StartsWith('#'))
            {
                continue;
            }

            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && value[0] == value[^1] && value[0] is '"' or '\'')
            {
                value = value[1..^1];
            }

            values[line[..equals].Trim()] = value;
        }

        return values;
    }

    private static IReadOnlyList<string> LoggedInUsers()
    {
        foreach (var path in (string[])["/run/utmp", "/var/run/utmp"])
        {
            try
            {
                if (File.Exists(path))
                {
                    return ReadUtmp(File.ReadAllBytes(path));
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return [];
    }

    private static string? Dmi(string name)
    {
        try
        {
            var path = Path.Combine("/sys/class/dmi/id", name);
            var value = File.Exists(path) ? File.ReadAllText(path).Trim() : null;
            return string.IsNullOrEmpty(value) ? null : value[..Math.Min(value.Length, ProtocolLimits.MaxShortText)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // product_serial is readable by root only
        }
    }

    private static bool IsRealSerial(string serial) =>
        serial.Length <= 128 && !serial.Contains("O.E.M", StringComparison.OrdinalIgnoreCase) && !serial.Equals("None", StringComparison.OrdinalIgnoreCase)
        && !serial.StartsWith("Default", StringComparison.OrdinalIgnoreCase) && !serial.All(c => c is '0' or ' ');

    private static (long? Total, long? Free) RootStorage()
    {
        try
        {
            var root = new DriveInfo("/");
            return (root.TotalSize, root.AvailableFreeSpace);
        }
        catch (IOException)
        {
            return (null, null);
        }
    }

    private static long? MemoryTotal()
    {
        if (!File.Exists("/proc/meminfo"))
        {
            return null;
        }

        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal)
                && long.TryParse(line[9..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), out var kilobytes))
            {
                return kilobytes * 1024;
            }
        }

        return null;
    }

    internal static IReadOnlyList<NetworkInterfaceFacts> UpInterfaces() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .Select(n =>
            {
                var addresses = n.GetIPProperties().UnicastAddresses.Select(a => a.Address).ToList();
                var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
                return new NetworkInterfaceFacts(n.Name, KindOf(n.Name, n.NetworkInterfaceType), address?.ToString());
            })
            .Where(n => n.IpAddress is not null)
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .ToList();

    private static string KindOf(string name, NetworkInterfaceType type) =>
        Directory.Exists($"/sys/class/net/{name}/wireless") || type == NetworkInterfaceType.Wireless80211 ? "wifi"
        : type is NetworkInterfaceType.Ethernet or NetworkInterfaceType.GigabitEthernet or NetworkInterfaceType.FastEthernetT ? "ethernet"
        : type is NetworkInterfaceType.Wman or NetworkInterfaceType.Wwanpp or NetworkInterfaceType.Wwanpp2 ? "cellular"
        : "other";
}
