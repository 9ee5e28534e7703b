using System.Globalization;

namespace Homeroom.Rules.Updates;

/// <summary>Where a ring is in its rollout.</summary>
public enum RingPhase
{
    /// <summary>An earlier ring has not passed its gate yet.</summary>
    Waiting,

    /// <summary>The ring's devices are updating; the required share is not reached (healthy) yet.</summary>
    InProgress,

    /// <summary>The required share is on the target and healthy; the soak time runs.</summary>
    Soaking,

    /// <summary>The ring passed its gate; the next one started.</summary>
    Passed,
}

/// <summary>Where a rollout is.</summary>
public enum RolloutState
{
    /// <summary>Evaluated every pass; rings promote as their gates pass.</summary>
    Active,

    /// <summary>Held, by the gate (with its reason) or by an administrator; nothing promotes until resumed.</summary>
    Paused,

    /// <summary>Ended by an administrator; devices keep the version they reached, no ring starts again.</summary>
    Stopped,

    /// <summary>Every ring passed its gate.</summary>
    Done,
}

/// <summary>A ring's gate: the share of its devices that must be on the target (1 to 100 %), how long they must stay healthy, and by when.</summary>
public sealed record RingRule(string Name, int RequiredPercent, TimeSpan Soak, DateTime? Deadline);

/// <summary>
/// What the server knows of one device of a ring, as of a health window start (see <see cref="RingGate.HealthSince"/>).
/// </summary>
/// <param name="Version">The OS version the device reported last.</param>
/// <param name="LastSeenAt">When it last checked in; null when it never did.</param>
/// <param name="LastFailedInstallAt">When its newest OS-update command failed, if one did.</param>
/// <param name="ErrorsSince">Its other failed commands since the health window start.</param>
/// <param name="ErrorsBefore">Its failed commands in an equally long window before the ring started (the baseline).</param>
/// <param name="UpdatesPending">
/// A desktop agent reports updates its OS offers and has not installed: the device is not on the target
/// whatever its version (on Linux the distribution's version does not move with package updates).
/// </param>
public readonly record struct RingDevice(OsVersion Version, DateTime? LastSeenAt, DateTime? LastFailedInstallAt, int ErrorsSince, int ErrorsBefore, bool UpdatesPending = false)
{
    /// <summary>On the target: at least its version, and no updates pending.</summary>
    public bool IsAtTarget(OsVersion target) => Version.IsAtLeast(target) && !UpdatesPending;
}

/// <summary>
/// A ring counted against its gate. <see cref="Devices"/> excludes the <see cref="Excused"/> ones (silent
/// since before an administrator resumed the rollout: resuming accepts them). <see cref="QuietSince"/>
/// is the newest last check-in among the devices not reporting: none of them has reported since.
/// </summary>
public sealed record RingProgress(
    int Devices, int AtTarget, int HealthyAtTarget, int Required, int Unhealthy,
    int NotReporting, int NeverReported, int FailedInstall, int ErrorRise, int Excused, DateTime? QuietSince)
{
    /// <summary>How many devices may fall short of the target (or be unhealthy) with the gate still passable.</summary>
    public int Allowed => Devices - Required;
}

/// <summary>What the gate decided for the current ring.</summary>
public enum GateOutcome
{
    /// <summary>Not enough devices on the target and healthy yet; keep waiting.</summary>
    Wait,

    /// <summary>The share was reached: the soak time starts now.</summary>
    StartSoak,

    /// <summary>Still healthy, soaking.</summary>
    KeepSoaking,

    /// <summary>The share fell below what is required while soaking (a device joined, or one stopped being healthy within what is allowed): back to in progress, the soak starts again later.</summary>
    ResetSoak,

    /// <summary>The soak time passed with the share healthy: the ring passed, the next starts.</summary>
    Pass,

    /// <summary>The gate cannot pass as things are: the rollout pauses with <see cref="GateDecision.Reason"/>.</summary>
    Pause,
}

/// <summary>The gate's decision, with its reason in words an administrator understands.</summary>
public sealed record GateDecision(GateOutcome Outcome, RingProgress Progress, string Reason, TimeSpan? SoakLeft);

/// <summary>The health rules of a rollout: a device is reporting when it checked in within <see cref="CheckInWindow"/>.</summary>
public sealed record HealthRule(TimeSpan CheckInWindow)
{
    public static readonly HealthRule Default = new(TimeSpan.FromHours(24));
}

