using System.Globalization;
using System.Text.Json;
using Homeroom.Rules.Classroom;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Classroom;

public sealed record ClassMeetingDto(IReadOnlyList<string>? Days, string? Start, string? End);

public sealed record ClassScheduleDto(string? TermStart, string? TermEnd, IReadOnlyList<ClassMeetingDto>? Meetings);

public sealed record StartSessionRequest(int? Minutes);

public sealed record SessionStateDto(bool InSession, DateTimeOffset? Until, string Reason);

/// <summary>
/// Class schedules (weekly meetings within a term) and ad-hoc sessions a teacher starts for up to two
/// hours; together they say whether a class is in session now, the condition for viewing its
/// students' screens.
/// </summary>
public static class ClassSessionEndpoints
{
    public static IEndpointRouteBuilder MapClassSessionEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/groups/{id:guid}").WithTags("Classroom");
        group.MapGet("/schedule", GetScheduleAsync);
        group.MapPut("/schedule", PutScheduleAsync);
        group.MapGet("/session", GetStateAsync).WithDescription("Whether the class is in session now (a scheduled meeting or an ad-hoc session), until when, and why.");
        group.MapPost("/session", StartAsync).WithDescription("Starts an ad-hoc session now, for 1 to 120 minutes.");
        group.MapDelete("/session", EndAsync).WithDescription("Ends the ad-hoc session now.");
        return app;
    }

    private static async Task<Results<Ok<ClassScheduleDto>, NotFound>> GetScheduleAsync(Guid id, HomeroomDbContext db, CancellationToken cancellationToken) =>
        await db.ClassSchedules.AsNoTracking().FirstOrDefaultAsync(s => s.GroupId == id, cancellationToken) is { } record
            ? TypedResults.Ok(JsonSerializer.Deserialize<ClassScheduleDto>(record.ScheduleJson, JsonSerializerOptions.Web)!)
            : TypedResults.NotFound();

    private static async Task<Results<Ok<ClassScheduleDto>, NotFound, ValidationProblem>> PutScheduleAsync(
        Guid id, ClassScheduleDto request, HomeroomDbContext db, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await ClassAsync(db, id, cancellationToken) is not { } group)
        {
            return TypedResults.NotFound();
        }

        var validation = new Validation();
        if (group.Kind != GroupKind.Class)
        {
            validation.Add("group", "Only a class has a schedule.");
        }

        var schedule = Parse(request, validation);
        foreach (var (field, message) in schedule?.Validate() ?? [])
        {
            validation.Add(field, message);
        }

        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var json = JsonSerializer.Serialize(request, JsonSerializerOptions.Web);
        var record = await db.ClassSchedules.FirstOrDefaultAsync(s => s.GroupId == id, cancellationToken);
        if (record is null)
        {
            db.ClassSchedules.Add(new ClassScheduleRecord { GroupId = id, ScheduleJson = json, UpdatedAt = time.GetUtcNow().UtcDateTime });
        }
        else
        {
            record.ScheduleJson = json;
            record.UpdatedAt = time.GetUtcNow().UtcDateTime;
        }

        audit.Record(db, "class.schedule", "group", id.ToString(), json);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(request);
    }

    // A teacher reaches only the classes they are a member of; other staff the classes of their scope.
    public static Task<bool> MayUseAsync(HttpContext context, HomeroomDbContext db, Guid groupId, CancellationToken cancellationToken) =>
        Classroom.MayUseAsync(StaffScope.Of(context.User), db, groupId, cancellationToken);

    private static async Task<Results<Ok<SessionStateDto>, NotFound, ForbidHttpResult>> GetStateAsync(Guid id, HttpContext context, HomeroomDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!await MayUseAsync(context, db, id, cancellationToken))
        {
            return TypedResults.Forbid();
        }

        var state = await StateAsync(db, id, time.GetUtcNow(), cancellationToken);
        return state is null ? TypedResults.NotFound() : TypedResults.Ok(new SessionStateDto(state.InSession, state.Until, state.Reason));
    }

    private static async Task<Results<Ok<SessionStateDto>, ValidationProblem>> StartAsync(
        Guid id, StartSessionRequest request, HttpContext context, Classroom classroom, CancellationToken cancellationToken)
    {
        var state = await classroom.StartSessionAsync(StaffScope.Of(context.User), StaffUser.From(context.User), id, request.Minutes ?? 0, cancellationToken);
        return TypedResults.Ok(new SessionStateDto(state.InSession, state.Until, state.Reason));
    }

    private static async Task<NoContent> EndAsync(Guid id, HttpContext context, Classroom classroom, CancellationToken cancellationToken)
    {
        await classroom.EndSessionAsync(StaffScope.Of(context.User), StaffUser.From(context.User), id, cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>Whether a class is in session at <paramref name="now"/>; null when there is no such group.</summary>
    public static async Task<SessionState?> StateAsync(HomeroomDbContext db, Guid groupId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var group = await ClassAsync(db, groupId, cancellationToken);
        if (group is null)
        {
            return null;
        }

        var zoneId = group.SchoolId is { } schoolId
            ? await db.Schools.Where(s => s.Id == schoolId).Select(s => s.TimeZone).FirstOrDefaultAsync(cancellationToken)
            : await db.Districts.Select(d => d.TimeZone).FirstOrDefaultAsync(cancellationToken);
        var zone = zoneId is not null && TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var found) ? found : TimeZoneInfo.Utc;
        var record = await db.ClassSchedules.AsNoTracking().FirstOrDefaultAsync(s => s.GroupId == groupId, cancellationToken);
        var schedule = record is null ? null : Parse(JsonSerializer.Deserialize<ClassScheduleDto>(record.ScheduleJson, JsonSerializerOptions.Web)!, new Validation());
        var from = now.UtcDateTime - ClassSessions.MaxAdHoc;
        var sessions = await db.ClassSessions.AsNoTracking().Where(s => s.GroupId == groupId && s.EndsAt > from).ToListAsync(cancellationToken);
        return ClassSessions.At(schedule, sessions.Select(s => new AdHocSession(new DateTimeOffset(s.StartsAt, TimeSpan.Zero), new DateTimeOffset(s.EndsAt, TimeSpan.Zero), s.StartedBy)).ToList(), now, zone);
    }

    private static Task<Group?> ClassAsync(HomeroomDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.Groups.AsNoTracking().FirstOrDefaultAsync(g => g.Id == id, cancellationToken);

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
