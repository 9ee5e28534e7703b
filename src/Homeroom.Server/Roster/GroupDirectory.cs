using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Roster;

/// <summary>What a group list is filtered by: school, kind, a person who is a member, and a name containing the search text (any case).</summary>
/// <summary>Which groups a list shows; <paramref name="Archived"/> lists those a roster import or rollover archived instead of the active ones.</summary>
public sealed record GroupFilter(Guid? SchoolId = null, GroupKind? Kind = null, string? Search = null, Guid? PersonId = null, bool Archived = false);

/// <summary>
/// Groups (grades, classes, carts, spare pools) and their members, for the API and the console. Staff
/// reach the groups of their scope only; a group is placed in a school of their scope, a move is
/// checked against the old and the new school, and members (people and devices) must be within the
/// scope too. Membership decides policies, so every change asks for a policy pass.
/// </summary>
public sealed class GroupDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor policies, TimeProvider time)
{
    public const int MaxMembersPerRequest = 5000;

    public async Task<PagedResult<GroupDto>> ListAsync(StaffScope scope, GroupFilter filter, PageQuery paging, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = filter.Archived ? scope.Groups(db).Where(g => g.ArchivedAt != null) : scope.Groups(db).Where(g => g.ArchivedAt == null);
        if (filter.SchoolId is { } schoolId)
        {
            query = query.Where(g => g.SchoolId == schoolId);
        }

        if (filter.Kind is { } kind)
        {
            query = query.Where(g => g.Kind == kind);
        }

        if (filter.PersonId is { } personId)
        {
            query = query.Where(g => db.GroupMembers.Any(m => m.GroupId == g.Id && m.PersonId == personId));
        }

        if (filter.Search?.Trim() is { Length: > 0 } search)
        {
            var text = (search.Length > RosterLimits.MaxNameLength ? search[..RosterLimits.MaxNameLength] : search).ToLowerInvariant();
            query = query.Where(g => g.Name.ToLower().Contains(text));
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await Project(query.OrderBy(g => g.Name).ThenBy(g => g.Id).Skip(paging.Skip).Take(paging.Take), db).ToListAsync(cancellationToken);
        return new PagedResult<GroupDto>(await WithDeviceCountsAsync(db, items, cancellationToken), total);
    }

    public async Task<GroupDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var group = await Project(scope.Groups(db).Where(g => g.Id == id), db).FirstOrDefaultAsync(cancellationToken);
        return group is null ? null : (await WithDeviceCountsAsync(db, [group], cancellationToken))[0];
    }

    public async Task<GroupDto> CreateAsync(StaffScope scope, GroupRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRoster);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await ValidateAsync(db, request, cancellationToken);
        scope.EnsureIncludesSchool(request.SchoolId, "schoolId");
        await EnsureExternalIdFreeAsync(db, request.ExternalId, null, cancellationToken);
        await EnsureNameFreeAsync(db, request.SchoolId, request.Name!.Trim(), null, cancellationToken);
        var group = new Group
        {
            Id = Guid.CreateVersion7(),
            SchoolId = request.SchoolId,
            Kind = request.Kind!.Value,
            Name = request.Name!.Trim(),
            ExternalId = request.ExternalId,
            GradeLevel = request.GradeLevel,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.Groups.Add(group);
        audit.Record(db, "group.create", "group", group.Id.ToString(), group.Name, group.SchoolId);
        await SaveAsync(db, group.Name, cancellationToken);
        var schoolName = group.SchoolId is { } school ? await db.Schools.Where(s => s.Id == school).Select(s => s.Name).FirstOrDefaultAsync(cancellationToken) : null;
        return new GroupDto(group.Id, group.SchoolId, group.Kind, group.Name, group.ExternalId, group.GradeLevel, 0, 0, schoolName);
    }

    /// <summary>Changes a group of the scope; false when there is none.</summary>
    public async Task<bool> UpdateAsync(StaffScope scope, Guid id, GroupRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRoster);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await ValidateAsync(db, request, cancellationToken);
        if (!await scope.Groups(db).AnyAsync(g => g.Id == id, cancellationToken))
        {
            return false;
        }

        var group = await db.Groups.FirstAsync(g => g.Id == id, cancellationToken);
        if (request.SchoolId != group.SchoolId)
        {
            scope.EnsureIncludesSchool(group.SchoolId, "schoolId");
            scope.EnsureIncludesSchool(request.SchoolId, "schoolId");
        }

