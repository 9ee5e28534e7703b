using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Locations;

public sealed record AlertDto(
    Guid Id, string Kind, Guid DeviceId, string DeviceName, DateTime RaisedAt, DateTime? ClearedAt, double? Latitude, double? Longitude,
    string? Details, string? AcknowledgedBy, DateTime? AcknowledgedAt);

public sealed record LocationDto(DateTime At, double Latitude, double Longitude, double AccuracyMeters);

public sealed record AlertDetailDto(AlertDto Alert, IReadOnlyList<LocationDto> Track);

/// <summary>Alerts (out of bounds), each with the device's recent track; the track of any device.</summary>
public static class AlertEndpoints
{
    public const int MaxTrackPoints = 1000;

    public static IEndpointRouteBuilder MapAlertEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/alerts").WithTags("Locations");
        group.MapGet("/", ListAsync).WithDescription("Alerts, newest first. state: open (not cleared), cleared or all; unacknowledged=true for those no one has acknowledged.");
        group.MapGet("/{id:guid}", GetAsync).WithDescription("One alert with the device's track from an hour before it until it cleared (or now).");
        group.MapPost("/{id:guid}/acknowledge", AcknowledgeAsync);
        app.MapGet("/api/devices/{id:guid}/locations", TrackAsync).WithTags("Locations").WithDescription("The device's reported locations in the last `hours` (default 24, at most 720), oldest first.");
        return app;
    }

    private static async Task<Results<Ok<PagedResult<AlertDto>>, ValidationProblem>> ListAsync(
        string? state, bool? unacknowledged, Guid? deviceId, [AsParameters] PageQuery paging, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var errors = paging.Validate() ?? [];
        if (state is not (null or "open" or "cleared" or "all"))
        {
            errors["state"] = ["One of open, cleared, all."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var query = db.Alerts.AsNoTracking();
        query = state switch
        {
            "cleared" => query.Where(a => a.ClearedAt != null),
            "all" => query,
            _ => query.Where(a => a.ClearedAt == null),
        };
        if (unacknowledged == true)
        {
            query = query.Where(a => a.AcknowledgedAt == null);
        }

        if (deviceId is { } device)
        {
            query = query.Where(a => a.DeviceId == device);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await Project(query.OrderByDescending(a => a.RaisedAt).Skip(paging.Skip).Take(paging.Take), db).ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<AlertDto>(items, total));
    }

    private static async Task<Results<Ok<AlertDetailDto>, NotFound>> GetAsync(Guid id, HomeroomDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var alert = await Project(db.Alerts.AsNoTracking().Where(a => a.Id == id), db).FirstOrDefaultAsync(cancellationToken);
        if (alert is null)
        {
            return TypedResults.NotFound();
        }

        var from = alert.RaisedAt.AddHours(-1);
        var to = alert.ClearedAt ?? time.GetUtcNow().UtcDateTime;
        return TypedResults.Ok(new AlertDetailDto(alert, await TrackQuery(db, alert.DeviceId, from, to).ToListAsync(cancellationToken)));
    }

    private static async Task<Results<Ok<AlertDto>, NotFound>> AcknowledgeAsync(Guid id, HttpContext context, HomeroomDbContext db, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var alert = await db.Alerts.FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (alert is null)
        {
            return TypedResults.NotFound();
        }

        if (alert.AcknowledgedAt is null)
        {
            alert.AcknowledgedAt = time.GetUtcNow().UtcDateTime;
            alert.AcknowledgedBy = StaffUser.From(context.User).Username;
            audit.Record(db, "alert.acknowledge", "alert", id.ToString(), alert.Details);
            await db.SaveChangesAsync(cancellationToken);
        }

        return TypedResults.Ok(await Project(db.Alerts.AsNoTracking().Where(a => a.Id == id), db).FirstAsync(cancellationToken));
    }

    private static async Task<Results<Ok<List<LocationDto>>, NotFound, ValidationProblem>> TrackAsync(
        Guid id, int? hours, HomeroomDbContext db, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        if (hours is < 1 or > 720)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["hours"] = ["Between 1 and 720."] });
        }

        if (!await db.Devices.AnyAsync(d => d.Id == id, cancellationToken))
        {
            return TypedResults.NotFound();
        }

        var now = time.GetUtcNow().UtcDateTime;
        var track = await TrackQuery(db, id, now.AddHours(-(hours ?? 24)), now).ToListAsync(cancellationToken);

        // Where a student has been is personal data: reading it is audited.
        audit.Record(db, "device.locations.read", "device", id.ToString(), $"{hours ?? 24} h, {track.Count} points");
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(track);
    }

    private static IQueryable<LocationDto> TrackQuery(HomeroomDbContext db, Guid deviceId, DateTime from, DateTime to) =>
        db.DeviceLocations.AsNoTracking()
            .Where(l => l.DeviceId == deviceId && l.At >= from && l.At <= to)
            .OrderByDescending(l => l.At)
            .Take(MaxTrackPoints)
            .OrderBy(l => l.At)
            .Select(l => new LocationDto(l.At, l.Latitude, l.Longitude, l.AccuracyMeters));

    private static IQueryable<AlertDto> Project(IQueryable<Alert> alerts, HomeroomDbContext db) =>
        from a in alerts
        join d in db.Devices on a.DeviceId equals d.Id
        select new AlertDto(a.Id, a.Kind, a.DeviceId, d.Name, a.RaisedAt, a.ClearedAt, a.Latitude, a.Longitude, a.Details, a.AcknowledgedBy, a.AcknowledgedAt);
}
