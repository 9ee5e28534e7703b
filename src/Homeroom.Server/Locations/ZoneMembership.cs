using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Zones;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Locations;

/// <summary>A stored zone ready for point and network tests.</summary>
public sealed record LoadedZone(Guid Id, string Name, string Kind, Guid? SchoolId, ZoneShape Shape, NetworkRanges PublicRanges, NetworkRanges LocalRanges)
{
    /// <summary>Whether the zone is also defined by network.</summary>
    public bool HasNetworks => !PublicRanges.IsEmpty || !LocalRanges.IsEmpty;
}

/// <summary>A confirmed change of one device's state in one zone.</summary>
public sealed record ZoneStateChange(Guid ZoneId, string ZoneName, ZoneChange Change);

/// <summary>One device's state in one zone, with the last change and the signal that decided it.</summary>
public sealed record DeviceZoneState(Guid ZoneId, string ZoneName, string Kind, ZoneState State, ZoneChange? LastChange, string? NetworkMatch);

/// <summary>
/// Which zones each device is in, from its location fixes and the networks it is on, with hysteresis
/// (<see cref="ZoneSignals"/>: a school network match is a strong "inside" signal; the rule is written
/// there) so a device at a boundary does not flap. Held in memory: after a restart the first usable
/// fix or network match sets the state.
/// </summary>
public sealed class ZoneMembership(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<LocationOptions> options)
{
    private readonly ConcurrentDictionary<Guid, DeviceZones> _devices = new();
    private volatile IReadOnlyList<LoadedZone> _zones = [];

    public IReadOnlyList<LoadedZone> Zones => _zones;

    public LoadedZone? Find(Guid zoneId) => _zones.FirstOrDefault(z => z.Id == zoneId);

    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await db.Zones.AsNoTracking().ToListAsync(cancellationToken);
        var zones = new List<LoadedZone>();
        foreach (var row in rows)
        {
            using var document = JsonDocument.Parse(row.GeometryJson);
            if (GeoJsonZones.Parse(document.RootElement).Shape is { } shape)
            {
                zones.Add(new LoadedZone(row.Id, row.Name, row.Kind, row.SchoolId, shape, Ranges(row.PublicRangesJson), Ranges(row.LocalRangesJson)));
            }
        }