        await EnsureExternalIdFreeAsync(db, request.ExternalId, id, cancellationToken);
        await EnsureNameFreeAsync(db, request.SchoolId, request.Name!.Trim(), id, cancellationToken);
        var moved = request.SchoolId != group.SchoolId ? $"; school {group.SchoolId}->{request.SchoolId}" : "";
        var oldSchool = group.SchoolId;
        group.Name = request.Name!.Trim();
        group.Kind = request.Kind!.Value;
        group.SchoolId = request.SchoolId;
        group.ExternalId = request.ExternalId;
        group.GradeLevel = request.GradeLevel;
        audit.Record(db, "group.update", "group", id.ToString(), group.Name + moved, group.SchoolId);
        if (oldSchool != group.SchoolId)
        {
            audit.Record(db, "group.move-out", "group", id.ToString(), group.Name + moved, oldSchool);
        }

        await SaveAsync(db, group.Name, cancellationToken);
        policies.RequestAll();
        return true;
    }

    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRoster);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Groups(db).AnyAsync(g => g.Id == id, cancellationToken))
        {
            return false;
        }

        var group = await db.Groups.FirstAsync(g => g.Id == id, cancellationToken);
        db.Groups.Remove(group);
        audit.Record(db, "group.delete", "group", id.ToString(), group.Name, group.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        policies.RequestAll();
        return true;
    }

    /// <summary>Adds people and devices of the scope to a group of the scope; false when there is no such group.</summary>
    public async Task<bool> AddMembersAsync(StaffScope scope, Guid id, GroupMembersRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRoster);
        ValidateMembers(request);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var group = await scope.Groups(db).FirstOrDefaultAsync(g => g.Id == id, cancellationToken);
        if (group is null)
        {
            return false;
        }

        var personIds = (request.PersonIds ?? []).Distinct().ToList();
        var deviceIds = (request.DeviceIds ?? []).Distinct().ToList();
        var knownPeople = await scope.People(db).Where(p => personIds.Contains(p.Id)).Select(p => p.Id).ToListAsync(cancellationToken);
        var knownDevices = await scope.Devices(db).Where(d => deviceIds.Contains(d.Id)).Select(d => d.Id).ToListAsync(cancellationToken);
        var validation = new Validation()
            .Check(knownPeople.Count == personIds.Count, "personIds", "Some people do not exist in your scope.")
            .Check(knownDevices.Count == deviceIds.Count, "deviceIds", "Some devices do not exist in your scope.");
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var existingPeople = await db.GroupMembers.Where(m => m.GroupId == id && personIds.Contains(m.PersonId)).Select(m => m.PersonId).ToListAsync(cancellationToken);
        var existingDevices = await db.GroupDevices.Where(m => m.GroupId == id && deviceIds.Contains(m.DeviceId)).Select(m => m.DeviceId).ToListAsync(cancellationToken);
        db.GroupMembers.AddRange(personIds.Except(existingPeople).Select(p => new GroupMember { GroupId = id, PersonId = p }));
        db.GroupDevices.AddRange(deviceIds.Except(existingDevices).Select(d => new GroupDevice { GroupId = id, DeviceId = d }));
        audit.Record(db, "group.members.add", "group", id.ToString(), $"{personIds.Count} people, {deviceIds.Count} devices", group.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        policies.RequestAll();
        return true;
    }

    /// <summary>Removes people and devices from a group of the scope; false when there is no such group.</summary>
    public async Task<bool> RemoveMembersAsync(StaffScope scope, Guid id, GroupMembersRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRoster);
        ValidateMembers(request);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var group = await scope.Groups(db).FirstOrDefaultAsync(g => g.Id == id, cancellationToken);
        if (group is null)
        {
            return false;
        }

        var personIds = request.PersonIds ?? [];
        var deviceIds = request.DeviceIds ?? [];
        var strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            await db.GroupMembers.Where(m => m.GroupId == id && personIds.Contains(m.PersonId)).ExecuteDeleteAsync(cancellationToken);
            await db.GroupDevices.Where(m => m.GroupId == id && deviceIds.Contains(m.DeviceId)).ExecuteDeleteAsync(cancellationToken);
            audit.Record(db, "group.members.remove", "group", id.ToString(), $"{personIds.Count} people, {deviceIds.Count} devices", group.SchoolId);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });
        policies.RequestAll();
        return true;
    }

    /// <summary>The people of a group of the scope, by name; null when there is no such group.</summary>
    public async Task<PagedResult<PersonDto>?> ListPeopleAsync(StaffScope scope, Guid id, PageQuery paging, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Groups(db).AnyAsync(g => g.Id == id, cancellationToken))
        {
            return null;
        }

        var query = scope.People(db).Where(p => db.GroupMembers.Any(m => m.GroupId == id && m.PersonId == p.Id));
        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderBy(p => p.FamilyName).ThenBy(p => p.GivenName).ThenBy(p => p.Id).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return new PagedResult<PersonDto>(items.Select(PersonDto.From).ToList(), total);
    }

    // The device count is filled in afterwards (WithDeviceCountsAsync): a group's devices are its own and its members'.
    private static IQueryable<GroupDto> Project(IQueryable<Group> groups, HomeroomDbContext db) =>
        groups.Select(g => new GroupDto(g.Id, g.SchoolId, g.Kind, g.Name, g.ExternalId, g.GradeLevel,
            db.GroupMembers.Count(m => m.GroupId == g.Id), 0, db.Schools.Where(s => s.Id == g.SchoolId).Select(s => s.Name).FirstOrDefault(), g.ArchivedAt));

    /// <summary>
    /// Each group's devices in the sense of <see cref="DeviceQueries.InGroup"/> (devices placed in the group
    /// and devices assigned to its people), each device counted once, in one query for the whole page.
    /// </summary>
    private static async Task<IReadOnlyList<GroupDto>> WithDeviceCountsAsync(HomeroomDbContext db, List<GroupDto> groups, CancellationToken cancellationToken)
    {
        if (groups.Count == 0)
        {
            return groups;
        }

        var ids = groups.Select(g => g.Id).ToList();
        var direct = db.GroupDevices.Where(m => ids.Contains(m.GroupId)).Select(m => new { m.GroupId, m.DeviceId });
        var throughPeople = db.GroupMembers.Where(m => ids.Contains(m.GroupId))
            .Join(db.Devices.Where(d => d.CompanionOf == null), m => (Guid?)m.PersonId, d => d.AssignedPersonId, (m, d) => new { m.GroupId, DeviceId = d.Id });
        var counts = await direct.Union(throughPeople).GroupBy(x => x.GroupId).Select(x => new { x.Key, Count = x.Count() })
            .ToDictionaryAsync(x => x.Key, x => x.Count, cancellationToken);
        return groups.Select(g => g with { DeviceCount = counts.GetValueOrDefault(g.Id) }).ToList();
    }

    /// <summary>Saves; a name taken meanwhile by another request (the unique index) is the same clear conflict as one found before.</summary>
    private static async Task SaveAsync(HomeroomDbContext db, string name, CancellationToken cancellationToken)
    {
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (DatabaseErrors.IsUniqueViolation(ex))
        {
            throw new ConflictException($"A group named '{name}' (or with that external id) exists in this school; choose another name.");
        }
    }

    /// <summary>Group names are unique within a school (and among district groups), in any case: staff pick groups by name.</summary>
    private static async Task EnsureNameFreeAsync(HomeroomDbContext db, Guid? schoolId, string name, Guid? self, CancellationToken cancellationToken)
    {
        var lower = name.ToLowerInvariant();
        if (await db.Groups.AnyAsync(g => g.SchoolId == schoolId && g.Name.ToLower() == lower && g.Id != self, cancellationToken))
        {
            throw new ConflictException($"A group named '{name}' exists in this school; choose another name.");
        }
    }

    private static async Task ValidateAsync(HomeroomDbContext db, GroupRequest request, CancellationToken cancellationToken)
    {
        var validation = new Validation()
            .Required("name", request.Name, RosterLimits.MaxNameLength)
            .Optional("externalId", request.ExternalId, RosterLimits.MaxNameLength)
            .Range("gradeLevel", request.GradeLevel, -1, 13)
            .Check(request.Kind is { } kind && Enum.IsDefined(kind), "kind", "Required: grade, class, cart, sparePool or custom.");
        if (request.SchoolId is { } schoolId && !await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }
    }

    private static void ValidateMembers(GroupMembersRequest request)
    {
        var count = (request.PersonIds?.Count ?? 0) + (request.DeviceIds?.Count ?? 0);
        var error = count switch
        {
            0 => "Give personIds, deviceIds or both.",
            > MaxMembersPerRequest => $"At most {MaxMembersPerRequest} ids per request.",
            _ => null,
        };
        if (error is not null)
        {
            throw new RequestValidationException(new() { ["personIds"] = [error] });
        }
    }

    private static async Task EnsureExternalIdFreeAsync(HomeroomDbContext db, string? externalId, Guid? self, CancellationToken cancellationToken)
    {
        if (externalId is not null && await db.Groups.AnyAsync(g => g.ExternalId == externalId && g.Id != self, cancellationToken))
        {
            throw new ConflictException($"A group with external id '{externalId}' exists.");
        }
    }
}
