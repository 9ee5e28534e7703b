using System.Globalization;

namespace Homeroom.Rules.Zones;

/// <summary>Which signal decided a change of zone state.</summary>
public enum ZoneSignal
{
    /// <summary>A location fix (GPS, Wi-Fi positioning or an Apple Lost Mode answer).</summary>
    Gps = 1,
    /// <summary>The network the device connects from or reports.</summary>
    Network = 2,
}

/// <summary>How network and GPS signals combine in <see cref="ZoneSignals"/>.</summary>
/// <param name="Gps">The GPS hysteresis (accuracy limit, agreeing fixes, dwell) used while no school network matches.</param>
/// <param name="SustainedOutsideFixes">
/// Agreeing usable fixes outside the zone needed to leave it while one of its networks still matches; below 1 counts as 1.
/// </param>
/// <param name="SustainedOutsideDwell">Time from the first of those fixes to the one that confirms leaving.</param>
public sealed record ZoneSignalOptions(ZonePresenceOptions Gps, int SustainedOutsideFixes = 5, TimeSpan SustainedOutsideDwell = default)
{
    /// <summary>The default GPS hysteresis; 5 fixes over at least 5 minutes to overrule a matching network.</summary>
    public static ZoneSignalOptions Default { get; } = new(ZonePresenceOptions.Default, 5, TimeSpan.FromMinutes(5));
}

/// <summary>A confirmed change of a device's state for one zone, with the signal that decided it.</summary>
/// <param name="From">The state before.</param>
/// <param name="To">The state now.</param>
/// <param name="At">Time of the observation that confirmed the change.</param>
/// <param name="Signal">The signal that decided.</param>
/// <param name="Explanation">One sentence for staff: which fix or which network range, and why.</param>
public sealed record ZoneChange(ZoneState From, ZoneState To, DateTimeOffset At, ZoneSignal Signal, string Explanation);

/// <summary>
/// A device's state for one zone from two signals: location fixes and the network it is on.
/// <para>The rule:</para>
/// <list type="number">
/// <item>A network match (the device's public address in one of the zone's public ranges, or its
/// reported local address in one of its local ranges) is a strong "inside" signal: the device is
/// inside at once, whatever the GPS says (GPS fails indoors, and a school's own network is hard to be
/// on from elsewhere). It also restarts the GPS count, so a later leave is counted from the match.</item>
/// <item>While a network still matches, fixes outside the zone move the device out only when they are
/// sustained: <see cref="ZoneSignalOptions.SustainedOutsideFixes"/> usable fixes in a row, the last at
/// least <see cref="ZoneSignalOptions.SustainedOutsideDwell"/> after the first (a public range shared
/// with somewhere else, or a school bus on the school's hotspot). One fix inside starts the count again.
/// A range overruled this way no longer puts the device inside until the device has left that range
/// (otherwise the next heartbeat on it would bring the device straight back, and it would flap); in the
/// meantime the GPS decides as if there were no network.</item>
/// <item>Once no network matches, the GPS hysteresis of <see cref="ZonePresence"/> decides alone, from the
/// state the network left: leaving needs the normal number of agreeing fixes outside. Losing the
/// network is not by itself a reason to leave: with no fix, the device stays where it was last confirmed.</item>
/// <item>Fixes less accurate than the limit count for nothing, in either rule.</item>
/// </list>
/// Every change names its signal: the fix (position and accuracy) or the network range.
/// Not thread-safe: one per device and zone, fed that device's observations in order.
/// </summary>
public struct ZoneSignals
{
    private ZonePresence _gps;
    private string? _overruled;
    private int _sustainedFixes;
    private DateTimeOffset _sustainedSince;

    /// <summary>The confirmed state.</summary>
    public ZoneState State { get; private set; }

    /// <summary>The zone's network range the device matched at its last network observation; null when none.</summary>
    public string? NetworkMatch { get; private set; }

    /// <summary>The range the device matched before it left the zone's networks, until the next match or a confirmed change.</summary>
    public string? NetworkLost { get; private set; }

