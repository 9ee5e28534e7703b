using System.Security.Claims;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Devices;

public static class DeviceEndpoints
{
    private const int MaxSearchLength = 100;

    public static IEndpointRouteBuilder MapDeviceEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/devices").WithTags("Devices");
        group.MapGet("/", ListAsync);
        group.MapGet("/{id:guid}", GetAsync);
        group.MapGet("/{id:guid}/apps", ListAppsAsync);
        group.MapGet("/{id:guid}/commands", ListCommandsAsync);
        group.MapPatch("/{id:guid}", UpdateAsync);
        group.MapPost("/{id:guid}/revoke", RevokeAsync);
        group.MapPost("/{id:guid}/approve-reenrollment", ApproveReenrollmentAsync);
        return app;
    }

    public sealed record DeviceQuery(
        int? Page,
        int? PageSize,
        string? Platform,
        string? State,
        Guid? SchoolId,
        Guid? GroupId,
        Guid? AssignedPersonId,
        bool? Online,
        string? Q,
        string? Sort);

    private static async Task<Results<Ok<PagedResult<DeviceSummaryDto>>, ValidationProblem>> ListAsync(
        [AsParameters] DeviceQuery query, ClaimsPrincipal user, HomeroomDbContext db, ConnectionRegistry registry, PresenceTracker presence, CancellationToken cancellationToken)
    {
        var paging = new PageQuery(query.Page, query.PageSize);
        var errors = paging.Validate() ?? [];
        if (query.Q is { Length: > MaxSearchLength })
        {
            errors["q"] = [$"At most {MaxSearchLength} characters."];
        }

        var sort = query.Sort ?? "name";
        if (!DeviceQueries.SortKeys.ContainsKey(sort.TrimStart('-')))
        {
            errors["sort"] = [$"Sort by one of {string.Join(", ", DeviceQueries.SortKeys.Keys)}; prefix with '-' for descending."];
        }

        QueryEnum.TryParse<DevicePlatform>(query.Platform, "platform", errors, out var platformFilter);
        QueryEnum.TryParse<DeviceState>(query.State, "state", errors, out var stateFilter);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var devices = StaffScope.Of(user).Devices(db);
        if (platformFilter is { } platform)
        {
            devices = devices.Where(d => d.Platform == platform);
        }

        if (stateFilter is { } state)
        {
            devices = devices.Where(d => d.State == state);
        }

        if (query.SchoolId is { } schoolId)
        {
            devices = devices.Where(d => d.SchoolId == schoolId);
        }

        if (query.AssignedPersonId is { } personId)
        {
            devices = devices.Where(d => d.AssignedPersonId == personId);
        }

        if (query.GroupId is { } groupId)
        {
            devices = devices.InGroup(db, groupId);
        }

        if (query.Online is { } online)
        {
            devices = devices.Online(registry, online);
        }

        if (!string.IsNullOrWhiteSpace(query.Q))
        {
            devices = devices.Matching(query.Q.Trim());
        }

        var total = await devices.CountAsync(cancellationToken);
        var page = await devices.SortedBy(sort).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        var items = page.Select(d => new DeviceSummaryDto(
            d.Id, d.Name, d.Platform, d.Serial, d.Model, d.AssetTag, d.OsVersion, d.State, d.SchoolId, d.AssignedPersonId,
            registry.IsOnline(d.Id), LastSeen(d, presence), d.EnrolledAt, d.RevokedAt is not null)).ToList();
        return TypedResults.Ok(new PagedResult<DeviceSummaryDto>(items, total));
    }

    private static DateTime? LastSeen(Device device, PresenceTracker presence) =>
        presence.Get(device.Id) is { } live && (device.LastSeenAt is null || live.LastSeenAt > device.LastSeenAt) ? live.LastSeenAt : device.LastSeenAt;

    private static async Task<Results<Ok<DeviceDetailDto>, NotFound>> GetAsync(
        Guid id, ClaimsPrincipal user, HomeroomDbContext db, ConnectionRegistry registry, PresenceTracker presence, CancellationToken cancellationToken)
    {
        var d = await StaffScope.Of(user).Devices(db).FirstOrDefaultAsync(x => x.Id == id, cancellationToken);
        if (d is null)
        {
            return TypedResults.NotFound();
        }

        var appCount = await db.DeviceApps.CountAsync(a => a.DeviceId == id, cancellationToken);
        var live = presence.Get(id);
        var battery = live?.Battery;
        var network = live?.Network;
        var location = live?.Location is { } fix
            ? new DeviceLocationDto(fix.Latitude, fix.Longitude, fix.AccuracyMeters, fix.CapturedAt.UtcDateTime)
            : d.Latitude is { } lat && d.Longitude is { } lon ? new DeviceLocationDto(lat, lon, d.LocationAccuracy, d.LocationAt) : null;
        return TypedResults.Ok(new DeviceDetailDto(
            d.Id, d.Name, d.Platform, d.Serial, d.Model, d.Manufacturer, d.AssetTag, d.OsName, d.OsVersion, d.AgentVersion, d.State,
            d.SchoolId, d.AssignedPersonId, registry.IsOnline(id), LastSeen(d, presence), d.EnrolledAt, d.RevokedAt, d.ReenrollmentApprovedUntil,
            battery?.Level ?? d.BatteryLevel, battery?.Charging ?? d.BatteryCharging, network?.Kind ?? d.NetworkKind, network?.IpAddress ?? d.IpAddress,
            location, d.StorageTotalBytes, d.StorageFreeBytes, d.InventoryAt, appCount, live?.PolicyVersionApplied ?? d.PolicyVersionApplied));
    }

    private static async Task<Results<Ok<PagedResult<DeviceAppDto>>, NotFound, ValidationProblem>> ListAppsAsync(
        Guid id, ClaimsPrincipal user, HomeroomDbContext db, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (!await StaffScope.Of(user).Devices(db).AnyAsync(d => d.Id == id, cancellationToken))
        {
            return TypedResults.NotFound();
        }

        var apps = db.DeviceApps.AsNoTracking().Where(a => a.DeviceId == id);
        var total = await apps.CountAsync(cancellationToken);
        var items = await apps.OrderBy(a => a.Name).ThenBy(a => a.AppId).Skip(paging.Skip).Take(paging.Take)
            .Select(a => new DeviceAppDto(a.AppId, a.Name, a.Version)).ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<DeviceAppDto>(items, total));
    }

    private static async Task<Results<Ok<PagedResult<DeliveryDto>>, NotFound, ValidationProblem>> ListCommandsAsync(
        Guid id, ClaimsPrincipal user, HomeroomDbContext db, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var device = await StaffScope.Of(user).Devices(db).Where(d => d.Id == id).Select(d => new { d.Name }).FirstOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return TypedResults.NotFound();
        }

        var deliveries = db.CommandDeliveries.AsNoTracking().Where(d => d.DeviceId == id);
        var total = await deliveries.CountAsync(cancellationToken);
        var items = await deliveries.OrderByDescending(d => d.CommandId).Skip(paging.Skip).Take(paging.Take)
            .Select(d => new DeliveryDto(d.CommandId, d.DeviceId, device.Name, d.Status, d.UpdatedAt, d.Error, d.Result))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<DeliveryDto>(items, total));
    }

    private static async Task<Results<Ok<DeviceDetailDto>, NotFound, ValidationProblem>> UpdateAsync(
        Guid id, UpdateDeviceRequest request, ClaimsPrincipal user, HomeroomDbContext db, Audit.AuditTrail audit, ConnectionRegistry registry, PresenceTracker presence, CancellationToken cancellationToken)
    {
        var validation = new Validation()
            .Optional("name", request.Name, 200)
            .Optional("assetTag", request.AssetTag, 100)
            .Check(request.Name is null || request.Name.Trim().Length > 0, "name", "Must not be empty.")
            .Check(!(request.Unassign == true && request.AssignedPersonId is not null), "assignedPersonId", "Give assignedPersonId or unassign, not both.");
        if (request.AssignedPersonId is { } personId && !await db.People.AnyAsync(p => p.Id == personId, cancellationToken))
        {
            validation.Add("assignedPersonId", "No such person.");
        }

        if (request.SchoolId is { } schoolId && !await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }

        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var device = await StaffScope.Of(user).Devices(db).AsTracking().FirstOrDefaultAsync(d => d.Id == id, cancellationToken);
        if (device is null)
        {
            return TypedResults.NotFound();
        }

        var changes = new List<string>();
        if (request.Name is not null && request.Name.Trim() != device.Name)
        {
            device.Name = request.Name.Trim();
            changes.Add($"name={device.Name}");
        }

        if (request.AssetTag is not null && request.AssetTag != device.AssetTag)
        {
            device.AssetTag = request.AssetTag.Length == 0 ? null : request.AssetTag;
            changes.Add($"assetTag={device.AssetTag}");
        }

        if (request.State is { } state && state != device.State)
        {
            changes.Add($"state={device.State}->{state}");
            device.State = state;
        }

        if (request.AssignedPersonId is { } assignee && assignee != device.AssignedPersonId)
        {
            device.AssignedPersonId = assignee;
            changes.Add($"assignedPersonId={assignee}");
        }
        else if (request.Unassign == true && device.AssignedPersonId is not null)
        {
            device.AssignedPersonId = null;
            changes.Add("unassigned");
        }

        if (request.SchoolId is { } school && school != device.SchoolId)
        {
            device.SchoolId = school;
            changes.Add($"schoolId={school}");
        }

        if (changes.Count > 0)
        {
            audit.Record(db, "device.update", "device", id.ToString(), string.Join("; ", changes));
            await db.SaveChangesAsync(cancellationToken);
        }

        return (await GetAsync(id, user, db, registry, presence, cancellationToken)).Result switch
        {
            Ok<DeviceDetailDto> ok => ok,
            _ => TypedResults.NotFound(),
        };
    }

    private static async Task<Results<NoContent, NotFound>> RevokeAsync(Guid id, ClaimsPrincipal user, HomeroomDbContext db, RevokeDevice revoke, CancellationToken cancellationToken) =>
        await StaffScope.Of(user).Devices(db).AnyAsync(d => d.Id == id, cancellationToken) && await revoke.ExecuteAsync(id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<Ok<ReenrollmentApprovalDto>, NotFound>> ApproveReenrollmentAsync(
        Guid id, ClaimsPrincipal user, HomeroomDbContext db, ApproveReenrollment approve, CancellationToken cancellationToken) =>
        await StaffScope.Of(user).Devices(db).AnyAsync(d => d.Id == id, cancellationToken) && await approve.ExecuteAsync(id, cancellationToken) is { } approval
            ? TypedResults.Ok(approval)
            : TypedResults.NotFound();
}
