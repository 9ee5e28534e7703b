namespace Homeroom.Contracts.Agents;

/// <summary>
/// The answer to a <see cref="CommandKinds.Diagnose"/> command: the device's report, sent before the
/// command's <c>succeeded</c> status. The whole frame must fit one text frame (64 KiB); an agent drops its
/// oldest log lines first to make it fit.
/// </summary>
/// <param name="CommandId">The <c>diagnose</c> command this answers.</param>
/// <param name="Report">What the device found.</param>
public sealed record DiagnosticsFrame(Guid CommandId, DiagnosticsReport Report) : AgentFrame;

/// <summary>A device's diagnostics report. Every part is optional: what a device cannot read it leaves out and names in <see cref="Unavailable"/>.</summary>
/// <param name="GatheredAt">When the device gathered it.</param>
/// <param name="OsName">Operating system name.</param>
/// <param name="OsVersion">Operating system version.</param>
/// <param name="Kernel">Kernel or build version.</param>
/// <param name="AgentVersion">The agent's own version.</param>
/// <param name="UptimeSeconds">Seconds since the device started.</param>
/// <param name="Disks">Mounted file systems with their sizes; at most <see cref="DiagnosticsLimits.MaxDisks"/>.</param>
/// <param name="Memory">Memory in total and available.</param>
/// <param name="Batteries">Batteries; at most <see cref="DiagnosticsLimits.MaxBatteries"/>.</param>
/// <param name="Interfaces">Network interfaces; at most <see cref="DiagnosticsLimits.MaxInterfaces"/>.</param>
/// <param name="Connectivity">Connection tests to the Homeroom server and the configured sites; at most <see cref="DiagnosticsLimits.MaxConnectivity"/>.</param>
/// <param name="LogLines">The agent's recent log lines, oldest first, tokens and secrets redacted; at most <see cref="DiagnosticsLimits.MaxLogLines"/>.</param>
/// <param name="Policy">The policy version the device applied and what did not take effect.</param>
/// <param name="Unavailable">What could not be gathered and why; at most <see cref="DiagnosticsLimits.MaxNotes"/>.</param>
/// <param name="Facts">Other facts by name (an Apple device's supervision, Activation Lock, MAC addresses); at most <see cref="DiagnosticsLimits.MaxNotes"/>.</param>
/// <param name="OsUpdates">The operating system's pending updates as of the agent's last check (the same object as <c>inventory.osUpdates</c>).</param>
public sealed record DiagnosticsReport(
    DateTimeOffset GatheredAt,
    string? OsName = null,
    string? OsVersion = null,
    string? Kernel = null,
    string? AgentVersion = null,
    long? UptimeSeconds = null,
    IReadOnlyList<DiskReport>? Disks = null,
    MemoryReport? Memory = null,
    IReadOnlyList<BatteryReport>? Batteries = null,
    IReadOnlyList<InterfaceReport>? Interfaces = null,
    IReadOnlyList<ConnectivityCheck>? Connectivity = null,
    IReadOnlyList<string>? LogLines = null,
    PolicyReport? Policy = null,
    IReadOnlyList<string>? Unavailable = null,
    IReadOnlyDictionary<string, string>? Facts = null,
    OsUpdateStatus? OsUpdates = null);

/// <summary>One mounted file system.</summary>
/// <param name="Mount">Where it is mounted (a path or drive).</param>
/// <param name="FileSystem">Its type, such as <c>ext4</c>.</param>
/// <param name="TotalBytes">Its size.</param>
/// <param name="FreeBytes">Space free for the user.</param>
public sealed record DiskReport(string Mount, string? FileSystem, long TotalBytes, long FreeBytes);

/// <summary>Memory.</summary>
/// <param name="TotalBytes">Physical memory.</param>
/// <param name="AvailableBytes">Memory available to new programs without swapping.</param>
public sealed record MemoryReport(long TotalBytes, long AvailableBytes);

