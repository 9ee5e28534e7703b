namespace Homeroom.Rules.Zones;

/// <summary>Whether a device is in a zone, as confirmed by <see cref="ZonePresence"/>. Values are stored; never renumber.</summary>
public enum ZoneState
{
    /// <summary>No usable fix yet.</summary>
    Unknown = 0,
    /// <summary>Confirmed inside the zone.</summary>
    Inside = 1,
    /// <summary>Confirmed outside the zone.</summary>
    Outside = 2,
}

/// <summary>How sure <see cref="ZonePresence"/> must be before it changes a device's state.</summary>
/// <param name="MaxAccuracyMeters">Fixes with a worse (larger) accuracy radius are ignored.</param>
/// <param name="ConsecutiveFixes">Agreeing fixes in a row needed to leave the confirmed state; below 1 counts as 1.</param>
/// <param name="MinDwell">
/// Time from the first of those fixes to the one that confirms the change; the default (zero) and
/// negative values mean no wait.
/// </param>
public sealed record ZonePresenceOptions(double MaxAccuracyMeters = 150, int ConsecutiveFixes = 2, TimeSpan MinDwell = default)
{
    /// <summary>150 m accuracy, 2 fixes in a row, no dwell time.</summary>
    public static ZonePresenceOptions Default { get; } = new();
}

/// <summary>A confirmed change of a device's state for one zone.</summary>
/// <param name="From">The state before.</param>
/// <param name="To">The state now.</param>
/// <param name="At">Time of the fix that confirmed the change.</param>
public sealed record ZoneTransition(ZoneState From, ZoneState To, DateTimeOffset At);

/// <summary>
/// Hysteresis for one device and one zone, so a device standing near the boundary does not flap between
/// inside and outside. Not thread-safe: one per device and zone, fed that device's fixes in order.
/// </summary>
public struct ZonePresence
{
    /// <summary>Starts from a known state, for example one restored from storage.</summary>
    public ZonePresence(ZoneState state)
    {
        State = state;
    }

    /// <summary>The confirmed state.</summary>
    public ZoneState State { get; private set; }

    /// <summary>The state the recent fixes point to, when it differs from <see cref="State"/>; otherwise Unknown.</summary>
    public ZoneState Candidate { get; private set; }

    /// <summary>How many usable fixes in a row have pointed to <see cref="Candidate"/>.</summary>
    public int CandidateFixes { get; private set; }

    /// <summary>Time of the first fix that pointed to <see cref="Candidate"/>.</summary>
    public DateTimeOffset CandidateSince { get; private set; }

    /// <summary>
    /// Takes one location fix. Fixes less accurate than <see cref="ZonePresenceOptions.MaxAccuracyMeters"/>
    /// (or with no valid accuracy) are ignored. The first usable fix sets the state at once. After that, a
    /// change needs <see cref="ZonePresenceOptions.ConsecutiveFixes"/> agreeing fixes in a row, the last at
    /// least <see cref="ZonePresenceOptions.MinDwell"/> after the first; any fix agreeing with the confirmed
    /// state starts the count again.
    /// </summary>
    /// <param name="inside">Whether the fix's position is inside the zone.</param>
    /// <param name="accuracyMeters">The fix's accuracy radius in meters.</param>
    /// <param name="distanceToBoundaryMeters">
    /// Distance from the fix to the zone boundary. Not used to shorten confirmation yet: a fix clearly on one
    /// side is treated like any other, so the rule has one path; the value is taken so callers need not
    /// change if that shortcut is added.
    /// </param>
    /// <param name="at">When the fix was taken.</param>
    /// <param name="options">The thresholds.</param>
    /// <returns>The change when the confirmed state changes; otherwise null.</returns>
    public ZoneTransition? Observe(bool inside, double accuracyMeters, double distanceToBoundaryMeters, DateTimeOffset at, ZonePresenceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(accuracyMeters >= 0 && accuracyMeters <= options.MaxAccuracyMeters))
        {
            return null;
        }

        var observed = inside ? ZoneState.Inside : ZoneState.Outside;
        if (observed == State)
        {
            ResetCandidate();
            return null;
        }

        if (State == ZoneState.Unknown)
        {
            return Confirm(observed, at);
        }

        if (Candidate != observed)
        {
            Candidate = observed;
            CandidateFixes = 0;
            CandidateSince = at;
        }

        CandidateFixes++;
        var dwell = options.MinDwell > TimeSpan.Zero ? options.MinDwell : TimeSpan.Zero;
        return CandidateFixes >= Math.Max(1, options.ConsecutiveFixes) && at - CandidateSince >= dwell
            ? Confirm(observed, at)
            : null;
    }

    private ZoneTransition Confirm(ZoneState to, DateTimeOffset at)
    {
        var transition = new ZoneTransition(State, to, at);
        State = to;
        ResetCandidate();
        return transition;
    }

    private void ResetCandidate()
    {
        Candidate = ZoneState.Unknown;
        CandidateFixes = 0;
        CandidateSince = default;
    }
}
