using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Locations;

/// <summary>An alert. <c>TimeZone</c> is the device's school's (or the district's) IANA time zone, for showing times as staff there read them.</summary>
public sealed record AlertDto(
    Guid Id, string Kind, Guid DeviceId, string DeviceName, DateTime RaisedAt, DateTime? ClearedAt, double? Latitude, double? Longitude,
    string? Details, string? AcknowledgedBy, DateTime? AcknowledgedAt,
    string? AcknowledgementNote = null, Guid? StudentId = null, string? StudentName = null, string? TimeZone = null);

/// <summary>What staff write when they acknowledge an alert.</summary>
public sealed record AcknowledgeAlertRequest(string? Note);

public sealed record LocationDto(DateTime At, double Latitude, double Longitude, double AccuracyMeters);

public sealed record AlertDetailDto(AlertDto Alert, IReadOnlyList<LocationDto> Track);

/// <summary>Which alerts: open (not cleared, the default), cleared or all; unacknowledged only; one device.</summary>
public sealed record AlertFilter(string? State = null, bool? Unacknowledged = null, Guid? DeviceId = null);

/// <summary>
/// Alerts about the devices of the reader's scope, and devices' location tracks, for the API and the
/// console. Where a device was (an alert's position, its track) shows only to staff who may read
/// locations, and reading a track is itself audited.
/// </summary>
public sealed class AlertDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, TimeProvider time, Notifier notifier)
{
    public const int MaxTrackPoints = 1000;
    public const int MaxTrackHours = 720;
    public const int MaxNoteLength = 1000;

    public async Task<PagedResult<AlertDto>> ListAsync(StaffScope scope, AlertFilter filter, PageQuery paging, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadAlerts);
        if (filter.State is not (null or "open" or "cleared" or "all"))
        {
            throw new RequestValidationException(new() { ["state"] = ["One of open, cleared, all."] });
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = filter.State switch
        {
            "cleared" => scope.Alerts(db).Where(a => a.ClearedAt != null),
            "all" => scope.Alerts(db),
            _ => scope.Alerts(db).Where(a => a.ClearedAt == null),
        };
        if (filter.Unacknowledged == true)
        {
            query = query.Where(a => a.AcknowledgedAt == null);
        }

        if (filter.DeviceId is { } device)
        {
            query = query.Where(a => a.DeviceId == device);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await Project(query.OrderByDescending(a => a.RaisedAt).ThenBy(a => a.Id).Skip(paging.Skip).Take(paging.Take), db).ToListAsync(cancellationToken);
        return new PagedResult<AlertDto>(items.Select(a => Redact(scope, a)).ToList(), total);
    }

    /// <summary>One alert with the device's track from an hour before it until it cleared (or now); null when not in the scope.</summary>
    public async Task<AlertDetailDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadAlerts);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var alert = await Project(scope.Alerts(db).Where(a => a.Id == id), db).FirstOrDefaultAsync(cancellationToken);
        if (alert is null)
        {
            return null;
        }

        alert = Redact(scope, alert);
        if (!scope.Can(Permission.ReadLocations))
        {
            return new AlertDetailDto(alert, []);
        }

        var from = alert.RaisedAt.AddHours(-1);
        var to = alert.ClearedAt ?? time.GetUtcNow().UtcDateTime;
        var track = await TrackQuery(db, alert.DeviceId, from, to).ToListAsync(cancellationToken);
        audit.Record(db, "alert.track.read", "alert", id.ToString(), $"{track.Count} points of device {alert.DeviceId}", await SchoolOfDeviceAsync(db, alert.DeviceId, cancellationToken));
        await db.SaveChangesAsync(cancellationToken);
        return new AlertDetailDto(alert, track);
    }

    /// <summary>
    /// Acknowledges an alert of the scope with an optional note (what was done about it; once: a second
    /// acknowledgement changes nothing; audited); null when not in the scope.
    /// </summary>
    public async Task<AlertDto?> AcknowledgeAsync(StaffScope scope, Guid id, string? note = null, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageAlerts);
        var validation = new Validation();
        validation.Optional("note", note, MaxNoteLength);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        note = string.IsNullOrWhiteSpace(note) ? null : note.Trim();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Alerts(db).AnyAsync(a => a.Id == id, cancellationToken))
        {
            return null;
        }

        var alert = await db.Alerts.FirstAsync(a => a.Id == id, cancellationToken);
        if (alert.AcknowledgedAt is null)
        {
            alert.AcknowledgedAt = time.GetUtcNow().UtcDateTime;
            alert.AcknowledgedBy = scope.Username;
            alert.AcknowledgementNote = note;
            var school = await SchoolOfDeviceAsync(db, alert.DeviceId, cancellationToken);
            audit.Record(db, "alert.acknowledge", "alert", id.ToString(), note is null ? alert.Details : $"{alert.Details} Note: {note}", school);
            await db.SaveChangesAsync(cancellationToken);

            // Acknowledged in one place, gone from every open console page.
            notifier.Resolve(AlertNotifications.Of(alert, school, string.Empty));
        }

        return Redact(scope, await Project(db.Alerts.AsNoTracking().Where(a => a.Id == id), db).FirstAsync(cancellationToken));
    }

    /// <summary>A device's reported locations in the last hours, oldest first (audited); null when the device is not in the scope.</summary>
    public async Task<List<LocationDto>?> TrackAsync(StaffScope scope, Guid deviceId, int hours, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadLocations);
        if (hours is < 1 or > MaxTrackHours)
        {
            throw new RequestValidationException(new() { ["hours"] = [$"Between 1 and {MaxTrackHours}."] });
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await scope.Devices(db).Where(d => d.Id == deviceId).Select(d => new { d.SchoolId }).FirstOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return null;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var track = await TrackQuery(db, deviceId, now.AddHours(-hours), now).ToListAsync(cancellationToken);

        // Where a student has been is personal data: reading it is audited.
        audit.Record(db, "device.locations.read", "device", deviceId.ToString(), $"{hours} h, {track.Count} points", device.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return track;
    }

    private static AlertDto Redact(StaffScope scope, AlertDto alert)
    {
        if (!scope.Can(Permission.ReadLocations))
        {
            alert = alert with { Latitude = null, Longitude = null };
        }

        return scope.Can(Permission.ReadRoster) ? alert : alert with { StudentId = null, StudentName = null };
    }

    private static Task<Guid?> SchoolOfDeviceAsync(HomeroomDbContext db, Guid deviceId, CancellationToken cancellationToken) =>
        db.Devices.Where(d => d.Id == deviceId).Select(d => d.SchoolId).FirstOrDefaultAsync(cancellationToken);

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
        join p in db.People on d.AssignedPersonId equals p.Id into people
        from p in people.DefaultIfEmpty()
        join s in db.Schools on d.SchoolId equals s.Id into schools
        from s in schools.DefaultIfEmpty()
        select new AlertDto(
            a.Id, a.Kind, a.DeviceId, d.Name, a.RaisedAt, a.ClearedAt, a.Latitude, a.Longitude, a.Details, a.AcknowledgedBy, a.AcknowledgedAt,
            a.AcknowledgementNote,
            d.AssignedPersonId,
            p == null ? null : p.GivenName + " " + p.FamilyName,
            s == null ? db.Districts.OrderBy(x => x.Id).Select(x => x.TimeZone).FirstOrDefault() ?? "UTC" : s.TimeZone);
}
