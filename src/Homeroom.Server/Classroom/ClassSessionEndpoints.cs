using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Classroom;

public sealed record StartSessionRequest(int? Minutes);

/// <summary>
/// Class schedules and sessions over HTTP: the schedule (weekly meetings within a term), whether the
/// class is in session now, and ad-hoc sessions a teacher starts within the school day.
/// </summary>
public static class ClassSessionEndpoints
{
    public static IEndpointRouteBuilder MapClassSessionEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/groups/{id:guid}").WithTags("Classroom");
        group.MapGet("/schedule", GetScheduleAsync).RequireStaff(ScopedResource.Group, Permission.ReadRoster, Permission.UseClassroom);
        group.MapPut("/schedule", PutScheduleAsync).RequireStaff(ScopedResource.Group, Permission.ManageRoster).ProducesValidationProblem();
        group.MapGet("/session", GetStateAsync).RequireStaff(ScopedResource.Group, Permission.ReadRoster, Permission.UseClassroom)
            .WithDescription("Whether the class is in session now (a scheduled meeting or an ad-hoc session), until when, and why.");
        group.MapPost("/session", StartAsync).RequireStaff(ScopedResource.Group, Permission.UseClassroom).ProducesValidationProblem()
            .WithDescription("Starts an ad-hoc session now, for 1 to 120 minutes, on a school day within its hours (never past their end).");
        group.MapDelete("/session", EndAsync).RequireStaff(ScopedResource.Group, Permission.UseClassroom)
            .WithDescription("Ends the session now: ad-hoc sessions close, viewing stops and focus mode ends.");
        group.MapGet("/sessions", ListSessionsAsync).RequireStaff(ScopedResource.Group, Permission.ReadRoster, Permission.UseClassroom)
            .WithDescription("The class's ad-hoc sessions of the last `days` (default 30): when and by whom, for the school's administrators to review.");
        return app;
    }

    private static async Task<Results<Ok<ClassScheduleDto>, NotFound>> GetScheduleAsync(Guid id, StaffScope scope, ClassSchedules schedules, CancellationToken cancellationToken) =>
        await schedules.GetAsync(scope, id, cancellationToken) is { } schedule ? TypedResults.Ok(schedule) : TypedResults.NotFound();

    private static async Task<Results<Ok<ClassScheduleDto>, NotFound>> PutScheduleAsync(
        Guid id, ClassScheduleDto request, StaffScope scope, ClassSchedules schedules, CancellationToken cancellationToken) =>
        await schedules.SetAsync(scope, id, request, cancellationToken) ? TypedResults.Ok(request) : TypedResults.NotFound();

    private static async Task<Results<Ok<SessionStateDto>, NotFound>> GetStateAsync(Guid id, StaffScope scope, ClassSchedules schedules, CancellationToken cancellationToken) =>
        await schedules.StateAsync(scope, id, cancellationToken) is { } state ? TypedResults.Ok(state) : TypedResults.NotFound();

    private static async Task<Ok<SessionStateDto>> StartAsync(Guid id, StartSessionRequest request, StaffScope scope, Classroom classroom, CancellationToken cancellationToken)
    {
        var state = await classroom.StartSessionAsync(scope, id, request.Minutes ?? 0, cancellationToken);
        return TypedResults.Ok(new SessionStateDto(state.InSession, state.Until, state.Reason));
    }

    private static async Task<NoContent> EndAsync(Guid id, StaffScope scope, Classroom classroom, CancellationToken cancellationToken)
    {
        await classroom.EndSessionAsync(scope, id, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<List<ClassSessionDto>>, NotFound>> ListSessionsAsync(
        Guid id, int? days, StaffScope scope, ClassSchedules schedules, CancellationToken cancellationToken) =>
        await schedules.RecentSessionsAsync(scope, id, days ?? 30, cancellationToken) is { } sessions ? TypedResults.Ok(sessions) : TypedResults.NotFound();
}
