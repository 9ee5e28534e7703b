using System.Collections.Concurrent;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Zones;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Locations;

/// <summary>A stored zone ready for point tests.</summary>
public sealed record LoadedZone(Guid Id, string Name, string Kind, Guid? SchoolId, ZoneShape Shape);

/// <summary>
/// Which zones each device is in, with hysteresis (<see cref="ZonePresence"/>) so a device at a
/// boundary does not flap. Held in memory: after a restart the first usable fix sets the state.
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
                zones.Add(new LoadedZone(row.Id, row.Name, row.Kind, row.SchoolId, shape));
            }
        }

        _zones = zones;
        var ids = zones.Select(z => z.Id).ToHashSet();
        foreach (var device in _devices.Values)
        {
            device.Retain(ids);
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

    private readonly ZonePresenceOptions _presenceOptions = new(options.Value.MaxAccuracyMeters, options.Value.ConsecutiveFixes, options.Value.MinDwell);

    /// <summary>Feeds one fix; true when the confirmed state of any zone changed for the device.</summary>
    public bool Observe(Guid deviceId, LocationFix fix) =>
        _devices.GetOrAdd(deviceId, _ => new DeviceZones()).Observe(_zones, fix, _presenceOptions);

    public void Forget(Guid deviceId) => _devices.TryRemove(deviceId, out _);

    private sealed class DeviceZones
    {
        private readonly Dictionary<Guid, ZonePresence> _presence = [];
        private Guid[] _inside = [];

        public IReadOnlyCollection<Guid> Inside => Volatile.Read(ref _inside);

        public ZoneState StateOf(Guid zoneId)
        {
            lock (_presence)
            {
                return _presence.TryGetValue(zoneId, out var presence) ? presence.State : ZoneState.Unknown;
            }
        }

        public bool Observe(IReadOnlyList<LoadedZone> zones, LocationFix fix, ZonePresenceOptions options)
        {
            var point = new GeoPoint(fix.Longitude, fix.Latitude);
            lock (_presence)
            {
                var changed = false;
                foreach (var zone in zones)
                {
                    var presence = _presence.GetValueOrDefault(zone.Id);
                    // The distance is not used by the hysteresis today (see ZonePresence), so it is not computed.
                    changed |= presence.Observe(zone.Shape.Contains(point), fix.AccuracyMeters, 0, fix.CapturedAt, options) is not null;
                    _presence[zone.Id] = presence;
                }

                if (!changed)
                {
                    return false;
                }

                Volatile.Write(ref _inside, _presence.Where(p => p.Value.State == ZoneState.Inside).Select(p => p.Key).Order().ToArray());
                return true;
            }
        }

        public void Retain(HashSet<Guid> zoneIds)
        {
            lock (_presence)
            {
                foreach (var id in _presence.Keys.Where(id => !zoneIds.Contains(id)).ToList())
                {
                    _presence.Remove(id);
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
