using System.Globalization;
using System.Text.Json;
using Homeroom.Rules.Policies;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
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

/// <summary>An assignment; <c>ScopeName</c> is the target's name (school, group or device) when it is within your scope, the grade's label, or "District".</summary>
public sealed record AssignmentDto(Guid Id, Guid ProfileId, string ProfileName, ScopeLevel Level, string? ScopeId, int Priority, ConditionDto? Condition, DateTime CreatedAt, string? ScopeName = null);

/// <summary>An assignment as it would be saved, to preview before saving; <c>AssignmentId</c> is the assignment being changed, none for a new one.</summary>
public sealed record AssignmentPreviewRequest(Guid? AssignmentId, Guid? ProfileId, ScopeLevel? Level, string? ScopeId, int? Priority, ConditionDto? Condition)
{
    public AssignmentRequest ToRequest() => new(ProfileId, Level, ScopeId, Priority, Condition);
}

public sealed record DeviceRefDto(Guid Id, string Name);

public sealed record AssignmentFindingDto(FindingKind Kind, string? Setting, Guid OtherAssignmentId, string OtherProfileName, int Devices, string Message);

/// <summary>What saving an assignment would do.</summary>
/// <param name="DeviceCount">Devices it reaches (conditions aside: a schedule or zone limits when, not which).</param>
/// <param name="Devices">The first of them by name, within your scope.</param>
/// <param name="Refused">Saving would be refused (409): a finding of kind "refused".</param>
/// <param name="Findings">Conflicts and overrides, each naming the setting and the other assignment's profile.</param>
public sealed record AssignmentPreviewDto(int DeviceCount, IReadOnlyList<DeviceRefDto> Devices, bool Refused, IReadOnlyList<AssignmentFindingDto> Findings);

