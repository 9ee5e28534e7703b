using System.Text.Json;
using Homeroom.Rules.Filtering;
using Homeroom.Rules.Policies;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Filtering;
using Homeroom.Server.Hosting;
using Homeroom.Server.Locations;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Policies;

public sealed record SettingSourceDto(Guid ProfileId, string ProfileName, Guid AssignmentId, ScopeLevel Level, string? ScopeId, bool Conditional)
{
    public static SettingSourceDto From(SettingSource s) => new(s.ProfileId, s.ProfileName, s.AssignmentId, s.Level, s.ScopeKey, s.Conditional);
}

public sealed record EffectiveSettingDto(string Key, JsonElement Value, SettingSourceDto? Source, IReadOnlyList<SettingSourceDto> Overridden);

/// <summary>A device's policy now: every setting with the profile and assignment it came from, and the document the device receives (with its catalog part).</summary>
public sealed record DevicePolicyDto(
    Guid DeviceId, long Version, long AppliedVersion, bool? Applied, string? Failures, bool Compliant, DateTimeOffset? ValidUntil,
    IReadOnlyList<Guid> InsideZones, bool? OutOfBounds, IReadOnlyList<EffectiveSettingDto> Settings, JsonElement Document);

/// <summary>Would this URL be blocked for this device now, and why.</summary>
public sealed record FilterCheckDto(
    Guid DeviceId, string Url, string? Host, bool Blocked, FilterReason Reason, string? Rule, string? Category, string? MatchedHost, string? Error,
    SettingSourceDto? RuleFrom, IReadOnlyList<string> UnknownCategories);

/// <summary>Why a device's applied policy lags the one it was given.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ComplianceReason>))]
public enum ComplianceReason
{
    /// <summary>The device reported it could not apply the policy (see the failures).</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("rejected")] Rejected,

    /// <summary>The device is offline; it gets the policy when it connects (see when it was last seen).</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("offline")] Offline,

    /// <summary>The device is online and has not reported the new version yet.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("pending")] Pending,
}

/// <summary>A device whose applied policy version lags the resolved one, and why.</summary>
public sealed record ComplianceDto(
    Guid DeviceId, string DeviceName, bool Online, long Version, long ReportedVersion, bool? Applied, string? Failures, DateTime? ReportedAt,
    ComplianceReason Reason = ComplianceReason.Pending, DateTime? LastSeenAt = null, Guid? SchoolId = null);

