using System.Collections.Concurrent;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Locations;

/// <summary>
/// Whether a device's effective policy lets it report its location now (<c>monitoring.location</c>),
/// read from the resolved effective policy. Cached per device until the policy could change: until the
/// resolution's next schedule boundary, at most <see cref="MaxAge"/>, and dropped when the distributor
/// re-resolves the device (<see cref="BoundsRules.Resolved"/>) or every device (a full pass).
/// </summary>
public sealed class LocationConsent
{
    /// <summary>Longest a cached answer is used.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private readonly IDbContextFactory<HomeroomDbContext> _dbFactory;
    private readonly ZoneMembership _zones;
    private readonly TimeProvider _time;
    private readonly ILogger<LocationConsent> _logger;
    private readonly ConcurrentDictionary<Guid, (bool Monitored, DateTimeOffset Until)> _cache = new();
    // Profiles and assignments, shared by every device's resolution until a full pass or MaxAge.
    private volatile Task<(PolicyModel Model, DateTimeOffset Until)>? _model;

    public LocationConsent(IDbContextFactory<HomeroomDbContext> dbFactory, ZoneMembership zones, BoundsRules bounds, PolicyDistributor distributor, TimeProvider time, ILogger<LocationConsent> logger)
    {
        _logger = logger;
        _dbFactory = dbFactory;
        _zones = zones;
        _time = time;
        bounds.Resolved += id => _cache.TryRemove(id, out _);
        distributor.PassCompleted += pass =>
        {
            if (pass.Full)
            {
                _model = null;
                _cache.Clear();
            }
        };
    }

    /// <summary>Whether the device may report its location now; false for an unknown or revoked device.</summary>
    public async ValueTask<bool> IsMonitoredAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(deviceId, out var cached) && cached.Until > now)
        {
            return cached.Monitored;
        }

        PolicyModel model;
        List<(DeviceScope Scope, long AppliedVersion)> scopes;
        try
        {
            model = await ModelAsync(now, cancellationToken);
            await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
            scopes = await DeviceScopes.LoadAsync(db, [deviceId], _zones.InsideZones, cancellationToken);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            // The database is unreachable: no location is taken (nothing is known to allow it), and the
            // device's connection is not hurt; the next fix asks again.
            LocationsLog.ConsentUnknown(_logger, deviceId, e);
            return false;
        }

        if (scopes.Count == 0)
        {
            return false;
        }

        var scope = scopes[0].Scope;
        var effective = PolicyResolver.Resolve(model.Assignments, model.Profiles, scope, now, model.TimeZoneOf(scope.SchoolId));
        var monitored = effective.Values.TryGetValue("monitoring.location", out var value) && value.GetValue<bool>();
        var until = effective.ValidUntil is { } boundary && boundary < now + MaxAge ? boundary : now + MaxAge;
        _cache[deviceId] = (monitored, until);
        return monitored;
    }

    private async Task<PolicyModel> ModelAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var current = _model;
        if (current is not null && (!current.IsCompleted || (current.IsCompletedSuccessfully && current.Result.Until > now)))
        {
            return (await current).Model;
        }

        var loading = LoadAsync(now); // shared by every caller, so not cancelled with the first
        _model = loading;
        try
        {
            return (await loading).Model;
        }
        catch
        {
            _model = null;
            throw;
        }
    }

    private async Task<(PolicyModel Model, DateTimeOffset Until)> LoadAsync(DateTimeOffset now)
    {
        await using var db = await _dbFactory.CreateDbContextAsync();
        return (await PolicyModel.LoadAsync(db, CancellationToken.None), now + MaxAge);
    }
}
