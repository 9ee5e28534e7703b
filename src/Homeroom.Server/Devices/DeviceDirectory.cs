using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Devices;

/// <summary>What a device list is filtered and sorted by (<see cref="DeviceQueries.SortKeys"/>; '-' for descending).</summary>
public sealed record DeviceFilter(
    DevicePlatform? Platform = null,
    DeviceState? State = null,
    Guid? SchoolId = null,
    Guid? GroupId = null,
    Guid? AssignedPersonId = null,
    bool? Online = null,
    string? Search = null,
    string Sort = "name",
    bool IncludeRevoked = true);

/// <summary>How many devices a scope has, online, by platform and by state (revoked devices left out).</summary>
public sealed record FleetSummaryDto(int Total, int Online, IReadOnlyList<(string Name, int Count)> ByPlatform, IReadOnlyList<(string Name, int Count)> ByState);

/// <summary>A person a device can be assigned to.</summary>
public sealed record AssigneeDto(Guid Id, string Name, PersonKind Kind, int? GradeLevel, Guid? SchoolId);

/// <summary>One command as one device received it.</summary>
public sealed record DeviceCommandDto(
    Guid CommandId, string Kind, string IssuedBy, DateTime IssuedAt, DeliveryStatus Status, DateTime UpdatedAt, string? Error, string? Result);

/// <summary>
/// Reading devices, for the API and the console alike: the list (filters, search, sort, paging),
/// one device's detail, its apps and its command history. Everything goes through the caller's
/// scope; a device outside it does not exist for them. Locations show only to staff who may read them.
/// </summary>
public sealed class DeviceDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, PresenceTracker presence, DeviceLiveState liveState)
{
    public const int MaxSearchLength = 100;

    public async Task<PagedResult<DeviceSummaryDto>> ListAsync(StaffScope scope, DeviceFilter filter, PageQuery paging, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var devices = scope.Devices(db);
        if (!filter.IncludeRevoked)
        {
            devices = devices.Where(d => d.RevokedAt == null);
        }

        if (filter.Platform is { } platform)
        {
            devices = devices.Where(d => d.Platform == platform);
        }

        if (filter.State is { } state)
        {
            devices = devices.Where(d => d.State == state);
        }

        if (filter.SchoolId is { } schoolId)
        {
            devices = devices.Where(d => d.SchoolId == schoolId);
        }

        if (filter.AssignedPersonId is { } personId)
        {
            devices = devices.Where(d => d.AssignedPersonId == personId);
        }

        if (filter.GroupId is { } groupId)
        {
            devices = devices.InGroup(db, groupId);
        }

        if (filter.Online is { } online)
        {
            devices = devices.Online(presence, online);
        }

        if (filter.Search?.Trim() is { Length: > 0 } search)
        {
            devices = devices.Matching(db, search.Length > MaxSearchLength ? search[..MaxSearchLength] : search);
        }

        var total = await devices.CountAsync(cancellationToken);
        var page = await devices.SortedBy(filter.Sort).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        // Names for the page only: two small look-ups, not a join per row of the whole list.
        var personIds = page.Where(d => d.AssignedPersonId != null).Select(d => d.AssignedPersonId!.Value).Distinct().ToList();
        var schoolIds = page.Where(d => d.SchoolId != null).Select(d => d.SchoolId!.Value).Distinct().ToList();
        var people = personIds.Count == 0 ? [] : await db.People.AsNoTracking().Where(p => personIds.Contains(p.Id))
            .Select(p => new { p.Id, Name = p.GivenName + " " + p.FamilyName }).ToDictionaryAsync(p => p.Id, p => p.Name, cancellationToken);
        var schools = schoolIds.Count == 0 ? [] : await db.Schools.AsNoTracking().Where(s => schoolIds.Contains(s.Id))
            .ToDictionaryAsync(s => s.Id, s => s.Name, cancellationToken);
        var items = page.Select(d => new DeviceSummaryDto(
            d.Id, d.Name, d.Platform, d.Serial, d.Model, d.AssetTag, d.OsVersion, d.State, d.SchoolId, d.AssignedPersonId,
            presence.IsOnline(d.Id), LastSeen(d), d.EnrolledAt, d.RevokedAt is not null,
            d.AssignedPersonId is { } pid ? people.GetValueOrDefault(pid) : null,
            d.SchoolId is { } sid ? schools.GetValueOrDefault(sid) : null)).ToList();
        return new PagedResult<DeviceSummaryDto>(items, total);
    }

    /// <summary>The scope's devices counted, for the console's overview.</summary>
    public async Task<FleetSummaryDto> SummaryAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var devices = scope.Devices(db).Where(d => d.RevokedAt == null);
        var byPlatform = (await devices.GroupBy(d => d.Platform).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(cancellationToken))
            .OrderByDescending(g => g.Count).Select(g => (g.Key.ToString(), g.Count)).ToList();
        var byState = (await devices.GroupBy(d => d.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(cancellationToken))
            .OrderByDescending(g => g.Count).Select(g => (g.Key.ToString(), g.Count)).ToList();
        var online = await devices.Online(presence).CountAsync(cancellationToken);
        return new FleetSummaryDto(byPlatform.Sum(p => p.Count), online, byPlatform, byState);
    }

    /// <summary>One device in the scope, or null.</summary>
    public async Task<DeviceDetailDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var d = await scope.Devices(db).FirstOrDefaultAsync(x => x.Id == id, cancellationToken);
        if (d is null)
        {
            return null;
        }

