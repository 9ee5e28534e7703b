using Homeroom.Rules.Updates;

namespace Homeroom.Simulator.Fleet;

/// <summary>What a simulated device does with an OS update it is offered.</summary>
public enum OsUpdateOutcome
{
    /// <summary>Downloads and installs it, then reports the new version.</summary>
    Installs,

    /// <summary>Tries and fails (not enough storage, a download that keeps breaking): stays on its version; an iPad refuses ScheduleOSUpdate.</summary>
    Fails,

    /// <summary>Goes quiet once the update is due (left in a locker, stuck on a boot loop) and never reports again.</summary>
    NeverReports,
}

/// <summary>A device's fate with an offered update: the outcome and how long after the offer (simulated time) it happens.</summary>
public sealed record OsUpdatePlan(OsUpdateOutcome Outcome, TimeSpan After)
{
    /// <summary>When the update is due, for an offer at <paramref name="offeredAt"/>.</summary>
    public DateTimeOffset DueAt(DateTimeOffset offeredAt) => offeredAt + After;
}

/// <summary>
/// How a simulated fleet takes an OS update over days of simulated time: most devices install it within
/// four days of the offer (half within a day, as devices charge overnight and restart), 3 % fail to install
/// and 2 % stop reporting. Stable per seed and device index, so a demo and its tests see the same fleet.
/// </summary>
public static class OsUpdates
{
    public const double FailShare = 0.03;
    public const double SilentShare = 0.02;

    public static OsUpdatePlan For(int seed, int index)
    {
        // A fixed mix, not HashCode.Combine: that is seeded per process, and a plan must be the same in every run.
        var random = new Random(unchecked((seed * 6_271) + (index * 130_363) + 5));
        var roll = random.NextDouble();
        // Skewed toward the first day: the square of a uniform draw, over 2 to 96 hours.
        var hours = 2 + (94 * Math.Pow(random.NextDouble(), 2));
        var outcome = roll < FailShare ? OsUpdateOutcome.Fails : roll < FailShare + SilentShare ? OsUpdateOutcome.NeverReports : OsUpdateOutcome.Installs;
        return new OsUpdatePlan(outcome, TimeSpan.FromHours(hours));
    }

    /// <summary>
    /// The version a device reports at <paramref name="now"/>, having run <paramref name="current"/> when it was
    /// offered <paramref name="target"/> at <paramref name="offeredAt"/>; never older than what it runs.
    /// </summary>
    public static string VersionAt(OsUpdatePlan plan, string current, string target, DateTimeOffset offeredAt, DateTimeOffset now) =>
        plan.Outcome == OsUpdateOutcome.Installs && now >= plan.DueAt(offeredAt) && !OsVersion.FromReported(current).IsAtLeast(OsVersion.FromReported(target))
            ? target
            : current;

    /// <summary>Whether the device has gone quiet for good by <paramref name="now"/>.</summary>
    public static bool IsSilent(OsUpdatePlan plan, DateTimeOffset offeredAt, DateTimeOffset now) =>
        plan.Outcome == OsUpdateOutcome.NeverReports && now >= plan.DueAt(offeredAt);
}
