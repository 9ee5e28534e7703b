using System.Globalization;
using Homeroom.Contracts.Agents;

namespace Homeroom.Server.Diagnostics;

/// <summary>One thing a report says is right or wrong, in words (the console shows failed ones in red).</summary>
/// <param name="Section">connectivity, storage, memory, battery, network, policy or updates.</param>
/// <param name="Ok">Whether it passed.</param>
/// <param name="Text">What was checked and what was found.</param>
public sealed record DiagnosticsCheck(string Section, bool Ok, string Text);

/// <summary>Reads a report's checks: the same for the API and the console.</summary>
public static class DiagnosticsChecks
{
    /// <summary>Free space below this share of a disk fails.</summary>
    public const double MinFreeShare = 0.10;

    /// <summary>Available memory below this share fails.</summary>
    public const double MinAvailableMemoryShare = 0.10;

    /// <summary>A battery holding less than this share of its design capacity fails.</summary>
    public const int MinBatteryHealthPercent = 80;

    public static IReadOnlyList<DiagnosticsCheck> Evaluate(DiagnosticsReport report)
    {
        var checks = new List<DiagnosticsCheck>();
        foreach (var c in report.Connectivity ?? [])
        {
            var what = c.Target == ConnectivityTargets.Homeroom ? "Homeroom server" : "site";
            checks.Add(c.Ok
                ? new("connectivity", true, Invariant($"{what} {c.Url} answered {c.HttpStatus} in {c.Milliseconds} ms"))
                : new("connectivity", false, Invariant($"{what} {c.Url} could not be reached: {c.Error ?? "no reason given"}")));
        }

        foreach (var d in report.Disks ?? [])
        {
            var share = d.TotalBytes == 0 ? 1 : (double)d.FreeBytes / d.TotalBytes;
            checks.Add(new("storage", share >= MinFreeShare, Invariant($"{d.Mount}: {Bytes(d.FreeBytes)} free of {Bytes(d.TotalBytes)} ({share:P0})")));
        }

        if (report.Memory is { } m)
        {
            var share = m.TotalBytes == 0 ? 1 : (double)m.AvailableBytes / m.TotalBytes;
            checks.Add(new("memory", share >= MinAvailableMemoryShare, Invariant($"{Bytes(m.AvailableBytes)} available of {Bytes(m.TotalBytes)} ({share:P0})")));
        }

        foreach (var b in report.Batteries ?? [])
        {
            if (b.HealthPercent is { } health)
            {
                checks.Add(new("battery", health >= MinBatteryHealthPercent, Invariant($"{b.Name} holds {health} % of its design capacity{(health < MinBatteryHealthPercent ? ": replace it soon" : "")}")));
            }
        }

        if (report.Interfaces is { } interfaces)
        {
            var up = interfaces.Where(i => i.Up && i.Kind != "loopback" && i.Addresses is { Count: > 0 }).Select(i => i.Name).ToList();
            checks.Add(up.Count > 0
                ? new("network", true, $"up with an address: {string.Join(", ", up)}")
                : new("network", false, "no network interface is up with an address"));
        }

        if (report.Policy is { } policy)
        {
            checks.Add(policy.Version == 0
                ? new("policy", false, "no policy applied yet")
                : policy.Applied
                    ? new("policy", true, Invariant($"policy version {policy.Version} applied in full"))
                    : new("policy", false, Invariant($"policy version {policy.Version} applied, but: {string.Join("; ", policy.Failures ?? [])}")));
        }

        if (report.OsUpdates is { } updates)
        {
            checks.Add(Updates(updates));
        }

        return checks;
    }

    // Security updates waiting or a restart due fail; other pending updates are only counted.
    private static DiagnosticsCheck Updates(OsUpdateStatus u)
    {
        if (u.Error is { } error)
        {
            return new("updates", false, $"the OS could not be asked for its updates: {error}");
        }

        var when = u.CheckedAt is { } at ? Invariant($" (checked {at.UtcDateTime:yyyy-MM-dd HH:mm} UTC)") : "";
        var restart = u.RebootRequired ? "; a restart is due to finish installed updates" : "";
        return u.Pending == 0
            ? new("updates", !u.RebootRequired, $"no updates pending{restart}{when}")
            : new("updates", u.Security == 0 && !u.RebootRequired, Invariant($"{u.Pending} update(s) pending, {u.Security} for security{restart}{when}"));
    }

    /// <summary>A size in words: 1.5 GB.</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 40 => Invariant($"{bytes / (double)(1L << 40):0.#} TB"),
        >= 1L << 30 => Invariant($"{bytes / (double)(1L << 30):0.#} GB"),
        >= 1L << 20 => Invariant($"{bytes / (double)(1L << 20):0.#} MB"),
        _ => Invariant($"{bytes / 1024.0:0.#} KB"),
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
