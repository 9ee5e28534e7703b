using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Insights;

/// <summary>The fleet-health and classroom-use reports (JSON or CSV) and the scheduled reports over HTTP: thin calls into the use cases.</summary>
public static class InsightsReportEndpoints
{
    private const string FilterHelp =
        "Filters: `schoolId`, `grade` (-1 or pk for pre-K, 0 or k, 1 to 13), `classId` (a class: its students' devices and its own), `platform` " +
        "(chromeos, ipados, ios, macos, windows, android, linux). An unknown value, or a school or class outside your scope, is refused (400). " +
        "`format=csv` answers the report as a CSV file, streamed.";

    public static IEndpointRouteBuilder MapInsightsReportEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/insights").WithTags("Insights");
        group.MapGet("/fleet-health", FleetHealthAsync).RequireStaff(Permission.ReadInsights)
            .Produces<FleetHealthDto>(StatusCodes.Status200OK, "application/json", "text/csv").ProducesValidationProblem()
            .WithDescription("The fleet now (devices neither revoked nor retired) in your scope: OS versions per platform and how many devices run an older one than " +
                "the configured target (Homeroom:Insights:Reports:TargetOsVersions) or the newest seen, devices not seen for 7 and 30 days or never, low batteries, " +
                "nearly full storage, devices in repair and lost, and policy compliance. " + FilterHelp);
        group.MapGet("/classroom", ClassroomAsync).RequireStaff(Permission.ReadInsights)
            .Produces<ClassroomUseDto>(StatusCodes.Status200OK, "application/json", "text/csv").ProducesValidationProblem()
            .WithDescription($"Classroom use per class and per UTC day from `from` to `to` (yyyy-MM-dd, both included; default the last {ClassroomUse.DefaultDays} days; " +
                $"at most {ReportFilters.MaxRangeYears} years): sessions (scheduled meetings begun and ad-hoc sessions), minutes of screen viewing, classroom commands. " +
                "Filters: `schoolId`, `grade` (the class's grade level), `classId`. An unknown value is refused (400). `format=csv` answers a CSV file of the classes.");

        var schedules = group.MapGroup("/schedules");
        schedules.MapGet("/", ListSchedulesAsync).RequireStaff(Permission.ManageReportSchedules)
            .WithDescription("The district's scheduled reports, when each is next due and how its last sending went.");
        schedules.MapPost("/", CreateScheduleAsync).RequireStaff(Permission.ManageReportSchedules).ProducesValidationProblem()
            .WithDescription($"Schedules a report e-mailed weekly as a CSV attachment: `name`, `report` (fleet or classroom), `filters` (schoolId, grade, classId, platform), " +
                $"`dayOfWeek` (monday to sunday) and `hour` (0 to 23) in the district's time zone, `recipients` (1 to {ReportSchedules.MaxRecipients} addresses). " +
                "Sent through the SMTP relay of Homeroom:Notifications:Smtp. District-wide staff only. Audited.");
        schedules.MapPut("/{id:guid}", UpdateScheduleAsync).RequireStaff(Permission.ManageReportSchedules).ProducesValidationProblem()
            .WithDescription("Replaces a scheduled report (the same fields as creating one); a due time that passed before the change is not sent. Audited.");
        schedules.MapDelete("/{id:guid}", DeleteScheduleAsync).RequireStaff(Permission.ManageReportSchedules)
            .WithDescription("Stops and removes a scheduled report. Audited.");
        return app;
    }

    private static async Task<IResult> FleetHealthAsync(
        StaffScope scope, FleetHealth fleet, [AsParameters] ReportQuery query, CancellationToken cancellationToken)
    {
        // from and to are read only to refuse them (400): a snapshot asked for a range would silently ignore it otherwise.
        var csv = ReportFilters.IsCsv(query.Format);
        NoLimit(query);
        var report = await fleet.ReportAsync(scope, query.Filters, cancellationToken);
        return csv
            ? CsvResults.Stream($"fleet-health-{report.At:yyyy-MM-dd}.csv", FleetHealth.CsvHeader, FleetHealth.CsvRows(report))
            : TypedResults.Ok(report);
    }

    private static async Task<IResult> ClassroomAsync(
        StaffScope scope, ClassroomUse classroom, [AsParameters] ReportQuery query, CancellationToken cancellationToken)
    {
        // platform is read only to refuse it (400): classes have no platform.
        var csv = ReportFilters.IsCsv(query.Format);
        NoLimit(query);
        var report = await classroom.ReportAsync(scope, query.Filters, cancellationToken);
        return csv
            ? CsvResults.Stream($"classroom-use-{report.From}-to-{report.To}.csv", ClassroomUse.CsvHeader, ClassroomUse.CsvRows(report))
            : TypedResults.Ok(report);
    }

    /// <summary>These reports list every platform or class: a limit would be silently ignored, so it is refused.</summary>
    private static void NoLimit(ReportQuery query)
    {
        if (!string.IsNullOrEmpty(query.Limit))
        {
            throw new RequestValidationException(new() { ["limit"] = ["This report takes no limit."] });
        }
    }

    private static async Task<Ok<List<ReportScheduleDto>>> ListSchedulesAsync(StaffScope scope, ReportSchedules schedules, CancellationToken cancellationToken) =>
        TypedResults.Ok(await schedules.ListAsync(scope, cancellationToken));

    private static async Task<Created<ReportScheduleDto>> CreateScheduleAsync(ReportScheduleRequest request, StaffScope scope, ReportSchedules schedules, CancellationToken cancellationToken)
    {
        var created = await schedules.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/insights/schedules/{created.Id}", created);
    }

    private static async Task<Results<Ok<ReportScheduleDto>, NotFound>> UpdateScheduleAsync(
        Guid id, ReportScheduleRequest request, StaffScope scope, ReportSchedules schedules, CancellationToken cancellationToken) =>
        await schedules.UpdateAsync(scope, id, request, cancellationToken) is { } updated ? TypedResults.Ok(updated) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteScheduleAsync(Guid id, StaffScope scope, ReportSchedules schedules, CancellationToken cancellationToken) =>
        await schedules.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();
}