/// <summary>One battery.</summary>
/// <param name="Name">Its name on the device, such as <c>BAT0</c>.</param>
/// <param name="Level">Charge in percent, 0 to 100.</param>
/// <param name="Status">What the device says it is doing (charging, discharging, full).</param>
/// <param name="HealthPercent">Its full charge as a share of its design capacity, 0 to 200.</param>
/// <param name="CycleCount">Charge cycles, when known.</param>
public sealed record BatteryReport(string Name, int? Level, string? Status, int? HealthPercent, int? CycleCount);

/// <summary>One network interface.</summary>
/// <param name="Name">Its name, such as <c>eth0</c>.</param>
/// <param name="Up">Whether it is up.</param>
/// <param name="Kind">Ethernet, wireless, loopback, ...</param>
/// <param name="Addresses">Its IP addresses; at most <see cref="DiagnosticsLimits.MaxAddresses"/>.</param>
public sealed record InterfaceReport(string Name, bool Up, string? Kind, IReadOnlyList<string>? Addresses);

/// <summary>One connection test: a TCP connection, TLS for https, and an HTTP HEAD request, within a time limit.</summary>
/// <param name="Target"><c>homeroom</c> (the device's own server) or <c>site</c> (a configured site).</param>
/// <param name="Url">What was tested.</param>
/// <param name="Ok">Whether it answered.</param>
/// <param name="Milliseconds">How long the test took.</param>
/// <param name="HttpStatus">The HTTP status answered, when it got that far.</param>
/// <param name="Error">Why it failed: the step (dns, tcp, tls, http, timeout) and the reason.</param>
public sealed record ConnectivityCheck(string Target, string Url, bool Ok, int? Milliseconds, int? HttpStatus, string? Error);

/// <summary>The policy the device applied.</summary>
/// <param name="Version">The version applied (0: none yet).</param>
/// <param name="Applied">Whether everything in it took effect.</param>
/// <param name="Failures">What did not; at most 64.</param>
public sealed record PolicyReport(long Version, bool Applied, IReadOnlyList<string>? Failures);

/// <summary>The values of <see cref="ConnectivityCheck.Target"/>.</summary>
public static class ConnectivityTargets
{
    /// <summary>The device's Homeroom server.</summary>
    public const string Homeroom = "homeroom";
    /// <summary>A site the district configured.</summary>
    public const string Site = "site";
}

/// <summary>The limits of a <see cref="DiagnosticsFrame"/>, its check, and the <c>urls</c> argument of <c>diagnose</c>.</summary>
public static class DiagnosticsLimits
{
    /// <summary>Most file systems in a report.</summary>
    public const int MaxDisks = 32;
    /// <summary>Most batteries in a report.</summary>
    public const int MaxBatteries = 4;
    /// <summary>Most network interfaces in a report.</summary>
    public const int MaxInterfaces = 32;
    /// <summary>Most addresses of one interface.</summary>
    public const int MaxAddresses = 16;
    /// <summary>Most connection tests in a report (the server and the configured sites).</summary>
    public const int MaxConnectivity = 8;
    /// <summary>Most sites a district may configure for the connection test.</summary>
    public const int MaxSites = MaxConnectivity - 1;
    /// <summary>Most log lines in a report.</summary>
    public const int MaxLogLines = 200;
    /// <summary>Longest log line, in characters.</summary>
    public const int MaxLogLineLength = 500;
    /// <summary>Most entries of <see cref="DiagnosticsReport.Unavailable"/>.</summary>
    public const int MaxNotes = 32;

    /// <summary>
    /// Reads the space-separated https URLs of the <c>urls</c> argument (at most <see cref="MaxSites"/>, each an
    /// absolute https URL without user info of at most 2,048 characters). Returns the error, or null with the URLs.
    /// </summary>
    public static string? ParseSites(string? text, out IReadOnlyList<Uri> sites)
    {
        var list = new List<Uri>();
        sites = list;
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (list.Count == MaxSites)
            {
                return $"At most {MaxSites} sites.";
            }

            if (part.Length > ProtocolLimits.MaxUrlLength || !Uri.TryCreate(part, UriKind.Absolute, out var uri)
                || uri.Scheme != Uri.UriSchemeHttps || uri.UserInfo.Length > 0 || uri.Host.Length == 0)
            {
                return $"'{(part.Length > 80 ? part[..80] : part)}' is not an https URL (https://host/path, no user name).";
            }

            list.Add(uri);
        }