/// <summary>
/// The health gate of an OS-update ring, a pure function of the ring's devices, its rule and the time.
/// A device is healthy when it checked in within the window, has no failed OS-update install since the
/// health window started, and reports no more failed commands than before the ring started. The gate:
/// <list type="number">
/// <item>a ring without devices pauses (nothing can show the update is safe);</item>
/// <item>more unhealthy devices than the share allows to fall short pauses (the gate cannot pass);</item>
/// <item>the required share on the target and healthy starts the soak, and passes after the soak time;
/// the share falling while soaking (a device joining) puts the ring back in progress;</item>
/// <item>a deadline that passed without the share pauses, once: after an administrator resumes past the
/// deadline, the ring waits.</item>
/// </list>
/// </summary>
public static class RingGate
{
    /// <summary>Devices needed on the target: the share rounded up, at least one when the ring has any.</summary>
    public static int RequiredOf(int devices, int percent) => devices == 0 ? 0 : Math.Max(1, (int)(((long)devices * percent + 99) / 100));

    /// <summary>Failures and errors count from the later of the ring's start and the last resume.</summary>
    public static DateTime HealthSince(DateTime ringStartedAt, DateTime? resumedAt) =>
        resumedAt is { } resumed && resumed > ringStartedAt ? resumed : ringStartedAt;

    /// <summary>Counts a ring's devices against the target in one pass.</summary>
    public static RingProgress Measure(
        OsVersion target, int requiredPercent, ReadOnlySpan<RingDevice> devices, DateTime healthSince, DateTime? resumedAt, DateTime now, HealthRule health)
    {
        var reportingSince = now - health.CheckInWindow;
        DateTime? excuseBefore = resumedAt is { } r ? r - health.CheckInWindow : null;
        int total = 0, atTarget = 0, healthyAtTarget = 0, unhealthy = 0, notReporting = 0, never = 0, failed = 0, errorRise = 0, excused = 0;
        DateTime? quietSince = null;
        foreach (ref readonly var device in devices)
        {
            var reporting = device.LastSeenAt is { } seen && seen >= reportingSince;
            if (!reporting && excuseBefore is { } excuse && (device.LastSeenAt is null || device.LastSeenAt < excuse))
            {
                excused++;
                continue;
            }

            total++;
            var failedInstall = device.LastFailedInstallAt is { } f && f >= healthSince;
            var rise = device.ErrorsSince > device.ErrorsBefore;
            var healthy = reporting && !failedInstall && !rise;
            if (!reporting)
            {
                notReporting++;
                if (device.LastSeenAt is { } last)
                {
                    quietSince = quietSince is { } q && q >= last ? q : last;
                }
                else
                {
                    never++;
                }
            }

            failed += failedInstall ? 1 : 0;
            errorRise += rise ? 1 : 0;
            unhealthy += healthy ? 0 : 1;
            if (device.IsAtTarget(target))
            {
                atTarget++;
                healthyAtTarget += healthy ? 1 : 0;
            }
        }

        return new RingProgress(total, atTarget, healthyAtTarget, RequiredOf(total, requiredPercent), unhealthy,
            notReporting, never, failed, errorRise, excused, quietSince);
    }

