using System.Globalization;
using System.Text.Json;
using Homeroom.Rules.Classroom;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Classroom;

public sealed record ClassMeetingDto(IReadOnlyList<string>? Days, string? Start, string? End);

public sealed record ClassScheduleDto(string? TermStart, string? TermEnd, IReadOnlyList<ClassMeetingDto>? Meetings);

public sealed record SessionStateDto(bool InSession, DateTimeOffset? Until, string Reason);

/// <summary>An ad-hoc session as school administrators review them.</summary>
public sealed record ClassSessionDto(Guid Id, DateTime StartsAt, DateTime EndsAt, string StartedBy);

/// <summary>
/// Class schedules (weekly meetings within a term) and whether a class is in session now, the
/// condition for everything a teacher does to students' devices. Read by staff of the class's scope
/// (its teachers, its school's staff); written by those who manage the roster.
/// </summary>
public sealed class ClassSchedules(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, TimeProvider time)
{
    /// <summary>A class's schedule; null when the class is not in the scope or has none.</summary>
    public async Task<ClassScheduleDto?> GetAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        EnsureMayRead(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Groups(db).AnyAsync(g => g.Id == groupId, cancellationToken))
        {
            return null;
        }

        return await db.ClassSchedules.AsNoTracking().FirstOrDefaultAsync(s => s.GroupId == groupId, cancellationToken) is { } record
            ? JsonSerializer.Deserialize<ClassScheduleDto>(record.ScheduleJson, JsonSerializerOptions.Web)
            : null;
    }

    /// <summary>Sets a class's schedule; false when the class is not in the scope.</summary>
    public async Task<bool> SetAsync(StaffScope scope, Guid groupId, ClassScheduleDto request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRoster);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var group = await scope.Groups(db).FirstOrDefaultAsync(g => g.Id == groupId, cancellationToken);
        if (group is null)
        {
            return false;
        }

        var validation = new Validation().Check(group.Kind == GroupKind.Class, "group", "Only a class has a schedule.");
        var schedule = Parse(request, validation);
        foreach (var (field, message) in schedule?.Validate() ?? [])
        {
            validation.Add(field, message);
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var json = JsonSerializer.Serialize(request, JsonSerializerOptions.Web);
        var record = await db.ClassSchedules.FirstOrDefaultAsync(s => s.GroupId == groupId, cancellationToken);
        if (record is null)
        {
            db.ClassSchedules.Add(new ClassScheduleRecord { GroupId = groupId, ScheduleJson = json, UpdatedAt = time.GetUtcNow().UtcDateTime });
        }
        else
        {
            record.ScheduleJson = json;
            record.UpdatedAt = time.GetUtcNow().UtcDateTime;
        }

        audit.Record(db, "class.schedule", "group", groupId.ToString(), json, group.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>Whether a class of the scope is in session now; null when the class is not in the scope.</summary>
    public async Task<SessionStateDto?> StateAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        EnsureMayRead(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Groups(db).AnyAsync(g => g.Id == groupId, cancellationToken))
        {
            return null;
        }

        var state = await StateAsync(db, groupId, time.GetUtcNow(), cancellationToken);
        return state is null ? null : new SessionStateDto(state.InSession, state.Until, state.Reason);
    }

    /// <summary>The ad-hoc sessions of a class of the scope in the last days, newest first; null when the class is not in the scope.</summary>
    public async Task<List<ClassSessionDto>?> RecentSessionsAsync(StaffScope scope, Guid groupId, int days, CancellationToken cancellationToken = default)
    {
        EnsureMayRead(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Groups(db).AnyAsync(g => g.Id == groupId, cancellationToken))
        {
            return null;
        }

        var since = time.GetUtcNow().UtcDateTime.AddDays(-Math.Clamp(days, 1, 365));
        return await db.ClassSessions.AsNoTracking().Where(s => s.GroupId == groupId && s.StartsAt >= since)
            .OrderByDescending(s => s.StartsAt).Take(500)
            .Select(s => new ClassSessionDto(s.Id, s.StartsAt, s.EndsAt, s.StartedBy))
            .ToListAsync(cancellationToken);
    }

    /// <summary>Whether a class is in session at <paramref name="now"/>; null when there is no such group. No scope: callers have checked it.</summary>
    internal static async Task<SessionState?> StateAsync(HomeroomDbContext db, Guid groupId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var group = await db.Groups.AsNoTracking().FirstOrDefaultAsync(g => g.Id == groupId, cancellationToken);
        if (group is null)
        {
            return null;
        }

        if (group.ArchivedAt is not null)
        {
            return new SessionState(false, null, "archived: last year's class, kept for its history");
        }

        var zone = await TimeZoneOfAsync(db, group.SchoolId, cancellationToken);
        var record = await db.ClassSchedules.AsNoTracking().FirstOrDefaultAsync(s => s.GroupId == groupId, cancellationToken);
        var schedule = record is null ? null : Parse(JsonSerializer.Deserialize<ClassScheduleDto>(record.ScheduleJson, JsonSerializerOptions.Web)!, new Validation());
        var from = now.UtcDateTime - ClassSessions.MaxAdHoc;
        var sessions = await db.ClassSessions.AsNoTracking().Where(s => s.GroupId == groupId && s.EndsAt > from).ToListAsync(cancellationToken);
        return ClassSessions.At(schedule, sessions.Select(s => new AdHocSession(new DateTimeOffset(s.StartsAt, TimeSpan.Zero), new DateTimeOffset(s.EndsAt, TimeSpan.Zero), s.StartedBy)).ToList(), now, zone);
    }

    /// <summary>The time zone of a school (the district's for a group without one).</summary>
    internal static async Task<TimeZoneInfo> TimeZoneOfAsync(HomeroomDbContext db, Guid? schoolId, CancellationToken cancellationToken)
    {
        var zoneId = schoolId is { } id
            ? await db.Schools.Where(s => s.Id == id).Select(s => s.TimeZone).FirstOrDefaultAsync(cancellationToken)
            : await District.TimeZoneIdAsync(db.Districts, cancellationToken);
        return zoneId is not null && TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var found) ? found : TimeZoneInfo.Utc;
    }

    /// <summary>A stored schedule as the rules read it (null when it no longer reads).</summary>
    internal static ClassSchedule? ParseStored(string json) =>
        JsonSerializer.Deserialize<ClassScheduleDto>(json, JsonSerializerOptions.Web) is { } dto ? Parse(dto, new Validation()) : null;

    private static void EnsureMayRead(StaffScope scope)
    {
        if (!scope.Can(Permission.ReadRoster) && !scope.Can(Permission.UseClassroom))
        {
            throw new ForbiddenException("Forbidden", "Your role does not allow this.");
        }
    }

    private static ClassSchedule? Parse(ClassScheduleDto dto, Validation validation)
    {
        static DateOnly? Date(string? text) => DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;
        static TimeOnly? Time(string? text) => TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null;
        var start = Date(dto.TermStart);
        var end = Date(dto.TermEnd);
        validation.Check(start is not null, "termStart", "A date as yyyy-MM-dd.").Check(end is not null, "termEnd", "A date as yyyy-MM-dd.");
        var meetings = new List<ClassMeeting>();
        var list = dto.Meetings ?? [];
        if (list.Count > ClassSchedule.MaxMeetings)
        {
            validation.Add("meetings", $"At most {ClassSchedule.MaxMeetings} meetings.");
            return null;
        }

        for (var i = 0; i < list.Count; i++)
        {
            var days = new List<DayOfWeek>();
            if (list[i].Days is { Count: > 7 })
            {
                validation.Add($"meetings[{i}].days", "At most 7 days.");
                continue;
            }

            foreach (var day in list[i].Days ?? [])
            {
                if (DayNames.TryParse(day, out var parsed))
                {
                    days.Add(parsed);
                }
                else
                {
                    validation.Add($"meetings[{i}].days", "Days are monday to sunday.");
                }
            }

            var from = Time(list[i].Start);
            var to = Time(list[i].End);
            validation.Check(from is not null && to is not null, $"meetings[{i}]", "start and end are local times as HH:mm.");
            if (from is not null && to is not null)
            {
                meetings.Add(new ClassMeeting(days.Distinct().ToList(), from.Value, to.Value));
            }
        }

        return start is null || end is null ? null : new ClassSchedule(start.Value, end.Value, meetings);
    }
}
