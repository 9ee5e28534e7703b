using System.Collections.Concurrent;
using System.Net;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Zones;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Locations;

/// <summary>The zones a device must stay inside now (from its effective policy), and what to tell it when it leaves.</summary>
public sealed record DeviceBounds(IReadOnlyList<Guid> AllowedZones, string Message);

/// <summary>Each device's current bounds, written by the policy distributor after every resolution.</summary>
public sealed class BoundsRules
{
    private readonly ConcurrentDictionary<Guid, DeviceBounds> _bounds = new();

    /// <summary>Raised when a device's bounds changed.</summary>
    public event Action<Guid>? Changed;

    public DeviceBounds? Get(Guid deviceId) => _bounds.GetValueOrDefault(deviceId);

    public void Set(Guid deviceId, DeviceBounds bounds)
    {
        var previous = _bounds.GetValueOrDefault(deviceId);
        if (previous is not null && previous.Message == bounds.Message && previous.AllowedZones.SequenceEqual(bounds.AllowedZones))
        {
            return;
        }

        _bounds[deviceId] = bounds;
        Changed?.Invoke(deviceId);
    }
}

/// <summary>What became of a location fix.</summary>
public enum FixOutcome
{
    /// <summary>Stored for the track and counted for zones.</summary>
    Accepted,
    /// <summary>Inside a home zone while locations are not collected at home: counted for zones, not stored.</summary>
    CountedNotStored,
    /// <summary>Not a position (out of range, not finite, negative accuracy).</summary>
    Invalid,
    /// <summary>Accuracy radius larger than <see cref="LocationOptions.MaxStoredAccuracyMeters"/>.</summary>
    Inaccurate,
    /// <summary>Taken after the server's clock plus <see cref="LocationOptions.MaxClockSkew"/>.</summary>
    FromTheFuture,
    /// <summary>Taken longer ago than <see cref="LocationOptions.MaxFixAge"/>.</summary>
    TooOld,
    /// <summary>Taken sooner than <see cref="LocationOptions.MinFixInterval"/> after the last fix taken from this device.</summary>
    RateLimited,
    /// <summary>Taken no later than the last fix taken from this device.</summary>
    OutOfOrder,
    /// <summary>The device's effective policy has <c>monitoring.location</c> off.</summary>
    NotMonitored,
    /// <summary>Taken outside the policy's <c>location.reportingHours</c> (in the school's time zone), and not an answer to an explicit locate.</summary>
    OutsideReportingHours,
}

/// <summary>
/// Takes every location fix a device reports and every network it is seen on. A fix is checked first
/// (position and accuracy sane, not from the future beyond a small clock skew, not stale, taken at least
/// <see cref="LocationOptions.MinFixInterval"/> after the device's last fix, the device's policy has <c>monitoring.location</c>
/// on and its <c>location.reportingHours</c> cover the fix's capture time in the school's time zone, unless the fix answers
/// an administrator's explicit locate); a refused fix changes nothing at all. An accepted one is kept for the track (unless it is at home
/// and the district does not collect locations at home), updates zone membership (a change re-resolves the
/// device's policy, since profiles switch by zone), and checks bounds: a device confirmed outside every
/// zone its policy allows is out of bounds. Every change carries the explanation of the signal that decided.
/// </summary>
public sealed class LocationTracker
{
    private readonly ZoneMembership _membership;
    private readonly BoundsRules _bounds;
    private readonly LocationTrackWriter _track;
    private readonly PolicyDistributor _distributor;
    private readonly AlertService _alerts;
    private readonly LocationConsent _consent;
    private readonly LocationOptions _options;
    private readonly TimeProvider _time;
    // Per device: the capture time of the last fix taken.
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _lastFix = new();

    public LocationTracker(
        ZoneMembership membership, BoundsRules bounds, LocationTrackWriter track, PolicyDistributor distributor, AlertService alerts,
        LocationConsent consent, IOptions<LocationOptions> options, TimeProvider time)
    {
        _membership = membership;
        _bounds = bounds;
        _track = track;
        _distributor = distributor;
        _alerts = alerts;
        _consent = consent;
        _options = options.Value;
        _time = time;
        _bounds.Changed += id => EvaluateBounds(id, null, []);
    }

    /// <summary>Takes one fix a device reported (an agent's heartbeat); what became of it.</summary>
    public ValueTask<FixOutcome> ObserveAsync(Guid deviceId, LocationFix fix, CancellationToken cancellationToken = default) =>
        ObserveAsync(deviceId, fix, explicitLocate: false, cancellationToken);

    /// <summary>
    /// Takes one fix that answers an administrator's explicit locate (Apple's <c>DeviceLocation</c> in Lost
    /// Mode): checked like any other, except against the reporting hours, since an audited staff action asked
    /// for it; <c>monitoring.location</c> must still be on.
    /// </summary>
    public ValueTask<FixOutcome> ObserveLocateAnswerAsync(Guid deviceId, LocationFix fix, CancellationToken cancellationToken = default) =>
        ObserveAsync(deviceId, fix, explicitLocate: true, cancellationToken);

