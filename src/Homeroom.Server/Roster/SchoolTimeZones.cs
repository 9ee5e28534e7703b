using System.Globalization;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Roster;

/// <summary>
/// Each school's time zone, so staff read times as the school lives them, not in UTC. The table is
/// small and read on every page that shows a time, so it is cached for a few seconds.
/// </summary>
public sealed class SchoolTimeZones(IDbContextFactory<HomeroomDbContext> dbFactory)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(15);
    // Freshness of a cache is measured on the machine's clock, not the district's (tests move that one).
    private (IReadOnlyDictionary<Guid, TimeZoneInfo> Zones, long At)? _cache;

    /// <summary>Forgets the cached zones; called when a school is created, changed or deleted here.</summary>
    public void Invalidate() => _cache = null;

    /// <summary>Times for one staff member: rows of a school in that school's zone, other rows in their own.</summary>
    public async Task<SchoolTimes> ForAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        var zones = await ZonesAsync(cancellationToken);
        return new SchoolTimes(zones, DefaultZone(scope, zones));
    }

    private async Task<IReadOnlyDictionary<Guid, TimeZoneInfo>> ZonesAsync(CancellationToken cancellationToken)
    {
        if (_cache is { } cache && Environment.TickCount64 - cache.At < CacheFor.TotalMilliseconds)
        {
            return cache.Zones;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await db.Schools.AsNoTracking().Select(s => new { s.Id, s.TimeZone }).ToListAsync(cancellationToken);
        var zones = rows.ToDictionary(s => s.Id, s => Find(s.TimeZone));
        _cache = (zones, Environment.TickCount64);
        return zones;
    }

    // A staff member limited to a school reads in its zone; district staff in the district's zone when
    // every school shares one, else in UTC (and each school's rows in that school's zone).
    private static TimeZoneInfo DefaultZone(StaffScope scope, IReadOnlyDictionary<Guid, TimeZoneInfo> zones)
    {
        if (scope.SchoolId is { } school && zones.TryGetValue(school, out var own))
        {
            return own;
        }

        var distinct = zones.Values.DistinctBy(z => z.Id).ToList();
        return distinct.Count == 1 ? distinct[0] : TimeZoneInfo.Utc;
    }

    private static TimeZoneInfo Find(string id) => TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;
}

/// <summary>Formats instants in a school's time zone for the console.</summary>
public sealed class SchoolTimes(IReadOnlyDictionary<Guid, TimeZoneInfo> zones, TimeZoneInfo defaultZone)
{
    public static readonly SchoolTimes Utc = new(new Dictionary<Guid, TimeZoneInfo>(), TimeZoneInfo.Utc);

    public TimeZoneInfo ZoneOf(Guid? schoolId) => schoolId is { } id && zones.TryGetValue(id, out var zone) ? zone : defaultZone;

    /// <summary>"Dec 2, 08:15" in the school's zone; "UTC" is added when that zone is UTC, so no one mistakes it.</summary>
    public string Format(DateTime utc, Guid? schoolId = null, bool seconds = false)
    {
        var zone = ZoneOf(schoolId);
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone);
        var text = local.ToString(seconds ? "MMM d, yyyy HH:mm:ss" : "MMM d, HH:mm", CultureInfo.InvariantCulture);
        return IsUtc(zone) ? text + " UTC" : text;
    }

    public string Format(DateTimeOffset at, Guid? schoolId = null, bool seconds = false) => Format(at.UtcDateTime, schoolId, seconds);

    /// <summary>Only the time of day ("14:30") in the school's zone, for today's events.</summary>
    public string TimeOfDay(DateTimeOffset at, Guid? schoolId = null)
    {
        var zone = ZoneOf(schoolId);
        var text = TimeZoneInfo.ConvertTime(at, zone).ToString("HH:mm", CultureInfo.InvariantCulture);
        return IsUtc(zone) ? text + " UTC" : text;
    }

    private static bool IsUtc(TimeZoneInfo zone) => zone.BaseUtcOffset == TimeSpan.Zero && !zone.SupportsDaylightSavingTime;

    /// <summary>The zone's name for a column heading, e.g. "America/Chicago".</summary>
    public string ZoneName(Guid? schoolId = null) => ZoneOf(schoolId).Id;
}
