using System.Globalization;
using System.Text.Json;
using Homeroom.Rules.Policies;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Policies;

/// <summary>A profile assigned to the district, a school, a grade, a group or a device; optionally only on a schedule or by zone.</summary>
/// <param name="ProfileId">The profile.</param>
/// <param name="Level">district, school, grade, group or device.</param>
/// <param name="ScopeId">The school, group or device id, or the grade (-1 pre-K, 0 K, 1–13); none for the district.</param>
/// <param name="Priority">Higher wins among assignments at the same level (default 0).</param>
/// <param name="Condition">When it applies.</param>
public sealed record AssignmentRequest(Guid? ProfileId, ScopeLevel? Level, string? ScopeId, int? Priority, ConditionDto? Condition);

public sealed record AssignmentDto(Guid Id, Guid ProfileId, string ProfileName, ScopeLevel Level, string? ScopeId, int Priority, ConditionDto? Condition, DateTime CreatedAt);

/// <summary>Assignments of profiles to scopes. Conflicting ones (same scope and priority, disagreeing settings) are refused with 409.</summary>
public static class AssignmentEndpoints
{
    public static IEndpointRouteBuilder MapAssignmentEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/assignments").WithTags("Policies");
        group.MapGet("/", ListAsync);
        group.MapPost("/", CreateAsync);
        group.MapPut("/{id:guid}", UpdateAsync);
        group.MapDelete("/{id:guid}", DeleteAsync);
        return app;
    }

    private static async Task<Ok<List<AssignmentDto>>> ListAsync(Guid? profileId, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var query = db.PolicyAssignments.AsNoTracking();
        if (profileId is { } id)
        {
            query = query.Where(a => a.ProfileId == id);
        }

        var rows = await query.OrderBy(a => a.Level).ThenByDescending(a => a.Priority).ThenBy(a => a.Id).ToListAsync(cancellationToken);
        var names = await db.Profiles.AsNoTracking().ToDictionaryAsync(p => p.Id, p => p.Name, cancellationToken);
        return TypedResults.Ok(rows.Select(r => ToDto(r, names.GetValueOrDefault(r.ProfileId, "?"))).ToList());
    }

    private static async Task<Results<Created<AssignmentDto>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        AssignmentRequest request, HomeroomDbContext db, AuditTrail audit, PolicyDistributor distributor, TimeProvider time, CancellationToken cancellationToken)
    {
        var record = new PolicyAssignmentRecord { Id = Guid.CreateVersion7(), CreatedAt = time.GetUtcNow().UtcDateTime };
        var outcome = await SaveAsync(record, request, isNew: true, db, audit, cancellationToken);
        if (outcome is not null)
        {
            return outcome.Value.Validation is { } v ? TypedResults.ValidationProblem(v) : outcome.Value.Problem!;
        }

        distributor.RequestAll();
        return TypedResults.Created($"/api/assignments/{record.Id}", ToDto(record, await db.Profiles.Where(p => p.Id == record.ProfileId).Select(p => p.Name).FirstAsync(cancellationToken)));
    }

    private static async Task<Results<Ok<AssignmentDto>, NotFound, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, AssignmentRequest request, HomeroomDbContext db, AuditTrail audit, PolicyDistributor distributor, CancellationToken cancellationToken)
    {
        var record = await db.PolicyAssignments.FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (record is null)
        {
            return TypedResults.NotFound();
        }

        var outcome = await SaveAsync(record, request, isNew: false, db, audit, cancellationToken);
        if (outcome is not null)
        {
            return outcome.Value.Validation is { } v ? TypedResults.ValidationProblem(v) : outcome.Value.Problem!;
        }

        distributor.RequestAll();
        return TypedResults.Ok(ToDto(record, await db.Profiles.Where(p => p.Id == record.ProfileId).Select(p => p.Name).FirstAsync(cancellationToken)));
    }

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(Guid id, HomeroomDbContext db, AuditTrail audit, PolicyDistributor distributor, CancellationToken cancellationToken)
    {
        var record = await db.PolicyAssignments.FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (record is null)
        {
            return TypedResults.NotFound();
        }

        db.PolicyAssignments.Remove(record);
        audit.Record(db, "assignment.delete", "assignment", id.ToString(), $"{record.Level} {record.ScopeKey} profile {record.ProfileId}");
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        return TypedResults.NoContent();
    }

    // Validates, checks conflicts against every other assignment, then saves; null when saved.
    private static async Task<(Dictionary<string, string[]>? Validation, ProblemHttpResult? Problem)?> SaveAsync(
        PolicyAssignmentRecord record, AssignmentRequest request, bool isNew, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        var validation = new Validation().Range("priority", request.Priority, -1000, 1000);
        if (request.ProfileId is not { } profileId || !await db.Profiles.AnyAsync(p => p.Id == profileId, cancellationToken))
        {
            validation.Add("profileId", "No such profile.");
        }

        string? scopeKey = null;
        switch (request.Level)
        {
            case null:
                validation.Add("level", "One of district, school, grade, group, device.");
                break;
            case ScopeLevel.District:
                validation.Check(string.IsNullOrEmpty(request.ScopeId), "scopeId", "A district assignment has no scopeId.");
                break;
            case ScopeLevel.Grade:
                if (int.TryParse(request.ScopeId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var grade) && grade is >= -1 and <= 13)
                {
                    scopeKey = grade.ToString(CultureInfo.InvariantCulture);
                }
                else
                {
                    validation.Add("scopeId", "A grade from -1 (pre-K) to 13.");
                }

                break;
            default:
                if (!Guid.TryParse(request.ScopeId, out var scopeId) || !await ScopeExistsAsync(db, request.Level.Value, scopeId, cancellationToken))
                {
                    validation.Add("scopeId", $"No such {request.Level.Value.ToString().ToLowerInvariant()}.");
                }
                else
                {
                    scopeKey = scopeId.ToString();
                }

                break;
        }

        foreach (var (field, message) in request.Condition?.Validate() ?? [])
        {
            validation.Add(field, message);
        }

        var zoneIds = (request.Condition?.InsideZones ?? []).Concat(request.Condition?.OutsideZones ?? []).Distinct().ToList();
        if (zoneIds.Count > 0 && await db.Zones.CountAsync(z => zoneIds.Contains(z.Id), cancellationToken) != zoneIds.Count)
        {
            validation.Add("condition", "A zone in the condition does not exist.");
        }

        if (!validation.IsValid)
        {
            return (validation.Errors, null);
        }

        record.ProfileId = request.ProfileId!.Value;
        record.Level = request.Level!.Value;
        record.ScopeKey = scopeKey;
        record.Priority = request.Priority ?? 0;
        var condition = request.Condition is { } c && !c.ToCondition().IsEmpty ? c : null;
        record.ConditionJson = condition is null ? null : JsonSerializer.Serialize(condition, PolicyModel.Json);

        var model = await PolicyModel.LoadAsync(db, cancellationToken);
        var assignments = model.Assignments.Where(a => a.Id != record.Id).Append(PolicyModel.ToAssignment(record)).ToList();
        if (PolicyConflicts.Find(assignments, model.Profiles) is { Count: > 0 } conflicts)
        {
            return (null, TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflicting assignments", detail: string.Join(" ", conflicts)));
        }

        if (isNew)
        {
            db.PolicyAssignments.Add(record);
        }

        audit.Record(db, isNew ? "assignment.create" : "assignment.update", "assignment", record.Id.ToString(),
            $"{record.Level} {record.ScopeKey} profile {record.ProfileId} priority {record.Priority} {record.ConditionJson}");
        await db.SaveChangesAsync(cancellationToken);
        return null;
    }

    private static Task<bool> ScopeExistsAsync(HomeroomDbContext db, ScopeLevel level, Guid id, CancellationToken cancellationToken) => level switch
    {
        ScopeLevel.School => db.Schools.AnyAsync(s => s.Id == id, cancellationToken),
        ScopeLevel.Group => db.Groups.AnyAsync(g => g.Id == id, cancellationToken),
        ScopeLevel.Device => db.Devices.AnyAsync(d => d.Id == id, cancellationToken),
        _ => Task.FromResult(false),
    };

    private static AssignmentDto ToDto(PolicyAssignmentRecord r, string profileName) => new(
        r.Id, r.ProfileId, profileName, r.Level, r.ScopeKey, r.Priority,
        r.ConditionJson is null ? null : JsonSerializer.Deserialize<ConditionDto>(r.ConditionJson, PolicyModel.Json), r.CreatedAt);
}