    private async ValueTask<FixOutcome> ObserveAsync(Guid deviceId, LocationFix fix, bool explicitLocate, CancellationToken cancellationToken)
    {
        if (Check(fix) is { } refused)
        {
            return refused;
        }

        // Spaced by the fixes' own times: a device cannot spread a flood out by faking them, since a fix
        // may be at most MaxClockSkew ahead of the server's clock.
        var last = _lastFix.GetValueOrDefault(deviceId);
        if (last != default && fix.CapturedAt <= last)
        {
            return FixOutcome.OutOfOrder;
        }

        if (last != default && fix.CapturedAt - last < _options.MinFixInterval)
        {
            return FixOutcome.RateLimited;
        }

        switch (await _consent.CheckAsync(deviceId, fix.CapturedAt, explicitLocate, cancellationToken))
        {
            case LocationPermission.NotMonitored:
                return FixOutcome.NotMonitored;
            case LocationPermission.OutsideReportingHours:
                return FixOutcome.OutsideReportingHours;
        }

        // Two fixes of one device racing here (two connections) both pass; at most one more, harmless.
        _lastFix[deviceId] = fix.CapturedAt;
        var store = _options.CollectAtHome || !_membership.InHomeZone(fix);
        if (store)
        {
            _track.TryEnqueue(new DeviceLocation
            {
                DeviceId = deviceId,
                At = fix.CapturedAt.UtcDateTime,
                Latitude = fix.Latitude,
                Longitude = fix.Longitude,
                AccuracyMeters = fix.AccuracyMeters,
            });
        }

        Changed(deviceId, _membership.Observe(deviceId, fix), store ? fix : null);
        return store ? FixOutcome.Accepted : FixOutcome.CountedNotStored;
    }

    /// <summary>
    /// Takes the networks a device is on: the address the server sees (after trusted proxies) and, when
    /// the device reported one, its local address (<paramref name="localReported"/> false keeps the last).
    /// Ignored while the device's policy has <c>monitoring.location</c> off, like its fixes.
    /// </summary>
    public async ValueTask ObserveNetworkAsync(Guid deviceId, IPAddress? publicAddress, string? localAddress, bool localReported, CancellationToken cancellationToken = default)
    {
        if (!_membership.Zones.Any(z => z.HasNetworks) || !await _consent.IsMonitoredAsync(deviceId, cancellationToken))
        {
            return;
        }

        var local = localAddress is not null && IPAddress.TryParse(localAddress, out var parsed) ? parsed : null;
        Changed(deviceId, _membership.ObserveNetwork(deviceId, publicAddress, local, localReported, _time.GetUtcNow()), null);
    }

    private FixOutcome? Check(LocationFix fix)
    {
        if (!double.IsFinite(fix.Latitude) || !double.IsFinite(fix.Longitude) || fix.Latitude is < -90 or > 90 || fix.Longitude is < -180 or > 180
            || !double.IsFinite(fix.AccuracyMeters) || fix.AccuracyMeters < 0)
        {
            return FixOutcome.Invalid;
        }

        if (fix.AccuracyMeters > _options.MaxStoredAccuracyMeters)
        {
            return FixOutcome.Inaccurate;
        }

        var now = _time.GetUtcNow();
        return fix.CapturedAt > now + _options.MaxClockSkew ? FixOutcome.FromTheFuture
            : fix.CapturedAt < now - _options.MaxFixAge ? FixOutcome.TooOld
            : null;
    }

    private void Changed(Guid deviceId, IReadOnlyList<ZoneStateChange> changes, LocationFix? fix)
    {
        if (changes.Count > 0)
        {
            _distributor.RequestDevice(deviceId);
            EvaluateBounds(deviceId, fix, changes);
        }
    }

    /// <summary>Whether the device is out of bounds now; null when no bounds apply or its zones are not yet known.</summary>
    public bool? IsOutOfBounds(Guid deviceId)
    {
        var bounds = _bounds.Get(deviceId);
        if (bounds is null || bounds.AllowedZones.Count == 0)
        {
            return false;
        }

        var states = bounds.AllowedZones.Select(z => _membership.StateOf(deviceId, z)).ToList();
        if (states.Contains(ZoneState.Inside))
        {
            return false;
        }

        return states.All(s => s == ZoneState.Outside) ? true : null;
    }

    private void EvaluateBounds(Guid deviceId, LocationFix? fix, IReadOnlyList<ZoneStateChange> changes)
    {
        if (IsOutOfBounds(deviceId) is not { } outOfBounds)
        {
            return;
        }

        var allowed = _bounds.Get(deviceId)?.AllowedZones ?? [];
        var deciding = changes.Where(c => allowed.Contains(c.ZoneId)).ToList();
        var explanation = deciding.Count > 0
            ? string.Join(" ", deciding.Select(c => $"{c.ZoneName}: {c.Change.Explanation}"))
            : changes.Count == 0 ? "The device's allowed zones changed." : null;
        if (explanation is { Length: > MaxExplanationLength })
        {
            explanation = explanation[..MaxExplanationLength];
        }

        _alerts.Report(new BoundsReport(deviceId, outOfBounds, _bounds.Get(deviceId)?.Message, fix?.Latitude, fix?.Longitude, explanation));
    }

    /// <summary>Longest explanation kept on an alert.</summary>
    public const int MaxExplanationLength = 1000;
}

/// <summary>Stores location fixes in batches.</summary>
public sealed class LocationTrackWriter(BulkSql bulk, TimeProvider time, ILogger<LocationTrackWriter> logger)
    : BatchingWriter<DeviceLocation>(capacity: 20_000, maxBatch: 1_000, maxDelay: TimeSpan.FromMilliseconds(200), time, logger)
{
    private const string InsertSql = "INSERT INTO device_locations (device_id, at, latitude, longitude, accuracy_meters) VALUES (@d, @at, @la, @lo, @acc)";

    protected override async Task WriteBatchAsync(IReadOnlyList<DeviceLocation> batch, CancellationToken cancellationToken)
    {
        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, InsertSql, ["@d", "@at", "@la", "@lo", "@acc"], batch, (l, v) =>
        {
            v[0] = bulk.Id(l.DeviceId);
            v[1] = l.At;
            v[2] = l.Latitude;
            v[3] = l.Longitude;
            v[4] = l.AccuracyMeters;
        }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
