using System.Globalization;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;

namespace Homeroom.Simulator.Fleet;

/// <summary>
/// A simulated device's answer to <c>diagnose</c>: a report shaped like its platform's (what a ChromeOS extension or
/// an iPad cannot read is left out and named in <c>unavailable</c>, as the real ones do), with figures drawn from the
/// device's seed and the command, and one real connection test: an HTTP HEAD to the Homeroom server's
/// <c>/healthz</c>. The district's sites are not contacted (the simulator has no internet); their tests are simulated,
/// one in twenty timing out, and say so in <c>unavailable</c>.
/// </summary>
public static class SimulatedDiagnostics
{
    /// <summary>Log lines a simulated device sends, as many as the desktop agent does.</summary>
    public const int LogLines = 100;

    /// <summary>Gathers the report and fits it into one text frame (oldest log lines dropped first).</summary>
    public static async Task<DiagnosticsFrame> GatherAsync(
        DeviceSpec spec, string osVersion, long policyVersion, double battery, Guid commandId, IReadOnlyDictionary<string, string>? arguments,
        HttpClient http, Uri server, int seed, TimeProvider time, CancellationToken cancellationToken)
    {
        var random = new Random(HashCode.Combine(seed, spec.Index, commandId));
        var now = time.GetUtcNow();
        var connectivity = new List<ConnectivityCheck> { await ProbeServerAsync(http, server, time, cancellationToken) };
        DiagnosticsLimits.ParseSites(arguments?.GetValueOrDefault("urls"), out var sites);
        foreach (var site in sites)
        {
            connectivity.Add(random.Next(20) == 0
                ? new ConnectivityCheck(ConnectivityTargets.Site, site.ToString(), false, 5_000, null, "timeout: no answer within 5 s (at the tls step)")
                : new ConnectivityCheck(ConnectivityTargets.Site, site.ToString(), true, 20 + random.Next(180), 200, null));
        }

        var report = Report(spec, osVersion, policyVersion, battery, now, connectivity, random, sites.Count > 0);
        return Fit(new DiagnosticsFrame(commandId, report), ProtocolLimits.MaxTextFrameBytes);
    }

    /// <summary>Drops the oldest log lines until the frame fits <paramref name="maxBytes"/>, as the agent does.</summary>
    public static DiagnosticsFrame Fit(DiagnosticsFrame frame, int maxBytes)
    {
        while (AgentFrameCodec.Serialize(frame).Length > maxBytes && frame.Report.LogLines is { Count: > 0 } lines)
        {
            frame = frame with { Report = frame.Report with { LogLines = lines.Skip(Math.Max(1, lines.Count / 10)).ToList() } };
        }

        return frame;
    }

    private static async Task<ConnectivityCheck> ProbeServerAsync(HttpClient http, Uri server, TimeProvider time, CancellationToken cancellationToken)
    {
        var url = new Uri(server, "/healthz");
        var started = time.GetTimestamp();
        int Elapsed() => (int)time.GetElapsedTime(started).TotalMilliseconds;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            using var request = new HttpRequestMessage(HttpMethod.Head, url);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            return new ConnectivityCheck(ConnectivityTargets.Homeroom, url.ToString(), status < 500, Elapsed(), status, status < 500 ? null : $"http: the server answered {status}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ConnectivityCheck(ConnectivityTargets.Homeroom, url.ToString(), false, Elapsed(), null, "timeout: no answer within 5 s");
        }
        catch (HttpRequestException e)
        {
            return new ConnectivityCheck(ConnectivityTargets.Homeroom, url.ToString(), false, Elapsed(), null, Short($"tcp: {e.Message}"));
        }
    }