        return null;
    }

    /// <summary>Returns null when the frame is valid, otherwise a short reason fit for a close message.</summary>
    public static string? Validate(DiagnosticsFrame f)
    {
        if (f.CommandId == Guid.Empty)
        {
            return "diagnostics commandId missing";
        }

        return f.Report is null ? "diagnostics report missing" : Validate(f.Report);
    }

    /// <summary>Checks a report's lists and texts against the limits.</summary>
    public static string? Validate(DiagnosticsReport r)
    {
        if (r.GatheredAt == default)
        {
            return "diagnostics gatheredAt missing";
        }

        if (TooLong(r.OsName) || TooLong(r.OsVersion) || TooLong(r.Kernel) || TooLong(r.AgentVersion) || r.UptimeSeconds < 0)
        {
            return "diagnostics system facts invalid";
        }

        if (r.Disks is { } disks && (disks.Count > MaxDisks
            || disks.Any(d => d is null || string.IsNullOrEmpty(d.Mount) || TooLong(d.Mount) || TooLong(d.FileSystem) || d.TotalBytes < 0 || d.FreeBytes < 0 || d.FreeBytes > d.TotalBytes)))
        {
            return "diagnostics disks invalid";
        }

        if (r.Memory is { } memory && (memory.TotalBytes < 0 || memory.AvailableBytes < 0 || memory.AvailableBytes > memory.TotalBytes))
        {
            return "diagnostics memory invalid";
        }

        if (r.Batteries is { } batteries && (batteries.Count > MaxBatteries
            || batteries.Any(b => b is null || string.IsNullOrEmpty(b.Name) || TooLong(b.Name) || TooLong(b.Status)
                || b.Level is < 0 or > 100 || b.HealthPercent is < 0 or > 200 || b.CycleCount < 0)))
        {
            return "diagnostics batteries invalid";
        }

        if (r.Interfaces is { } interfaces && (interfaces.Count > MaxInterfaces
            || interfaces.Any(i => i is null || string.IsNullOrEmpty(i.Name) || TooLong(i.Name) || TooLong(i.Kind)
                || i.Addresses is { Count: > MaxAddresses } || i.Addresses?.Any(a => a is null || a.Length > 64) == true)))
        {
            return "diagnostics interfaces invalid";
        }

        if (r.Connectivity is { } checks && (checks.Count > MaxConnectivity
            || checks.Any(c => c is null || c.Target is not (ConnectivityTargets.Homeroom or ConnectivityTargets.Site)
                || string.IsNullOrEmpty(c.Url) || c.Url.Length > ProtocolLimits.MaxUrlLength || TooLong(c.Error)
                || c.Milliseconds < 0 || c.HttpStatus is < 100 or > 599)))
        {
            return "diagnostics connectivity invalid";
        }

        if (r.LogLines is { } lines && (lines.Count > MaxLogLines || lines.Any(l => l is null || l.Length > MaxLogLineLength)))
        {
            return "diagnostics log lines invalid";
        }

        if (r.Policy is { } policy && (policy.Version < 0 || policy.Failures is { Count: > 64 } || policy.Failures?.Any(x => x is null || TooLong(x)) == true))
        {
            return "diagnostics policy invalid";
        }

        if (r.Unavailable is { } notes && (notes.Count > MaxNotes || notes.Any(n => n is null || TooLong(n))))
        {
            return "diagnostics notes invalid";
        }

        if (r.Facts is { } facts && (facts.Count > MaxNotes || facts.Any(f => string.IsNullOrEmpty(f.Key) || TooLong(f.Key) || f.Value is null || TooLong(f.Value))))
        {
            return "diagnostics facts invalid";
        }

        if (r.OsUpdates is { } updates && AgentFrameValidator.ValidateOsUpdates(updates) is { } updatesReason)
        {
            return "diagnostics " + updatesReason;
        }

        return null;
    }

    private static bool TooLong(string? value) => value is { Length: > ProtocolLimits.MaxShortText };
}
