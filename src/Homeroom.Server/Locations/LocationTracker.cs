using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Zones;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;

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

/// <summary>
/// Takes every location fix a device reports: keeps it for the track, updates zone membership
/// (a change re-resolves the device's policy, since profiles switch by zone), and checks bounds:
/// a device confirmed outside every zone its policy allows is out of bounds.
/// </summary>
public sealed class LocationTracker
{
    private readonly ZoneMembership _membership;
    private readonly BoundsRules _bounds;
    private readonly LocationTrackWriter _track;
    private readonly PolicyDistributor _distributor;
    private readonly AlertService _alerts;

    public LocationTracker(ZoneMembership membership, BoundsRules bounds, LocationTrackWriter track, PolicyDistributor distributor, AlertService alerts)
    {
        _membership = membership;
        _bounds = bounds;
        _track = track;
        _distributor = distributor;
        _alerts = alerts;
        _bounds.Changed += id => EvaluateBounds(id, null);
    }

    public void Observe(Guid deviceId, LocationFix fix)
    {
        _track.TryEnqueue(new DeviceLocation
        {
            DeviceId = deviceId,
            At = fix.CapturedAt.UtcDateTime,
            Latitude = fix.Latitude,
            Longitude = fix.Longitude,
            AccuracyMeters = fix.AccuracyMeters,
        });
        if (_membership.Observe(deviceId, fix))
        {
            _distributor.RequestDevice(deviceId);
            EvaluateBounds(deviceId, fix);
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

    private void EvaluateBounds(Guid deviceId, LocationFix? fix)
    {
        if (IsOutOfBounds(deviceId) is { } outOfBounds)
        {
            _alerts.Report(new BoundsReport(deviceId, outOfBounds, _bounds.Get(deviceId)?.Message, fix?.Latitude, fix?.Longitude));
        }
    }
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
