using System.Globalization;
using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using Homeroom.Agent.Capabilities;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Diagnostics;

/// <summary>
/// Gathers a <see cref="DiagnosticsReport"/> from this machine: OS and agent versions, uptime, file systems, memory,
/// batteries, network interfaces, connection tests to the Homeroom server and the district's sites, the agent's
/// recent log lines (redacted), the policy version applied and the OS's pending updates as of the agent's last check
/// (never a new check: that can take minutes). On Linux it reads <c>/proc</c> and <c>/sys</c>; elsewhere
/// what .NET gives, naming in <see cref="DiagnosticsReport.Unavailable"/> what it could not read.
/// </summary>
public sealed class DiagnosticsGatherer(IInventoryCapability inventory, Capabilities.Updates.IOsUpdatesCapability osUpdates, RecentLogLines logs, AgentStatus status, TimeProvider time) : ICapability
{
    public IEnumerable<AgentCapability> Describe() => [new(CapabilityNames.Diagnostics, true)];

    /// <summary>Log lines sent at most (fewer when the frame would not fit).</summary>
    public const int LogLinesSent = 100;

    // File systems that hold no data of the device's own.
    private static readonly HashSet<string> PseudoFileSystems = new(StringComparer.Ordinal)
    {
        "proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "mqueue", "securityfs", "debugfs", "tracefs", "pstore", "bpf",
        "autofs", "configfs", "fusectl", "hugetlbfs", "binfmt_misc", "nsfs", "ramfs", "squashfs", "efivarfs", "rpc_pipefs", "selinuxfs", "fuse.portal",
    };

    /// <summary>The report, with the connection tests run in parallel, each within <paramref name="probeTimeout"/>.</summary>
    public async Task<DiagnosticsReport> GatherAsync(Uri server, IReadOnlyList<Uri> sites, TimeSpan probeTimeout, CancellationToken cancellationToken)
    {
        var unavailable = new List<string>();
        var facts = inventory.Read();
        var probes = new List<Task<ConnectivityCheck>> { ConnectivityProbe.TestAsync(ConnectivityTargets.Homeroom, new Uri(server, "healthz"), probeTimeout, cancellationToken) };
        probes.AddRange(sites.Take(DiagnosticsLimits.MaxSites).Select(site => ConnectivityProbe.TestAsync(ConnectivityTargets.Site, site, probeTimeout, cancellationToken)));
        var batteries = Batteries();
        if (batteries.Count == 0)
        {
            unavailable.Add("battery: this device has no battery (no /sys/class/power_supply entry of type Battery)");
        }

        var memory = Memory();
        if (memory is null)
        {
            unavailable.Add("memory: /proc/meminfo could not be read");
        }

        var updates = osUpdates.Last;
        if (updates is null)
        {
            var reason = osUpdates.Describe().FirstOrDefault(c => c.Name == CapabilityNames.OsUpdates && !c.Available)?.Reason;
            unavailable.Add(Short(reason is null ? "pending updates: not checked yet since the agent started" : $"pending updates: {reason}")!);
        }

        var checks = await Task.WhenAll(probes);
        var failures = status.PolicyFailures;
        return new DiagnosticsReport(
            time.GetUtcNow(),
            Short(facts.OsName),
            Short(facts.OsVersion),
            Short(Kernel()),
            Short(AgentOptions.Version),
            Uptime(),
            Disks(),
            memory,
            batteries,
            Interfaces(),
            checks,
            logs.Snapshot(LogLinesSent),
            new PolicyReport(status.PolicyVersion, status.PolicyVersion > 0 && failures.Count == 0, failures.Count == 0 ? null : failures.Take(64).Select(f => Short(f)!).ToList()),
            unavailable,
            OsUpdates: updates);
    }

    /// <summary>Drops the oldest log lines until the frame fits the server's text frame limit.</summary>
    public static DiagnosticsFrame Fit(DiagnosticsFrame frame, int maxBytes)
    {
        while (AgentFrameCodec.Serialize(frame).Length > maxBytes && frame.Report.LogLines is { Count: > 0 } lines)
        {
            frame = frame with { Report = frame.Report with { LogLines = lines.Skip(Math.Max(1, lines.Count / 4)).ToList() } };
        }

        return frame;
    }

    private static string? Kernel()
    {
        var release = ReadOrNull("/proc/sys/kernel/osrelease");
        return release is null ? RuntimeInformation.OSDescription : "Linux " + release;
    }