        _zones = zones;
        var ids = zones.Select(z => z.Id).ToHashSet();
        foreach (var device in _devices.Values)
        {
            device.Retain(ids);
        }
    }

    /// <summary>Stored ranges as validated when they were saved; an unreadable list (never written by Homeroom) counts as none.</summary>
    internal static NetworkRanges Ranges(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return NetworkRanges.Empty;
        }

        try
        {
            return NetworkRanges.Parse(JsonSerializer.Deserialize<List<string?>>(json), out _) ?? NetworkRanges.Empty;
        }
        catch (JsonException)
        {
            return NetworkRanges.Empty;
        }
    }

    /// <summary>Zones the device is confirmed inside.</summary>
    public IReadOnlyCollection<Guid> InsideZones(Guid deviceId) =>
        _devices.TryGetValue(deviceId, out var device) ? device.Inside : [];

    /// <summary>Devices confirmed inside a zone (in no particular order).</summary>
    public IReadOnlyList<Guid> DevicesInside(Guid zoneId) =>
        [.. _devices.Where(d => d.Value.Inside.Contains(zoneId)).Select(d => d.Key)];

    /// <summary>The confirmed state of one device in one zone.</summary>
    public ZoneState StateOf(Guid deviceId, Guid zoneId) =>
        _devices.TryGetValue(deviceId, out var device) ? device.StateOf(zoneId) : ZoneState.Unknown;

    /// <summary>The device's state in every zone it has a state for, by zone name.</summary>
    public IReadOnlyList<DeviceZoneState> StatesOf(Guid deviceId)
    {
        if (!_devices.TryGetValue(deviceId, out var device))
        {
            return [];
        }

        var zones = _zones;
        return [.. zones.Select(z => device.Describe(z)).OfType<DeviceZoneState>().OrderBy(s => s.ZoneName, StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>The last confirmed change of one device in one zone; null when there was none.</summary>
    public ZoneChange? LastChange(Guid deviceId, Guid zoneId) =>
        _devices.TryGetValue(deviceId, out var device) && Find(zoneId) is { } zone ? device.Describe(zone)?.LastChange : null;

    /// <summary>Whether the fix's position is inside a zone of kind <c>home</c> (the raw point, no hysteresis).</summary>
    public bool InHomeZone(LocationFix fix)
    {
        var point = new GeoPoint(fix.Longitude, fix.Latitude);
        return _zones.Any(z => z.Kind == "home" && z.Shape.Contains(point));
    }

    private readonly ZoneSignalOptions _signalOptions = new(
        new ZonePresenceOptions(options.Value.MaxAccuracyMeters, options.Value.ConsecutiveFixes, options.Value.MinDwell),
        options.Value.SustainedOutsideFixes,
        options.Value.SustainedOutsideDwell);

    /// <summary>Feeds one fix; the confirmed changes it caused (empty when none).</summary>
    public IReadOnlyList<ZoneStateChange> Observe(Guid deviceId, LocationFix fix) =>
        _devices.GetOrAdd(deviceId, _ => new DeviceZones()).Observe(_zones, fix, _signalOptions);

    /// <summary>
    /// Feeds the networks the device is on: the address the server sees it connect from (after trusted
    /// proxies) and the local address it reports. A null <paramref name="localAddress"/> with
    /// <paramref name="localReported"/> false keeps the last one the device reported.
    /// </summary>
    public IReadOnlyList<ZoneStateChange> ObserveNetwork(Guid deviceId, IPAddress? publicAddress, IPAddress? localAddress, bool localReported, DateTimeOffset at)
    {
        var zones = _zones;
        if (!zones.Any(z => z.HasNetworks) && !_devices.ContainsKey(deviceId))
        {
            return [];
        }

        return _devices.GetOrAdd(deviceId, _ => new DeviceZones()).ObserveNetwork(zones, publicAddress, localAddress, localReported, at);
    }

    public void Forget(Guid deviceId) => _devices.TryRemove(deviceId, out _);

    private sealed class DeviceZones
    {
        private readonly Dictionary<Guid, ZoneSignals> _signals = [];
        private Guid[] _inside = [];
        private IPAddress? _local;

        public IReadOnlyCollection<Guid> Inside => Volatile.Read(ref _inside);

        public ZoneState StateOf(Guid zoneId)
        {
            lock (_signals)
            {
                return _signals.TryGetValue(zoneId, out var signals) ? signals.State : ZoneState.Unknown;
            }
        }

        public DeviceZoneState? Describe(LoadedZone zone)
        {
            lock (_signals)
            {
                return _signals.TryGetValue(zone.Id, out var s) && (s.State != ZoneState.Unknown || s.NetworkMatch is not null)
                    ? new DeviceZoneState(zone.Id, zone.Name, zone.Kind, s.State, s.LastChange, s.NetworkMatch)
                    : null;
            }
        }

        public IReadOnlyList<ZoneStateChange> Observe(IReadOnlyList<LoadedZone> zones, LocationFix fix, ZoneSignalOptions options)
        {
            var point = new GeoPoint(fix.Longitude, fix.Latitude);
            lock (_signals)
            {
                List<ZoneStateChange>? changes = null;
                foreach (var zone in zones)
                {
                    var signals = _signals.GetValueOrDefault(zone.Id);
                    if (signals.ObserveFix(zone.Shape.Contains(point), fix.Latitude, fix.Longitude, fix.AccuracyMeters, fix.CapturedAt, options) is { } change)
                    {
                        (changes ??= []).Add(new ZoneStateChange(zone.Id, zone.Name, change));
                    }

                    _signals[zone.Id] = signals;
                }

                return Publish(changes);
            }
        }

        public IReadOnlyList<ZoneStateChange> ObserveNetwork(IReadOnlyList<LoadedZone> zones, IPAddress? publicAddress, IPAddress? localAddress, bool localReported, DateTimeOffset at)
        {
            lock (_signals)
            {
                if (localReported)
                {
                    _local = localAddress;
                }

                List<ZoneStateChange>? changes = null;
                foreach (var zone in zones)
                {
                    if (!zone.HasNetworks && !_signals.ContainsKey(zone.Id))
                    {
                        continue;
                    }

                    var signals = _signals.GetValueOrDefault(zone.Id);
                    var (range, address) = zone.PublicRanges.Match(publicAddress) is { } publicRange ? (publicRange, publicAddress)
                        : zone.LocalRanges.Match(_local) is { } localRange ? (localRange, _local)
                        : (null, null);
                    if (signals.ObserveNetwork(range, address?.ToString(), at) is { } change)
                    {
                        (changes ??= []).Add(new ZoneStateChange(zone.Id, zone.Name, change));
                    }

                    _signals[zone.Id] = signals;
                }

                return Publish(changes);
            }
        }

        private List<ZoneStateChange> Publish(List<ZoneStateChange>? changes)
        {
            if (changes is null)
            {
                return [];
            }

            Volatile.Write(ref _inside, _signals.Where(p => p.Value.State == ZoneState.Inside).Select(p => p.Key).Order().ToArray());
            return changes;
        }

        public void Retain(HashSet<Guid> zoneIds)
        {
            lock (_signals)
            {
                foreach (var id in _signals.Keys.Where(id => !zoneIds.Contains(id)).ToList())
                {
                    _signals.Remove(id);
                }

                Volatile.Write(ref _inside, _inside.Where(zoneIds.Contains).ToArray());
            }
        }
    }
}

/// <summary>Loads the zones when the server starts.</summary>
public sealed class ZoneLoader(ZoneMembership membership) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => membership.ReloadAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