/// <summary>Something an assignment may target, as a picker shows it.</summary>
public sealed record AssignmentTargetDto(string Id, string Name);

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
        var targets = await TargetNamesAsync(scope, db, rows, cancellationToken);
        return rows.Select(r => ToDto(r, names.GetValueOrDefault(r.ProfileId, "?")) with { ScopeName = TargetName(r.Level, r.ScopeKey, targets) }).ToList();
    }

    /// <summary>The longest list a target picker shows.</summary>
    public const int MaxTargets = 200;

    /// <summary>Devices a preview names.</summary>
    public const int PreviewDevices = 20;

    /// <summary>
    /// What the scope may assign to at a level, with names, for pickers: district-wide staff every
    /// school, group and device; a school's administrators their school, its groups and its devices;
    /// district and grade targets only district-wide. At most <see cref="MaxTargets"/>, matching the search.
    /// </summary>
    public async Task<IReadOnlyList<AssignmentTargetDto>> TargetsAsync(StaffScope scope, ScopeLevel level, string? search, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        var text = string.IsNullOrWhiteSpace(search) ? null : search.Trim();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        switch (level)
        {
            case ScopeLevel.District:
                return scope.IsDistrictWide ? [new AssignmentTargetDto("", "District")] : [];
            case ScopeLevel.Grade:
                return scope.IsDistrictWide
                    ? Enumerable.Range(-1, 15).Select(g => new AssignmentTargetDto(g.ToString(CultureInfo.InvariantCulture), GradeName(g))).ToList()
                    : [];
            case ScopeLevel.School:
                var schools = scope.Schools(db).Where(s => scope.IsDistrictWide || s.Id == scope.SchoolId);
                if (text is not null)
                {
                    schools = schools.Where(s => s.Name.ToLower().Contains(text.ToLower()));
                }

                return (await schools.OrderBy(s => s.Name).Take(MaxTargets).Select(s => new { s.Id, s.Name }).ToListAsync(cancellationToken))
                    .Select(s => new AssignmentTargetDto(s.Id.ToString(), s.Name)).ToList();
            case ScopeLevel.Group:
                if (scope.Role == StaffRole.Teacher)
                {
                    return [];
                }

                var groups = from g in scope.Groups(db)
                             join school in db.Schools on g.SchoolId equals school.Id into schoolOf
                             from school in schoolOf.DefaultIfEmpty()
                             select new { g.Id, g.Name, School = school == null ? null : school.Name };
                if (text is not null)
                {
                    groups = groups.Where(g => g.Name.ToLower().Contains(text.ToLower()));
                }

                return (await groups.OrderBy(g => g.Name).ThenBy(g => g.School).Take(MaxTargets).ToListAsync(cancellationToken))
                    .Select(g => new AssignmentTargetDto(g.Id.ToString(), g.School is null ? g.Name : $"{g.Name} ({g.School})")).ToList();
            case ScopeLevel.Device:
                if (scope.Role == StaffRole.Teacher)
                {
                    return [];
                }

                var devices = scope.Devices(db).Where(d => d.RevokedAt == null);
                if (text is not null)
                {
                    var lower = text.ToLower();
                    devices = devices.Where(d => d.Name.ToLower().Contains(lower) || d.Serial.ToLower().Contains(lower)
                        || (d.AssignedPersonId != null && db.People.Any(p => p.Id == d.AssignedPersonId && (p.GivenName + " " + p.FamilyName).ToLower().Contains(lower))));
                }

                return (await devices.OrderBy(d => d.Name).Take(MaxTargets).Select(d => new { d.Id, d.Name, d.Serial }).ToListAsync(cancellationToken))
                    .Select(d => new AssignmentTargetDto(d.Id.ToString(), $"{d.Name} ({d.Serial})")).ToList();
            default:
                return [];
        }
    }

    /// <summary>
    /// What saving the assignment would do, without saving: how many and which devices it reaches, and
    /// the conflicts (saving refused) and overrides it meets (<see cref="PolicyConflicts.Review"/>).
    /// Invalid input and targets outside the scope are refused exactly as saving refuses them.
    /// </summary>
    public async Task<AssignmentPreviewDto> PreviewAsync(StaffScope scope, AssignmentPreviewRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var record = new PolicyAssignmentRecord { Id = Guid.CreateVersion7() };
        if (request.AssignmentId is { } existingId)
        {
            var existing = await db.PolicyAssignments.AsNoTracking().FirstOrDefaultAsync(a => a.Id == existingId, cancellationToken);
            if (existing is null || !await scope.MayAssignAsync(db, existing.Level, existing.ScopeKey, cancellationToken))
            {
                throw new RequestValidationException(new() { ["assignmentId"] = ["No such assignment (or not yours to change)."] });
            }

            record.Id = existing.Id;
        }

        await PrepareAsync(scope, db, record, request.ToRequest(), cancellationToken);
        var candidate = PolicyModel.ToAssignment(record);
        var model = await PolicyModel.LoadAsync(db, cancellationToken);
        var others = model.Assignments.Where(a => a.Id != record.Id).ToList();

        var reachedIds = await Reached(db.Devices.AsNoTracking(), db, record.Level, record.ScopeKey).Select(d => d.Id).ToListAsync(cancellationToken);
        var scopes = record.Level == ScopeLevel.District
            ? await DeviceScopes.LoadAsync(db, null, _ => [], cancellationToken)
            : await DeviceScopes.LoadAsync(db, reachedIds, _ => [], cancellationToken);
        var reached = scopes.Select(s => s.Scope).Where(s => PolicyResolver.Reaches(candidate, s)).ToList();
        var names = await Reached(scope.Devices(db), db, record.Level, record.ScopeKey)
            .OrderBy(d => d.Name).ThenBy(d => d.Id).Take(PreviewDevices)
            .Select(d => new DeviceRefDto(d.Id, d.Name)).ToListAsync(cancellationToken);

        var findings = PolicyConflicts.Review(candidate, others, model.Profiles, reached)
            .Select(f => new AssignmentFindingDto(f.Kind, f.Setting, f.OtherAssignmentId, f.OtherProfileName, f.Devices, f.Message))
            .ToList();
        return new AssignmentPreviewDto(reached.Count, names, findings.Any(f => f.Kind == FindingKind.Refused), findings);
    }

    // The active devices an assignment's target takes in, in the resolver's sense (DeviceScopes, PolicyResolver.Reaches).
    private static IQueryable<Devices.Device> Reached(IQueryable<Device> devices, HomeroomDbContext db, ScopeLevel level, string? scopeKey)
    {
        devices = devices.Where(d => d.RevokedAt == null);
        var id = Guid.TryParse(scopeKey, out var parsed) ? parsed : Guid.Empty;
        return level switch
        {
            ScopeLevel.District => devices,
            ScopeLevel.School => devices.Where(d => d.SchoolId == id),
            ScopeLevel.Grade when int.TryParse(scopeKey, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var grade) =>
                devices.Where(d => d.AssignedPersonId != null && db.People.Any(p => p.Id == d.AssignedPersonId && p.GradeLevel == grade)),
            ScopeLevel.Group => devices.InGroup(db, id),
            ScopeLevel.Device => devices.Where(d => d.Id == id),
            _ => devices.Where(_ => false),
        };
    }

    internal static string GradeName(int grade) => grade switch
    {
        -1 => "Pre-K",
        0 => "Kindergarten",
        _ => $"Grade {grade.ToString(CultureInfo.InvariantCulture)}",
    };

    // Names of the schools, groups and devices the rows target, as far as the scope reaches them.
    private static async Task<Dictionary<Guid, string>> TargetNamesAsync(StaffScope scope, HomeroomDbContext db, List<PolicyAssignmentRecord> rows, CancellationToken cancellationToken)
    {
        var ids = rows.Select(r => Guid.TryParse(r.ScopeKey, out var id) ? id : Guid.Empty).Where(id => id != Guid.Empty).Distinct().ToList();
        var names = new Dictionary<Guid, string>();
        if (ids.Count == 0)
        {
            return names;
        }

        foreach (var s in await scope.Schools(db).Where(s => ids.Contains(s.Id)).Select(s => new { s.Id, s.Name }).ToListAsync(cancellationToken))
        {
            names[s.Id] = s.Name;
        }

        if (scope.Can(Permission.ReadRoster))
        {
            foreach (var g in await scope.Groups(db).Where(g => ids.Contains(g.Id)).Select(g => new { g.Id, g.Name }).ToListAsync(cancellationToken))
            {
                names[g.Id] = g.Name;
            }
        }

        if (scope.Can(Permission.ReadDevices))
        {
            foreach (var d in await scope.Devices(db).Where(d => ids.Contains(d.Id)).Select(d => new { d.Id, d.Name }).ToListAsync(cancellationToken))
            {
                names[d.Id] = d.Name;
            }
        }

        return names;
    }

    private static string? TargetName(ScopeLevel level, string? scopeKey, Dictionary<Guid, string> names) => level switch
    {
        ScopeLevel.District => "District",
        ScopeLevel.Grade => int.TryParse(scopeKey, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var grade) ? GradeName(grade) : null,
        _ => Guid.TryParse(scopeKey, out var id) ? names.GetValueOrDefault(id) : null,
    };

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
        var targetSchool = await PrepareAsync(scope, db, record, request, cancellationToken);
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

    // Validates the request and the scope's right to the target, and fills the record (not saved); returns the target's school.
    private static async Task<Guid?> PrepareAsync(StaffScope scope, HomeroomDbContext db, PolicyAssignmentRecord record, AssignmentRequest request, CancellationToken cancellationToken)
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

        var scopeKey = await ScopeKeyAsync(db, request.Level, request.ScopeId, validation, cancellationToken);

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
        return targetSchool;
    }

    /// <summary>
    /// The key of an assignment's target (a grade's number, a school's, group's or device's id; null for the
    /// district), checked: the level is known, the district has no target id, the grade is in range, the
    /// school, group or device exists. Problems go to <paramref name="validation"/>. Profile and app
    /// assignments place their targets alike.
    /// </summary>
    internal static async Task<string?> ScopeKeyAsync(HomeroomDbContext db, ScopeLevel? level, string? scopeIdText, Validation validation, CancellationToken cancellationToken)
    {
        switch (level)
        {
            case null:
            case var unknown when !Enum.IsDefined(unknown.Value):
                validation.Add("level", "One of district, school, grade, group, device.");
                return null;
            case ScopeLevel.District:
                validation.Check(string.IsNullOrEmpty(scopeIdText), "scopeId", "A district assignment has no scopeId.");
                return null;
            case ScopeLevel.Grade:
                if (int.TryParse(scopeIdText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var grade) && grade is >= -1 and <= 13)
                {
                    return grade.ToString(CultureInfo.InvariantCulture);
                }

                validation.Add("scopeId", "A grade from -1 (pre-K) to 13.");
                return null;
            default:
                if (!Guid.TryParse(scopeIdText, out var scopeId) || !await ScopeExistsAsync(db, level.Value, scopeId, cancellationToken))
                {
                    validation.Add("scopeId", $"No such {level.Value.ToString().ToLowerInvariant()}.");
                    return null;
                }

                return scopeId.ToString();
        }
    }

    internal static Task<bool> ScopeExistsAsync(HomeroomDbContext db, ScopeLevel level, Guid id, CancellationToken cancellationToken) => level switch
    {
        ScopeLevel.School => db.Schools.AnyAsync(s => s.Id == id, cancellationToken),
        ScopeLevel.Group => db.Groups.AnyAsync(g => g.Id == id, cancellationToken),
        ScopeLevel.Device => db.Devices.AnyAsync(d => d.Id == id, cancellationToken),
        _ => Task.FromResult(false),
    };

    /// <summary>The school an assignment's target belongs to (none for the district, a grade, or a group without a school).</summary>
    internal static async Task<Guid?> SchoolOfAsync(HomeroomDbContext db, ScopeLevel level, string? scopeKey, CancellationToken cancellationToken)
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