    /// <summary>
    /// The gate's decision for the current ring. <paramref name="soakStartedAt"/> is when the share was
    /// reached (null when not soaking); <paramref name="resumedAt"/> the last time an administrator resumed.
    /// </summary>
    public static GateDecision Decide(
        OsVersion target, RingRule ring, RingProgress progress, DateTime? soakStartedAt, DateTime? resumedAt, DateTime now)
    {
        var name = ring.Name;
        var on = target.ToString();
        if (progress.Devices == 0)
        {
            var excused = progress.Excused > 0 ? $" ({progress.Excused} silent since before the resume are left out)" : "";
            return new GateDecision(GateOutcome.Pause, progress,
                $"The {name} ring has no devices of this platform to update{excused}: nothing can show the update is safe. Add devices to its group, then resume.", null);
        }

        if (progress.Unhealthy > progress.Allowed)
        {
            return new GateDecision(GateOutcome.Pause, progress, UnhealthyReason(name, on, ring.RequiredPercent, progress), null);
        }

        if (progress.HealthyAtTarget >= progress.Required)
        {
            if (soakStartedAt is not { } soaking)
            {
                return ring.Soak <= TimeSpan.Zero
                    ? new GateDecision(GateOutcome.Pass, progress, PassedReason(name, on, ring, progress), TimeSpan.Zero)
                    : new GateDecision(GateOutcome.StartSoak, progress,
                        $"{progress.HealthyAtTarget} of {progress.Devices} {name} devices are on {on} or newer and healthy ({ring.RequiredPercent} % needed): " +
                        $"soaking for {Duration(ring.Soak)}.", ring.Soak);
            }

            var left = soaking + ring.Soak - now;
            return left <= TimeSpan.Zero
                ? new GateDecision(GateOutcome.Pass, progress, PassedReason(name, on, ring, progress), TimeSpan.Zero)
                : new GateDecision(GateOutcome.KeepSoaking, progress,
                    $"{progress.HealthyAtTarget} of {progress.Devices} {name} devices are on {on} or newer and healthy: soaking, {Duration(left)} left of {Duration(ring.Soak)}.", left);
        }

        var missing = $"{progress.HealthyAtTarget} of {progress.Devices} {name} devices are on {on} or newer and healthy; " +
            $"{progress.Required} needed ({ring.RequiredPercent} %).";
        if (ring.Deadline is { } deadline && deadline <= now && (resumedAt is null || resumedAt < deadline))
        {
            return new GateDecision(GateOutcome.Pause, progress,
                $"The {name} deadline ({Day(deadline)}) passed: {missing}{Shortfall(progress)}", null);
        }

        return soakStartedAt is not null
            ? new GateDecision(GateOutcome.ResetSoak, progress, $"The share fell below the gate while soaking: {missing} The soak starts again once it is reached.", null)
            : new GateDecision(GateOutcome.Wait, progress, $"Updating: {missing}{Shortfall(progress)}", null);
    }

    private static string PassedReason(string name, string on, RingRule ring, RingProgress progress) =>
        $"The {name} ring passed its gate: {progress.HealthyAtTarget} of {progress.Devices} devices on {on} or newer and healthy" +
        (ring.Soak > TimeSpan.Zero ? $" for {Duration(ring.Soak)}." : ".");

    private static string UnhealthyReason(string name, string on, int percent, RingProgress p)
    {
        var parts = new List<string>();
        var silentSeen = p.NotReporting - p.NeverReported;
        if (silentSeen > 0)
        {
            parts.Add($"{silentSeen} of {p.Devices} {name} devices have not reported since {Day(p.QuietSince!.Value)}");
        }

        if (p.NeverReported > 0)
        {
            parts.Add($"{p.NeverReported} of {p.Devices} {name} devices have never reported");
        }

        if (p.FailedInstall > 0)
        {
            parts.Add($"{p.FailedInstall} failed to install {on}");
        }

        if (p.ErrorRise > 0)
        {
            parts.Add($"{p.ErrorRise} report more failed commands than before the update");
        }

        var allowed = p.Allowed == 1 ? "1 device" : $"{p.Allowed} devices";
        return $"{string.Join("; ", parts)}. With {percent} % required, at most {allowed} of {p.Devices} may fall short, so the {name} ring cannot pass as it is.";
    }

    private static string Shortfall(RingProgress p)
    {
        var notAt = p.Devices - p.AtTarget;
        var parts = new List<string>();
        if (notAt > 0)
        {
            parts.Add($"{notAt} not on the target yet");
        }

        if (p.Unhealthy > 0)
        {
            parts.Add($"{p.Unhealthy} not healthy");
        }

        return parts.Count == 0 ? "" : " " + string.Join(", ", parts) + ".";
    }

    /// <summary>A moment as an administrator reads it in a sentence: "Monday 30 November 14:05 UTC".</summary>
    public static string Day(DateTime utc) => utc.ToString("dddd d MMMM HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>A length of time in days, hours or minutes.</summary>
    public static string Duration(TimeSpan span)
    {
        if (span >= TimeSpan.FromDays(2))
        {
            var hours = (int)Math.Ceiling(span.TotalHours);
            return hours % 24 == 0 ? $"{hours / 24} days" : $"{hours} h";
        }

        if (span >= TimeSpan.FromHours(1))
        {
            return $"{(int)Math.Ceiling(span.TotalHours)} h";
        }

        var minutes = Math.Max(1, (int)Math.Ceiling(span.TotalMinutes));
        return minutes == 1 ? "1 minute" : $"{minutes} minutes";
    }
}
