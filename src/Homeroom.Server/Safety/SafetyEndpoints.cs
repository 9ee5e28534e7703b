using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Safety;

/// <summary>Safety alerts, cases, the lexicon and the tester over HTTP: thin calls into <see cref="SafetyCases"/> and <see cref="SafetyLexiconDirectory"/>.</summary>
public static class SafetyEndpoints
{
    public static IEndpointRouteBuilder MapSafetyEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/safety").WithTags("Safety");
        var alerts = group.MapGroup("/alerts");
        alerts.MapGet("/", ListAsync).RequireStaff(Permission.ReadSafety).ProducesValidationProblem()
            .WithDescription("The safety queue of your scope, most severe and most recent first. Filters: status (open, new, inReview, escalated, resolved, falsePositive), category, severity (the lowest), schoolId. Audited.");
        alerts.MapGet("/{id:guid}", GetAsync).RequireStaff(ScopedResource.SafetyAlert, Permission.ReadSafety)
            .WithDescription("One case: the alert, its evidence (the matched text in context with the verdict's explanation, offsets in the excerpt) and its history. Audited.");
        alerts.MapGet("/{id:guid}/history", HistoryAsync).RequireStaff(ScopedResource.SafetyAlert, Permission.ReadSafety)
            .WithDescription("The case's history, oldest first. Audited.");
        alerts.MapGet("/{id:guid}/screenshots/{screenshotId:guid}", ScreenshotAsync).RequireStaff(ScopedResource.SafetyAlert, Permission.ReadSafety)
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg", additionalContentTypes: ["image/webp", "image/png"])
            .WithDescription("A screenshot the device took for the case's evidence, as the image it sent. Audited.");
        alerts.MapPost("/{id:guid}/assign", AssignAsync).RequireStaff(ScopedResource.SafetyAlert, Permission.ManageSafety).ProducesValidationProblem()
            .WithDescription("Assigns the case to a staff member who reads safety alerts of its school (`{\"accountId\": null}` unassigns). Audited.");
        alerts.MapPost("/{id:guid}/status", StatusAsync).RequireStaff(ScopedResource.SafetyAlert, Permission.ManageSafety).ProducesValidationProblem()
            .WithDescription($"Sets the case's status (new, inReview, escalated, resolved, falsePositive) with an optional note (at most {SafetyCases.MaxNoteLength} characters). With falsePositive, `demote` (a context phrase) adds a demotion of the matched phrase near it to the district's lexicon (factor `demoteFactor`, default {SafetyCases.DefaultDemoteFactor}; district-wide staff only). Audited.");
        alerts.MapPost("/{id:guid}/notes", NoteAsync).RequireStaff(ScopedResource.SafetyAlert, Permission.ManageSafety).ProducesValidationProblem()
            .WithDescription($"Adds a note (at most {SafetyCases.MaxNoteLength} characters) to the case's history. Audited.");
        group.MapGet("/trends", TrendsAsync).RequireStaff(Permission.ReadSafety).ProducesValidationProblem()
            .WithDescription($"Alerts of your scope per school, category and week (Monday, UTC) over the last `weeks` (default 12, at most {SafetyCases.MaxTrendWeeks}). Audited.");
        group.MapDelete("/students/{id:guid}", DeleteStudentAsync).RequireStaff(ScopedResource.Person, Permission.ManageSafety)
            .WithDescription("Deletes every safety alert of the student, with its evidence, screenshots and history, on request. Audited.");
        group.MapPost("/scan", ScanAsync).RequireStaff(Permission.ScanSafetyText).ProducesValidationProblem()
            .WithDescription("The lexicon tester: scans `text` (at most 16,384 characters) with the district's lexicon and answers the verdict with its full explanation. Stores nothing, raises no alert.");
        var lexicon = group.MapGroup("/lexicon");
        lexicon.MapGet("/adjustments", AdjustmentsAsync).RequireStaff(Permission.ReadSafety)
            .WithDescription("The district's changes to the built-in lexicon: added entries, removed phrases, weights, and false-positive demotions (with the alert each came from).");
        lexicon.MapPost("/adjustments", AddAdjustmentAsync).RequireStaff(Permission.ManageSafety).ProducesValidationProblem()
            .WithDescription("Adds an adjustment: kind add (phrase, category, weight, language), remove (phrase), weight (phrase, weight) or demotion (phrase, context, factor). District-wide staff only; applies to the next signal. Audited.");
        lexicon.MapDelete("/adjustments/{id:guid}", DeleteAdjustmentAsync).RequireStaff(Permission.ManageSafety)
            .WithDescription("Removes an adjustment (a false positive's demotion too). District-wide staff only. Audited.");
        lexicon.MapPost("/import", ImportAsync).RequireStaff(Permission.ManageSafety).ProducesValidationProblem()
            .WithDescription("Adds the phrases of an e2guardian weighted phrase list (`text`, with `category` and `language`). A list with errors is refused whole with each line's error, and the lexicon stays as it was. District-wide staff only. Audited.");
        var settings = app.MapGroup("/api/schools/{id:guid}/safety-settings").WithTags("Safety");
        settings.MapGet("/", SettingsAsync).RequireStaff(ScopedResource.School, Permission.ReadSafety)
            .WithDescription("The school's safety routing: its escalation contacts in order (the district's Homeroom:Safety:EscalationContacts are always the last step), how many minutes an imminent alert may stay unacknowledged before each next step, and its quiet hours.");
        settings.MapPut("/", UpdateSettingsAsync).RequireStaff(ScopedResource.School, Permission.ManageSafety).ProducesValidationProblem()
            .WithDescription($"Replaces the school's safety routing: `contacts` (at most {SafetySettingsDirectory.MaxContacts}, each a name of at most {SafetySettingsDirectory.MaxContactNameLength} characters and an e-mail address), `escalateAfterMinutes` ({SafetySettingsDirectory.MinEscalateAfterMinutes} to {SafetySettingsDirectory.MaxEscalateAfterMinutes}, or null for the district's delay) and `quietHours` (`start` and `end` as HH:mm in the school's time zone, an end before the start wraps midnight; `days` the periods start on; null for none). Audited.");
        return app;
    }

    private static async Task<Results<Ok<SafetySettingsDto>, NotFound>> SettingsAsync(Guid id, StaffScope scope, SafetySettingsDirectory settings, CancellationToken cancellationToken) =>
        await settings.GetAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Results<Ok<SafetySettingsDto>, NotFound>> UpdateSettingsAsync(
        Guid id, SafetySettingsRequest request, StaffScope scope, SafetySettingsDirectory settings, CancellationToken cancellationToken) =>
        await settings.UpdateAsync(scope, id, request, cancellationToken) is { } saved ? TypedResults.Ok(saved) : TypedResults.NotFound();

    private static async Task<Results<Ok<PagedResult<SafetyAlertDto>>, ValidationProblem>> ListAsync(
        string? status, string? category, string? severity, Guid? schoolId, [AsParameters] PageQuery paging, StaffScope scope, SafetyCases cases, CancellationToken cancellationToken) =>
        paging.Validate() is { } errors
            ? TypedResults.ValidationProblem(errors)
            : TypedResults.Ok(await cases.ListAsync(scope, new SafetyAlertFilter(status, category, severity, schoolId), paging, cancellationToken));

    private static async Task<Results<Ok<SafetyCaseDto>, NotFound>> GetAsync(Guid id, StaffScope scope, SafetyCases cases, CancellationToken cancellationToken) =>
        await cases.GetAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Results<Ok<List<SafetyCaseEventDto>>, NotFound>> HistoryAsync(Guid id, StaffScope scope, SafetyCases cases, CancellationToken cancellationToken) =>
        await cases.HistoryAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Results<FileContentHttpResult, NotFound>> ScreenshotAsync(Guid id, Guid screenshotId, StaffScope scope, SafetyCases cases, CancellationToken cancellationToken) =>
        await cases.ScreenshotAsync(scope, id, screenshotId, cancellationToken) is { } shot ? TypedResults.File(shot.Content, shot.ContentType) : TypedResults.NotFound();

    private static async Task<Results<Ok<SafetyAlertDto>, NotFound>> AssignAsync(Guid id, SafetyAssignRequest request, StaffScope scope, SafetyCases cases, CancellationToken cancellationToken) =>
        await cases.AssignAsync(scope, id, request, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Results<Ok<SafetyAlertDto>, NotFound>> StatusAsync(Guid id, SafetyStatusRequest request, StaffScope scope, SafetyCases cases, CancellationToken cancellationToken) =>
        await cases.SetStatusAsync(scope, id, request, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Results<Ok<SafetyCaseEventDto>, NotFound>> NoteAsync(Guid id, SafetyNoteRequest request, StaffScope scope, SafetyCases cases, CancellationToken cancellationToken) =>
        await cases.AddNoteAsync(scope, id, request, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Ok<List<SafetyTrendDto>>> TrendsAsync(int? weeks, StaffScope scope, SafetyCases cases, CancellationToken cancellationToken) =>
        TypedResults.Ok(await cases.TrendsAsync(scope, weeks ?? 12, cancellationToken));

    private static async Task<Results<Ok<StudentSafetyDataDeleted>, NotFound>> DeleteStudentAsync(Guid id, StaffScope scope, SafetyCases cases, CancellationToken cancellationToken) =>
        await cases.DeleteStudentDataAsync(scope, id, cancellationToken) is { } deleted ? TypedResults.Ok(new StudentSafetyDataDeleted(deleted)) : TypedResults.NotFound();

    private static async Task<Ok<SafetyScanResult>> ScanAsync(SafetyScanRequest request, StaffScope scope, SafetyLexiconDirectory lexicon, CancellationToken cancellationToken) =>
        TypedResults.Ok(await lexicon.ScanAsync(scope, request, cancellationToken));

    private static async Task<Ok<List<LexiconAdjustmentDto>>> AdjustmentsAsync(StaffScope scope, SafetyLexiconDirectory lexicon, CancellationToken cancellationToken) =>
        TypedResults.Ok(await lexicon.ListAsync(scope, cancellationToken));

    private static async Task<Created<LexiconAdjustmentDto>> AddAdjustmentAsync(LexiconAdjustmentRequest request, StaffScope scope, SafetyLexiconDirectory lexicon, CancellationToken cancellationToken)
    {
        var added = await lexicon.AddAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/safety/lexicon/adjustments/{added.Id}", added);
    }

    private static async Task<Results<NoContent, NotFound>> DeleteAdjustmentAsync(Guid id, StaffScope scope, SafetyLexiconDirectory lexicon, CancellationToken cancellationToken) =>
        await lexicon.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Ok<LexiconImportResult>> ImportAsync(LexiconImportRequest request, StaffScope scope, SafetyLexiconDirectory lexicon, CancellationToken cancellationToken) =>
        TypedResults.Ok(await lexicon.ImportAsync(scope, request, cancellationToken));
}

/// <summary>How many safety alerts of a student were deleted on request.</summary>
public sealed record StudentSafetyDataDeleted(int Alerts);
