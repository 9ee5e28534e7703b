using System.Collections.Concurrent;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Safety;

/// <summary>What a device's effective policy allows for safety now.</summary>
/// <param name="Monitored"><c>monitoring.safety</c>, and the device is at school (inside a campus or district zone) or <c>safety.atHome</c> is true.</param>
/// <param name="Screenshots"><c>safety.screenshots</c>.</param>
/// <param name="Reason">Why not monitored, for the log.</param>
public sealed record SafetyPermission(bool Monitored, bool Screenshots, string? Reason)
{
    public static readonly SafetyPermission None = new(false, false, "unknown device");
}

/// <summary>
/// The policy gate of safety signals: whether a device's effective policy lets the server scan its
/// signals now (<c>monitoring.safety</c>; outside the school's zones only when <c>safety.atHome</c>) and
/// ask it for screenshots (<c>safety.screenshots</c>). Resolved like <see cref="LocationConsent"/>,
/// cached per device for at most <see cref="MaxAge"/> or until the policy's next schedule boundary,
/// and taken from each resolution the distributor makes of the device.
/// </summary>
public sealed class SafetyConsent
{
    /// <summary>Longest a cached answer is used.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(1);

    /// <summary>Zone kinds that count as school.</summary>
    public static readonly IReadOnlySet<string> SchoolZoneKinds = new HashSet<string>(StringComparer.Ordinal) { "campus", "district" };

    private readonly IDbContextFactory<HomeroomDbContext> _dbFactory;
    private readonly ZoneMembership _zones;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<Guid, SafetyPolicy> _cache = new();
    private readonly SharedPolicyModel _policies;
    private readonly ServerMetrics _metrics;

    public SafetyConsent(IDbContextFactory<HomeroomDbContext> dbFactory, SharedPolicyModel policies, ZoneMembership zones, PolicyDistributor distributor, ServerMetrics metrics, TimeProvider time)
    {
        _policies = policies;
        _dbFactory = dbFactory;
        _zones = zones;
        _metrics = metrics;
        _time = time;
        distributor.DeviceResolved += resolution => Keep(resolution.DeviceId, From(resolution.Effective, resolution.ResolvedAt));
        distributor.PassCompleted += pass =>
        {
            if (pass.Full)
            {
                PolicyCache.DropOlderThan(_cache, pass.ResolvedAt, policy => policy.ResolvedAt);
            }
        };
    }

    private sealed record SafetyPolicy(bool Safety, bool AtHome, bool Screenshots, DateTimeOffset Until, DateTimeOffset ResolvedAt);

    /// <summary>What the device's policy allows now; nothing for an unknown device.</summary>
    public async ValueTask<SafetyPermission> CheckAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (!_cache.TryGetValue(deviceId, out var cached) || cached.Until <= now)
        {
            _metrics.ConsentLoad("safety");
            var model = await _policies.GetAsync(now);
            await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
            var scopes = await DeviceScopes.LoadAsync(db, [deviceId], _zones.InsideZones, cancellationToken);
            if (scopes.Count == 0)
            {
                return SafetyPermission.None;
            }

            var scope = scopes[0].Scope;
            cached = Keep(deviceId, From(PolicyResolver.Resolve(model.Assignments, model.Profiles, scope, now, model.TimeZoneOf(scope.SchoolId)), now));
        }

        var p = cached;
        if (!p.Safety)
        {
            return new SafetyPermission(false, false, "monitoring.safety is off");
        }

        // Zone membership changes without a policy change, so it is read live, never cached.
        if (!p.AtHome && !AtSchool(deviceId))
        {
            return new SafetyPermission(false, false, "outside school zones and safety.atHome is off");
        }

        return new SafetyPermission(true, p.Screenshots, null);
    }

    private static SafetyPolicy From(EffectivePolicy effective, DateTimeOffset now)
    {
        var values = effective.Values;
        var until = effective.ValidUntil is { } boundary && boundary < now + MaxAge ? boundary : now + MaxAge;
        return new SafetyPolicy(Flag(values, "monitoring.safety"), Flag(values, "safety.atHome"), Flag(values, "safety.screenshots"), until, now);
    }

    /// <summary>Caches <paramref name="policy"/> unless a later resolution is already cached (a load that started before a pass must not undo it).</summary>
    private SafetyPolicy Keep(Guid deviceId, SafetyPolicy policy) =>
        _cache.AddOrUpdate(deviceId, policy, (_, cached) => cached.ResolvedAt > policy.ResolvedAt ? cached : policy);

    private bool AtSchool(Guid deviceId) =>
        _zones.InsideZones(deviceId).Any(id => _zones.Find(id) is { } zone && SchoolZoneKinds.Contains(zone.Kind));

    private static bool Flag(IReadOnlyDictionary<string, System.Text.Json.Nodes.JsonNode> values, string key) =>
        values.TryGetValue(key, out var value) && value.GetValue<bool>();
}
