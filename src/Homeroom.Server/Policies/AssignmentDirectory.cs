using System.Globalization;
using System.Text.Json;
using Homeroom.Rules.Policies;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
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

/// <summary>
/// Assignments of profiles to scopes, for the API and the console. Everyone who reads policies reads
/// them all; a school's administrators place and change assignments on their school, its groups and
/// its devices, with district profiles or their school's own; district and grade assignments reach
/// every school and are for district administrators. A change is checked against the assignment's
/// old and new target. Conflicting assignments (same scope and priority, disagreeing settings) are refused with 409.
/// </summary>
public sealed class AssignmentDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor distributor, TimeProvider time)
{
    public async Task<List<AssignmentDto>> ListAsync(StaffScope scope, Guid? profileId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = db.PolicyAssignments.AsNoTracking();
        if (profileId is { } id)
        {
            query = query.Where(a => a.ProfileId == id);
        }

        var rows = await query.OrderBy(a => a.Level).ThenByDescending(a => a.Priority).ThenBy(a => a.Id).ToListAsync(cancellationToken);
        var names = await db.Profiles.AsNoTracking().ToDictionaryAsync(p => p.Id, p => p.Name, cancellationToken);
        return rows.Select(r => ToDto(r, names.GetValueOrDefault(r.ProfileId, "?"))).ToList();
    }

    public async Task<AssignmentDto> CreateAsync(StaffScope scope, AssignmentRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var record = new PolicyAssignmentRecord { Id = Guid.CreateVersion7(), CreatedAt = time.GetUtcNow().UtcDateTime };
        await SaveAsync(scope, db, record, request, isNew: true, cancellationToken);
        distributor.RequestAll();
        return ToDto(record, await db.Profiles.Where(p => p.Id == record.ProfileId).Select(p => p.Name).FirstAsync(cancellationToken));
    }

    /// <summary>Changes an assignment the scope may change; null when there is none.</summary>
    public async Task<AssignmentDto?> UpdateAsync(StaffScope scope, Guid id, AssignmentRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var record = await db.PolicyAssignments.FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (record is null || !await scope.MayAssignAsync(db, record.Level, record.ScopeKey, cancellationToken))
        {
            return null;
        }

        await SaveAsync(scope, db, record, request, isNew: false, cancellationToken);
        distributor.RequestAll();
        return ToDto(record, await db.Profiles.Where(p => p.Id == record.ProfileId).Select(p => p.Name).FirstAsync(cancellationToken));
    }

    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var record = await db.PolicyAssignments.FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (record is null || !await scope.MayAssignAsync(db, record.Level, record.ScopeKey, cancellationToken))
        {
            return false;
        }

        db.PolicyAssignments.Remove(record);
        audit.Record(db, "assignment.delete", "assignment", id.ToString(), $"{record.Level} {record.ScopeKey} profile {record.ProfileId}", await SchoolOfAsync(db, record.Level, record.ScopeKey, cancellationToken));
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        return true;
    }

    // Validates, checks the scope and conflicts against every other assignment, then saves.
    private async Task SaveAsync(StaffScope scope, HomeroomDbContext db, PolicyAssignmentRecord record, AssignmentRequest request, bool isNew, CancellationToken cancellationToken)
    {
        var validation = new Validation()
            .Range("priority", request.Priority, -1000, 1000)
            .Check(request.Level is null || Enum.IsDefined(request.Level.Value), "level", "One of district, school, grade, group, device.");
        var profile = request.ProfileId is { } profileId
            ? await scope.AssignableProfiles(db).Where(p => p.Id == profileId).Select(p => new { p.Id, p.SchoolId }).FirstOrDefaultAsync(cancellationToken)
            : null;
        if (profile is null)
        {
            validation.Add("profileId", "No such profile (a district profile or your school's).");
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
            throw new RequestValidationException(validation.Errors);
        }

        // The new target must be the scope's (the old one was checked by the caller), and a school's own
        // profile stays within that school.
        if (!await scope.MayAssignAsync(db, request.Level!.Value, scopeKey, cancellationToken))
        {
            throw new ForbiddenException("Outside your school", "Only district administrators assign to the district or a grade; others assign to their school, its groups and devices.");
        }

        var targetSchool = await SchoolOfAsync(db, request.Level.Value, scopeKey, cancellationToken);
        if (profile!.SchoolId is { } owner && targetSchool != owner)
        {
            throw new RequestValidationException(new() { ["scopeId"] = ["A school's own profile is assigned only within that school."] });
        }

        record.ProfileId = profile.Id;
        record.Level = request.Level.Value;
        record.ScopeKey = scopeKey;
        record.Priority = request.Priority ?? 0;
        var condition = request.Condition is { } c && !c.ToCondition().IsEmpty ? c : null;
        record.ConditionJson = condition is null ? null : JsonSerializer.Serialize(condition, PolicyModel.Json);

        var model = await PolicyModel.LoadAsync(db, cancellationToken);
        var assignments = model.Assignments.Where(a => a.Id != record.Id).Append(PolicyModel.ToAssignment(record)).ToList();
        if (PolicyConflicts.Find(assignments, model.Profiles) is { Count: > 0 } conflicts)
        {
            throw new ConflictException(string.Join(" ", conflicts));
        }

        if (isNew)
        {
            db.PolicyAssignments.Add(record);
        }

        audit.Record(db, isNew ? "assignment.create" : "assignment.update", "assignment", record.Id.ToString(),
            $"{record.Level} {record.ScopeKey} profile {record.ProfileId} priority {record.Priority} {record.ConditionJson}", targetSchool);
        await db.SaveChangesAsync(cancellationToken);
    }

    private static Task<bool> ScopeExistsAsync(HomeroomDbContext db, ScopeLevel level, Guid id, CancellationToken cancellationToken) => level switch
    {
        ScopeLevel.School => db.Schools.AnyAsync(s => s.Id == id, cancellationToken),
        ScopeLevel.Group => db.Groups.AnyAsync(g => g.Id == id, cancellationToken),
        ScopeLevel.Device => db.Devices.AnyAsync(d => d.Id == id, cancellationToken),
        _ => Task.FromResult(false),
    };

    /// <summary>The school an assignment's target belongs to (none for the district, a grade, or a group without a school).</summary>
    private static async Task<Guid?> SchoolOfAsync(HomeroomDbContext db, ScopeLevel level, string? scopeKey, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(scopeKey, out var id))
        {
            return null;
        }

        return level switch
        {
            ScopeLevel.School => id,
            ScopeLevel.Group => await db.Groups.Where(g => g.Id == id).Select(g => g.SchoolId).FirstOrDefaultAsync(cancellationToken),
            ScopeLevel.Device => await db.Devices.Where(d => d.Id == id).Select(d => d.SchoolId).FirstOrDefaultAsync(cancellationToken),
            _ => null,
        };
    }

    private static AssignmentDto ToDto(PolicyAssignmentRecord r, string profileName) => new(
        r.Id, r.ProfileId, profileName, r.Level, r.ScopeKey, r.Priority,
        r.ConditionJson is null ? null : JsonSerializer.Deserialize<ConditionDto>(r.ConditionJson, PolicyModel.Json), r.CreatedAt);
}