    /// <summary>The last confirmed change; null before the first.</summary>
    public ZoneChange? LastChange { get; private set; }

    /// <summary>Takes the network the device is on now.</summary>
    /// <param name="matchedRange">The zone's range that matched the device's address; null when none did.</param>
    /// <param name="address">The matching address (for the explanation); ignored when nothing matched.</param>
    /// <param name="at">When the device was seen on that network.</param>
    /// <returns>The change when the confirmed state changes; otherwise null.</returns>
    public ZoneChange? ObserveNetwork(string? matchedRange, string? address, DateTimeOffset at)
    {
        if (matchedRange is null)
        {
            if (NetworkMatch is not null)
            {
                NetworkLost = NetworkMatch;
                NetworkMatch = null;
            }

            _overruled = null;
            return null;
        }

        if (matchedRange == _overruled)
        {
            NetworkMatch = matchedRange; // still on the range the GPS overruled: it says nothing new
            return null;
        }

        _overruled = null;
        NetworkMatch = matchedRange;
        NetworkLost = null;
        ResetSustained();
        _gps = new ZonePresence(ZoneState.Inside);
        return State == ZoneState.Inside
            ? null
            : Confirm(ZoneState.Inside, at, ZoneSignal.Network, Invariant($"Network range {matchedRange} matched (address {address})."));
    }

    /// <summary>Takes one location fix.</summary>
    /// <param name="inside">Whether the fix's position is inside the zone.</param>
    /// <param name="latitude">The fix's latitude, for the explanation.</param>
    /// <param name="longitude">The fix's longitude, for the explanation.</param>
    /// <param name="accuracyMeters">The fix's accuracy radius in meters.</param>
    /// <param name="at">When the fix was taken.</param>
    /// <param name="options">The thresholds.</param>
    /// <returns>The change when the confirmed state changes; otherwise null.</returns>
    public ZoneChange? ObserveFix(bool inside, double latitude, double longitude, double accuracyMeters, DateTimeOffset at, ZoneSignalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!(accuracyMeters >= 0 && accuracyMeters <= options.Gps.MaxAccuracyMeters))
        {
            return null;
        }

        var fix = Invariant($"GPS fix {latitude:F5}, {longitude:F5} (±{accuracyMeters:0} m)");
        if (NetworkMatch is { } range && range != _overruled)
        {
            if (inside)
            {
                ResetSustained();
                return null;
            }

            if (_sustainedFixes == 0)
            {
                _sustainedSince = at;
            }

            _sustainedFixes++;
            var dwell = options.SustainedOutsideDwell > TimeSpan.Zero ? options.SustainedOutsideDwell : TimeSpan.Zero;
            if (_sustainedFixes < Math.Max(1, options.SustainedOutsideFixes) || at - _sustainedSince < dwell)
            {
                return null;
            }

            _gps = new ZonePresence(ZoneState.Outside);
            _overruled = range;
            return Confirm(ZoneState.Outside, at, ZoneSignal.Gps,
                Invariant($"{fix} outside, {_sustainedFixes} fixes in a row outside over {(at - _sustainedSince).TotalMinutes:0} min, overruling network range {range}, which still matched."));
        }

        var transition = _gps.Observe(inside, accuracyMeters, 0, at, options.Gps);
        if (transition is null)
        {
            return null;
        }

        var where = inside ? "inside" : "outside";
        var lost = !inside && NetworkLost is { } gone ? Invariant($"; network range {gone} no longer matched") : "";
        return Confirm(transition.To, at, ZoneSignal.Gps, Invariant($"{fix} {where}{lost}."));
    }

    private ZoneChange Confirm(ZoneState to, DateTimeOffset at, ZoneSignal signal, string explanation)
    {
        var change = new ZoneChange(State, to, at, signal, explanation);
        State = to;
        LastChange = change;
        if (signal == ZoneSignal.Gps)
        {
            NetworkLost = null;
        }

        ResetSustained();
        return change;
    }

    private void ResetSustained()
    {
        _sustainedFixes = 0;
        _sustainedSince = default;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
