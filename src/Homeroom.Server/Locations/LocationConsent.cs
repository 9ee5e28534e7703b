using System.Collections.Concurrent;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Locations;

/// <summary>What a device's policy says of one location fix.</summary>
public enum LocationPermission
{
    /// <summary>The fix may be taken.</summary>
    Allowed,
    /// <summary><c>monitoring.location</c> is off (or the device is unknown, or its policy could not be read).</summary>
    NotMonitored,
    /// <summary>Taken outside <c>location.reportingHours</c>, in the school's time zone.</summary>
    OutsideReportingHours,
}

/// <summary>
/// Whether a device's effective policy lets it report its location (<c>monitoring.location</c>) and
/// when (<c>location.reportingHours</c>, weekly windows read in the school's time zone and checked
/// against a fix's capture time), read from the resolved effective policy. Cached per device until the
/// policy could change: until the resolution's next schedule boundary, at most <see cref="MaxAge"/>. Each
/// time the distributor resolves a device (<see cref="PolicyDistributor.DeviceResolved"/>) the answer is
/// taken from that resolution rather than dropped, so the first fix after a device connects (its connect
/// resolves it) reads no database; a full pass drops what it did not resolve.
/// </summary>
public sealed class LocationConsent
{
    /// <summary>Longest a cached answer is used.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private readonly IDbContextFactory<HomeroomDbContext> _dbFactory;
    private readonly ZoneMembership _zones;
    private readonly TimeProvider _time;
    private readonly ILogger<LocationConsent> _logger;
    private readonly ConcurrentDictionary<Guid, Answer> _cache = new();
    private readonly SharedPolicyModel _policies;

    private readonly ServerMetrics _metrics;
    private readonly ConcurrentDictionary<string, IReadOnlyList<ScheduleWindow>> _hours = new(StringComparer.Ordinal);
    private const int MaxHoursTexts = 256;

    public LocationConsent(IDbContextFactory<HomeroomDbContext> dbFactory, SharedPolicyModel policies, ZoneMembership zones, PolicyDistributor distributor, ServerMetrics metrics, TimeProvider time, ILogger<LocationConsent> logger)
    {
        _policies = policies;
        _logger = logger;
        _dbFactory = dbFactory;
        _zones = zones;
        _metrics = metrics;
        _time = time;
        distributor.DeviceResolved += resolution => Keep(resolution.DeviceId, From(resolution.Effective, resolution.TimeZone, resolution.ResolvedAt));
        distributor.PassCompleted += pass =>
        {
            if (pass.Full)
            {
                PolicyCache.DropOlderThan(_cache, pass.ResolvedAt, answer => answer.ResolvedAt);
            }
        };
    }

    /// <summary>Whether the device may report its location now; false for an unknown or revoked device.</summary>
    public async ValueTask<bool> IsMonitoredAsync(Guid deviceId, CancellationToken cancellationToken) =>
        (await AnswerAsync(deviceId, cancellationToken)).Monitored;

    /// <summary>
    /// Whether a fix taken at <paramref name="capturedAt"/> may be taken: <c>monitoring.location</c> on,
    /// and the capture time inside the reporting hours in the school's time zone, unless the fix answers
    /// an administrator's explicit locate (<paramref name="explicitLocate"/>: an audited staff action
    /// asked for it), which needs <c>monitoring.location</c> only.
    /// </summary>
    public async ValueTask<LocationPermission> CheckAsync(Guid deviceId, DateTimeOffset capturedAt, bool explicitLocate, CancellationToken cancellationToken)
    {
        var answer = await AnswerAsync(deviceId, cancellationToken);
        if (!answer.Monitored)
        {
            return LocationPermission.NotMonitored;
        }

        if (explicitLocate)
        {
            return LocationPermission.Allowed;
        }

        var local = TimeZoneInfo.ConvertTime(capturedAt, answer.TimeZone).DateTime;
        return ScheduleText.Covers(answer.Hours, local) ? LocationPermission.Allowed : LocationPermission.OutsideReportingHours;
    }

    private async ValueTask<Answer> AnswerAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(deviceId, out var cached) && cached.Until > now)
        {
            return cached;
        }

        PolicyModel model;
        List<(DeviceScope Scope, long AppliedVersion)> scopes;
        _metrics.ConsentLoad("location");
        try
        {
            model = await _policies.GetAsync(now);
            await using var db = await _dbFactory.CreateDbContextAsync(cancellationToken);
            scopes = await DeviceScopes.LoadAsync(db, [deviceId], _zones.InsideZones, cancellationToken);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            // The database is unreachable: no location is taken (nothing is known to allow it), and the
            // device's connection is not hurt; the next fix asks again.
            LocationsLog.ConsentUnknown(_logger, deviceId, e);
            return Answer.Refused;
        }

        if (scopes.Count == 0)
        {
            return Answer.Refused;
        }

        var scope = scopes[0].Scope;
        var zone = model.TimeZoneOf(scope.SchoolId);
        return Keep(deviceId, From(PolicyResolver.Resolve(model.Assignments, model.Profiles, scope, now, zone), zone, now));
    }

    private Answer From(EffectivePolicy effective, TimeZoneInfo zone, DateTimeOffset now)
    {
        var values = effective.Values;
        var monitored = values.TryGetValue("monitoring.location", out var value) && value.GetValue<bool>();
        // Every setting resolves (to its default when no profile sets it), and profiles are validated when
        // saved; text that still did not parse gives no window, the safe reading.
        var hours = values.TryGetValue("location.reportingHours", out var text) ? HoursOf(text.GetValue<string>()) : [];
        var until = effective.ValidUntil is { } boundary && boundary < now + MaxAge ? boundary : now + MaxAge;
        return new Answer(monitored, hours, zone, until, now);
    }

    /// <summary>The windows of one reporting-hours text, parsed once: a pass resolves thousands of devices that share a few texts.</summary>
    private IReadOnlyList<ScheduleWindow> HoursOf(string text)
    {
        if (_hours.TryGetValue(text, out var windows))
        {
            return windows;
        }

        if (_hours.Count >= MaxHoursTexts)
        {
            _hours.Clear();
        }

        return _hours[text] = ScheduleText.Parse(text).Windows ?? [];
    }

    /// <summary>Caches <paramref name="answer"/> unless a later resolution is already cached (a load that started before a pass must not undo it).</summary>
    private Answer Keep(Guid deviceId, Answer answer) =>
        _cache.AddOrUpdate(deviceId, answer, (_, cached) => cached.ResolvedAt > answer.ResolvedAt ? cached : answer);

    private sealed record Answer(bool Monitored, IReadOnlyList<ScheduleWindow> Hours, TimeZoneInfo TimeZone, DateTimeOffset Until, DateTimeOffset ResolvedAt)
    {
        public static readonly Answer Refused = new(false, [], TimeZoneInfo.Utc, DateTimeOffset.MinValue, DateTimeOffset.MinValue);
    }
}