    private static DiagnosticsReport Report(
        DeviceSpec spec, string osVersion, long policyVersion, double battery, DateTimeOffset now, List<ConnectivityCheck> connectivity, Random random, bool sitesSimulated)
    {
        var unavailable = new List<string>();
        if (sitesSimulated)
        {
            unavailable.Add("site tests: simulated (the simulator does not contact the district's sites)");
        }

        var uptime = 600L + random.Next(7 * 24 * 3600);
        var octet = 10 + (spec.Index % 240);
        var subnet = 4 + (spec.Index / 240 % 200);
        var wifi = new InterfaceReport("wlan0", true, "wifi", [$"10.20.{subnet}.{octet}", $"fe80::{spec.Index + 1:x}"]);
        var level = (int)Math.Clamp(Math.Round(battery), 0, 100);
        var charging = random.Next(4) == 0 ? "Charging" : "Discharging";
        var logs = LogLinesFor(spec, now, uptime, random);
        var policy = new PolicyReport(policyVersion, true, null);
        var storageTotal = spec.Platform is DevicePlatform.ChromeOS or DevicePlatform.IPadOS ? 64L << 30 : 256L << 30;
        var storageFree = (long)(storageTotal * (0.03 + (random.NextDouble() * 0.6)));
        var memoryTotal = spec.Platform is DevicePlatform.ChromeOS or DevicePlatform.IPadOS ? 4L << 30 : 8L << 30;
        var memory = new MemoryReport(memoryTotal, (long)(memoryTotal * (0.2 + (random.NextDouble() * 0.5))));
        switch (spec.Platform)
        {
            case DevicePlatform.ChromeOS:
                unavailable.Add("uptime, batteries, network addresses, OS updates and logs: a Chrome extension cannot read them");
                return new DiagnosticsReport(
                    now, "ChromeOS", osVersion, null, "homeroom-extension/1.0.0", null,
                    [new DiskReport("/home", null, storageTotal, storageFree)], memory, null,
                    [new InterfaceReport("wifi", true, "wifi", null)], connectivity, null, policy, unavailable,
                    new Dictionary<string, string>(StringComparer.Ordinal) { ["arch"] = "x86-64", ["cpuCores"] = "4", ["effectiveType"] = "4g" });
            case DevicePlatform.IPadOS:
                unavailable.Add("uptime, memory, network addresses, connection tests and logs: Apple MDM's DeviceInformation does not give them");
                return new DiagnosticsReport(
                    now, "iPadOS", osVersion, null, null, null, [new DiskReport("device storage", null, storageTotal, storageFree)], null,
                    [new BatteryReport("battery", level, null, null, null)], null, null, null, null, unavailable,
                    new Dictionary<string, string>(StringComparer.Ordinal) { ["ModelName"] = spec.Model, ["IsSupervised"] = "yes", ["SerialNumber"] = spec.Serial });
            case DevicePlatform.Windows:
                return new DiagnosticsReport(
                    now, "Windows", osVersion, "10.0." + (22_000 + (spec.Index % 700)).ToString(CultureInfo.InvariantCulture), "homeroom-agent/1.0.0", uptime,
                    [new DiskReport("C:\\", "NTFS", storageTotal, storageFree)], memory,
                    [new BatteryReport("BAT0", level, charging, 70 + random.Next(30), random.Next(900))],
                    [new InterfaceReport("Loopback Pseudo-Interface 1", true, "loopback", ["127.0.0.1", "::1"]), wifi with { Name = "Wi-Fi" }],
                    connectivity, logs, policy, unavailable, OsUpdates: DesktopUpdates(now, random));
            case DevicePlatform.MacOS:
                return new DiagnosticsReport(
                    now, "macOS", osVersion, "Darwin 24." + (spec.Index % 6).ToString(CultureInfo.InvariantCulture) + ".0", "homeroom-agent/1.0.0", uptime,
                    [new DiskReport("/", "apfs", storageTotal, storageFree)], memory,
                    [new BatteryReport("InternalBattery-0", level, charging, 70 + random.Next(30), random.Next(900))],
                    [new InterfaceReport("lo0", true, "loopback", ["127.0.0.1", "::1"]), wifi with { Name = "en0" }],
                    connectivity, logs, policy, unavailable, OsUpdates: DesktopUpdates(now, random));
            case DevicePlatform.Android:
                unavailable.Add("pending updates: the Android agent does not report OS updates yet");
                return new DiagnosticsReport(
                    now, "Android", osVersion, "Linux 5.15.148-android14", "homeroom-agent/1.0.0", uptime,
                    [new DiskReport("/data", "f2fs", storageTotal, storageFree)], memory,
                    [new BatteryReport("battery", level, charging, 80 + random.Next(20), null)],
                    [new InterfaceReport("lo", true, "loopback", ["127.0.0.1", "::1"]), wifi],
                    connectivity, logs, policy, unavailable);
            default:
                return new DiagnosticsReport(
                    now, "Debian GNU/Linux", osVersion, "Linux 6.1.0-28-amd64", "homeroom-agent/1.0.0", uptime,
                    [new DiskReport("/", "ext4", storageTotal, storageFree), new DiskReport("/boot/efi", "vfat", 512L << 20, 480L << 20)], memory,
                    [new BatteryReport("BAT0", level, charging, 70 + random.Next(30), random.Next(900))],
                    [new InterfaceReport("lo", true, "loopback", ["127.0.0.1", "::1"]), wifi],
                    connectivity, logs, policy, unavailable, OsUpdates: DesktopUpdates(now, random));
        }
    }

    // What a desktop agent's last scheduled check found (simulated): most have nothing or a few updates pending, some for security.
    private static OsUpdateStatus DesktopUpdates(DateTimeOffset now, Random random)
    {
        var pending = random.Next(3) == 0 ? 1 + random.Next(12) : 0;
        var security = pending == 0 ? 0 : random.Next(Math.Min(pending, 3) + 1);
        return new OsUpdateStatus(pending, security, random.Next(10) == 0, now - TimeSpan.FromMinutes(5 + random.Next(6 * 60)));
    }

    private static List<string> LogLinesFor(DeviceSpec spec, DateTimeOffset now, long uptime, Random random)
    {
        string[] messages =
        [
            "info AgentWorker: heartbeat sent",
            "info PolicyApplier: policy applied",
            "info ActivityUploader: activity acknowledged",
            "warn AgentWorker: connection lost; reconnecting in {0} s",
            "info AgentWorker: connected as device {1}",
        ];
        var lines = new List<string>(LogLines);
        var start = now - TimeSpan.FromSeconds(Math.Min(uptime, LogLines * 30));
        for (var i = 0; i < LogLines; i++)
        {
            var at = start + TimeSpan.FromSeconds(i * 30);
            var text = string.Format(CultureInfo.InvariantCulture, messages[random.Next(messages.Length)], 2 + random.Next(30), spec.Name);
            lines.Add(at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) + " " + text);
        }

        return lines;
    }

    private static string Short(string text) => text.Length <= ProtocolLimits.MaxShortText ? text : text[..ProtocolLimits.MaxShortText];
}