    private static long Uptime()
    {
        var text = ReadOrNull("/proc/uptime");
        return text is not null && double.TryParse(text.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? (long)seconds
            : Environment.TickCount64 / 1000;
    }

    private static List<DiskReport> Disks()
    {
        var disks = new List<DiskReport>();
        foreach (var drive in DriveInfo.GetDrives())
        {
            try
            {
                if (!drive.IsReady || drive.TotalSize <= 0 || PseudoFileSystems.Contains(drive.DriveFormat) || drive.Name.StartsWith("/proc", StringComparison.Ordinal)
                    || drive.Name.StartsWith("/sys", StringComparison.Ordinal) || drive.Name.StartsWith("/dev", StringComparison.Ordinal) || drive.Name.StartsWith("/run", StringComparison.Ordinal))
                {
                    continue;
                }

                disks.Add(new DiskReport(Short(drive.Name)!, Short(drive.DriveFormat), drive.TotalSize, Math.Min(drive.AvailableFreeSpace, drive.TotalSize)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A mount we may not read (another user's FUSE mount): left out.
            }
        }

        return disks.OrderBy(d => d.Mount.Length).ThenBy(d => d.Mount, StringComparer.Ordinal).Take(DiagnosticsLimits.MaxDisks).ToList();
    }

    /// <summary>MemTotal and MemAvailable from <c>/proc/meminfo</c>, in bytes.</summary>
    internal static MemoryReport? Memory()
    {
        var text = ReadOrNull("/proc/meminfo");
        if (text is null)
        {
            return null;
        }

        long? Field(string name) => text.Split('\n').FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal)) is { } line
            && long.TryParse(line[(name.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture, out var kib) ? kib * 1024 : null;
        return Field("MemTotal") is { } total && Field("MemAvailable") is { } available ? new MemoryReport(total, Math.Min(available, total)) : null;
    }

    private static List<BatteryReport> Batteries()
    {
        const string supplies = "/sys/class/power_supply";
        if (!Directory.Exists(supplies))
        {
            return [];
        }

        var batteries = new List<BatteryReport>();
        foreach (var directory in Directory.EnumerateDirectories(supplies).Order(StringComparer.Ordinal))
        {
            if (ReadOrNull(Path.Combine(directory, "type")) != "Battery")
            {
                continue;
            }

            int? Number(string file) => long.TryParse(ReadOrNull(Path.Combine(directory, file)), CultureInfo.InvariantCulture, out var value) ? (int)Math.Min(value, int.MaxValue) : null;
            long? Big(string file) => long.TryParse(ReadOrNull(Path.Combine(directory, file)), CultureInfo.InvariantCulture, out var value) ? value : null;
            var full = Big("energy_full") ?? Big("charge_full");
            var design = Big("energy_full_design") ?? Big("charge_full_design");
            int? health = full is { } f && design is > 0 ? (int)Math.Clamp(f * 100 / design.Value, 0, 200) : null;
            batteries.Add(new BatteryReport(Short(Path.GetFileName(directory))!, Number("capacity") is { } level ? Math.Clamp(level, 0, 100) : null,
                Short(ReadOrNull(Path.Combine(directory, "status"))), health, Number("cycle_count") is >= 0 and var cycles ? cycles : null));
            if (batteries.Count == DiagnosticsLimits.MaxBatteries)
            {
                break;
            }
        }

        return batteries;
    }

    private static List<InterfaceReport> Interfaces() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .Take(DiagnosticsLimits.MaxInterfaces)
            .Select(n => new InterfaceReport(
                Short(n.Name)!,
                n.OperationalStatus == OperationalStatus.Up || (n.OperationalStatus == OperationalStatus.Unknown && n.GetIPProperties().UnicastAddresses.Count > 0),
                n.NetworkInterfaceType switch
                {
                    NetworkInterfaceType.Loopback => "loopback",
                    NetworkInterfaceType.Wireless80211 => "wifi",
                    _ when Directory.Exists($"/sys/class/net/{n.Name}/wireless") => "wifi",
                    NetworkInterfaceType.Ethernet or NetworkInterfaceType.GigabitEthernet or NetworkInterfaceType.FastEthernetT => "ethernet",
                    NetworkInterfaceType.Tunnel => "tunnel",
                    _ => "other",
                },
                n.GetIPProperties().UnicastAddresses.Select(a => a.Address.ToString()).Where(a => a.Length <= 64).Take(DiagnosticsLimits.MaxAddresses).ToList()))
            .ToList();

    private static string? Short(string? text) => text is null || text.Length <= ProtocolLimits.MaxShortText ? text : text[..ProtocolLimits.MaxShortText];

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