/// <summary>
/// Effective policies and their explanation, URL decisions and compliance, for devices of the
/// reader's scope (API and console). Which zones a device is in is a location: it shows only to
/// staff who may read locations.
/// </summary>
public sealed class PolicyQueries(
    IDbContextFactory<HomeroomDbContext> dbFactory, ZoneMembership zones, LocationTracker tracker, FilterListStore lists, Devices.PresenceTracker presence, TimeProvider time)
{
    /// <summary>The device's effective policy; null when the device is not in the scope.</summary>
    public async Task<DevicePolicyDto?> DevicePolicyAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == id, cancellationToken)
            || await EffectivePolicies.ResolveAsync(db, id, zones, time, cancellationToken) is not { } resolved)
        {
            return null;
        }

        var stored = await db.DevicePolicies.AsNoTracking().FirstOrDefaultAsync(p => p.DeviceId == id, cancellationToken);
        var applied = await db.Devices.Where(d => d.Id == id).Select(d => d.PolicyVersionApplied).FirstAsync(cancellationToken);
        var version = stored?.Version ?? 0;
        var appliedVersion = Math.Max(applied, stored?.ReportedApplied == true ? stored.ReportedVersion : 0);
        var settings = resolved.Policy.Settings.Values
            .OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => new EffectiveSettingDto(s.Key, JsonSerializer.SerializeToElement(s.Value), s.Source is null ? null : SettingSourceDto.From(s.Source), s.Overridden.Select(SettingSourceDto.From).ToList()))
            .ToList();
        var locations = scope.Can(Permission.ReadLocations);
        return new DevicePolicyDto(
            id, version, appliedVersion, stored?.ReportedApplied, stored?.ReportedFailures,
            Compliant: version > 0 && appliedVersion >= version && stored?.ReportedApplied != false,
            resolved.Policy.ValidUntil, locations ? resolved.Scope.InsideZones.ToList() : [], locations ? tracker.IsOutOfBounds(id) : null, settings,
            JsonSerializer.SerializeToElement(await EffectivePolicies.DocumentAsync(db, id, resolved, zones, lists, cancellationToken)));
    }

    /// <summary>Would <paramref name="url"/> be blocked on the device now, and why; null when the device is not in the scope.</summary>
    public async Task<FilterCheckDto?> CheckUrlAsync(StaffScope scope, Guid id, string url, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        if (string.IsNullOrWhiteSpace(url) || url.Length > FilterUrl.MaxLength)
        {
            throw new RequestValidationException(new() { ["url"] = [$"A URL or host of at most {FilterUrl.MaxLength} characters."] });
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == id, cancellationToken)
            || await EffectivePolicies.ResolveAsync(db, id, zones, time, cancellationToken) is not { } resolved)
        {
            return null;
        }

        var filter = lists.FilterFor(PolicySettings.ToWebFilter(resolved.Policy.Values));
        var answer = filter.Explain(url);
        var key = answer.Reason switch
        {
            FilterReason.AllowedSite => "webFilter.allowedSites",
            FilterReason.BlockedSite => "webFilter.blockedSites",
            FilterReason.AllowedCategory => "webFilter.allowedCategories",
            FilterReason.BlockedCategory => "webFilter.blockedCategories",
            FilterReason.NotAllowed => "webFilter.allowOnly",
            _ => null,
        };
        var source = key is null ? null : resolved.Policy.Settings[key].Source;
        return new FilterCheckDto(
            id, url, answer.Host, answer.Blocked, answer.Reason, answer.Rule, answer.Category, answer.MatchedHost, answer.Error,
            source is null ? null : SettingSourceDto.From(source), filter.UnknownCategories);
    }

    /// <summary>Devices of the scope that have not applied their current policy version, or reported failures.</summary>
    public async Task<PagedResult<ComplianceDto>> ComplianceAsync(StaffScope scope, PageQuery paging, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query =
            from p in db.DevicePolicies.AsNoTracking()
            join d in scope.Devices(db) on p.DeviceId equals d.Id
            where d.RevokedAt == null && (p.ReportedApplied == false || (p.ReportedVersion < p.Version && d.PolicyVersionApplied < p.Version))
            orderby d.Name, d.Id
            select new { p.DeviceId, d.Name, p.Version, Reported = p.ReportedVersion > d.PolicyVersionApplied ? p.ReportedVersion : d.PolicyVersionApplied, p.ReportedApplied, p.ReportedFailures, p.ReportedAt, d.LastSeenAt, d.SchoolId };
        var total = await query.CountAsync(cancellationToken);
        var rows = await query.Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return new PagedResult<ComplianceDto>(
            rows.Select(r =>
            {
                var online = presence.IsOnline(r.DeviceId);
                var lastSeen = presence.Get(r.DeviceId) is { } live && (r.LastSeenAt is null || live.LastSeenAt > r.LastSeenAt) ? live.LastSeenAt : r.LastSeenAt;
                var reason = r.ReportedApplied == false ? ComplianceReason.Rejected : online ? ComplianceReason.Pending : ComplianceReason.Offline;
                return new ComplianceDto(r.DeviceId, r.Name, online, r.Version, r.Reported, r.ReportedApplied, r.ReportedFailures, r.ReportedAt, reason, lastSeen, r.SchoolId);
            }).ToList(),
            total);
    }
}