        var appCount = await db.DeviceApps.CountAsync(a => a.DeviceId == id, cancellationToken);
        var assignee = d.AssignedPersonId is { } personId
            ? await scope.People(db).Where(p => p.Id == personId).Select(p => p.GivenName + " " + p.FamilyName).FirstOrDefaultAsync(cancellationToken)
            : null;
        DeviceSignInDto? signedIn = null;
        if (d.SignedInEmail is not null || d.SignedInUserId is not null || d.SignedInAt is not null)
        {
            var student = d.SignedInPersonId is { } signedInId
                ? await scope.People(db).Where(p => p.Id == signedInId).Select(p => p.GivenName + " " + p.FamilyName).FirstOrDefaultAsync(cancellationToken)
                : null;
            signedIn = new DeviceSignInDto(d.SignedInEmail, d.SignedInUserId, d.SignedInAt, student is null ? null : d.SignedInPersonId, student);
        }

        var live = presence.Get(id);
        var battery = live?.Battery;
        var network = live?.Network;
        DeviceLocationDto? location = null;
        if (scope.Can(Permission.ReadLocations))
        {
            location = live?.Location is { } fix
                ? new DeviceLocationDto(fix.Latitude, fix.Longitude, fix.AccuracyMeters, fix.CapturedAt.UtcDateTime)
                : d.Latitude is { } lat && d.Longitude is { } lon ? new DeviceLocationDto(lat, lon, d.LocationAccuracy, d.LocationAt) : null;
        }

        var companions = (await db.Devices.AsNoTracking().Where(c => c.CompanionOf == id)
                .OrderBy(c => c.RevokedAt != null).ThenBy(c => c.EnrolledAt).ToListAsync(cancellationToken))
            .Select(c => new DeviceCompanionDto(
                c.Id, c.Name, c.OsVersion, c.SignedInEmail, c.AgentVersion, c.RevokedAt is null && presence.IsOnline(c.Id), LastSeen(c), c.EnrolledAt, c.RevokedAt))
            .ToList();
        return new DeviceDetailDto(
            d.Id, d.Name, d.Platform, d.Serial, d.Model, d.Manufacturer, d.AssetTag, d.OsName, d.OsVersion, d.AgentVersion, d.State,
            d.SchoolId, d.AssignedPersonId, presence.IsOnline(id), LastSeen(d), d.EnrolledAt, d.RevokedAt, d.ReenrollmentApprovedUntil,
            battery?.Level ?? d.BatteryLevel, battery?.Charging ?? d.BatteryCharging, network?.Kind ?? d.NetworkKind, network?.IpAddress ?? d.IpAddress,
            location, d.StorageTotalBytes, d.StorageFreeBytes, d.InventoryAt, appCount, live?.PolicyVersionApplied ?? d.PolicyVersionApplied, assignee,
            d.Shared, signedIn, companions, liveState.Capabilities(id, d.CapabilitiesJson));
    }

    /// <summary>A device's installed apps by name; null when the device is not in the scope.</summary>
    public async Task<PagedResult<DeviceAppDto>?> ListAppsAsync(StaffScope scope, Guid id, PageQuery paging, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == id, cancellationToken))
        {
            return null;
        }

        var apps = db.DeviceApps.AsNoTracking().Where(a => a.DeviceId == id);
        var total = await apps.CountAsync(cancellationToken);
        var items = await apps.OrderBy(a => a.Name).ThenBy(a => a.AppId).Skip(paging.Skip).Take(paging.Take)
            .Select(a => new DeviceAppDto(a.AppId, a.Name, a.Version, a.Source)).ToListAsync(cancellationToken);
        return new PagedResult<DeviceAppDto>(items, total);
    }

    /// <summary>The commands a device received, newest first; null when the device is not in the scope.</summary>
    public async Task<PagedResult<DeviceCommandDto>?> ListCommandsAsync(StaffScope scope, Guid id, PageQuery paging, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == id, cancellationToken))
        {
            return null;
        }

        var deliveries =
            from x in db.CommandDeliveries.AsNoTracking()
            join c in db.Commands on x.CommandId equals c.Id
            where x.DeviceId == id
            select new { x, c.Kind, c.IssuedBy, c.IssuedAt };
        var total = await deliveries.CountAsync(cancellationToken);
        var rows = await deliveries.OrderByDescending(r => r.IssuedAt).ThenByDescending(r => r.x.CommandId).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return new PagedResult<DeviceCommandDto>(
            rows.Select(r => new DeviceCommandDto(r.x.CommandId, r.Kind, r.IssuedBy, r.IssuedAt, r.x.Status, r.x.UpdatedAt, r.x.Error, CommandRedaction.Result(scope, r.Kind, r.x.Result))).ToList(),
            total);
    }

    /// <summary>People of the scope whose name contains the text, ignoring case: the console's search-as-you-type assignee picker.</summary>
    public async Task<IReadOnlyList<AssigneeDto>> FindAssigneesAsync(StaffScope scope, string text, int take = 8, CancellationToken cancellationToken = default)
    {
        var q = text.Trim().ToLowerInvariant();
        if (q.Length == 0)
        {
            return [];
        }

        q = q.Length > MaxSearchLength ? q[..MaxSearchLength] : q;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.People(db)
            .Where(p => (p.GivenName + " " + p.FamilyName).ToLower().Contains(q) || (p.Email != null && p.Email.ToLower().Contains(q)))
            .OrderBy(p => p.FamilyName).ThenBy(p => p.GivenName).ThenBy(p => p.Id).Take(Math.Clamp(take, 1, 50))
            .Select(p => new AssigneeDto(p.Id, p.GivenName + " " + p.FamilyName, p.Kind, p.GradeLevel, p.SchoolId))
            .ToListAsync(cancellationToken);
    }

    private DateTime? LastSeen(Device device) =>
        presence.Get(device.Id) is { } live && (device.LastSeenAt is null || live.LastSeenAt > device.LastSeenAt) ? live.LastSeenAt : device.LastSeenAt;
}
