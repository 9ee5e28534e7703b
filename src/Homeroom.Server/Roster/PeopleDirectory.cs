using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Roster;

/// <summary>What a people list is filtered by.</summary>
/// <summary>Which people a list shows; <paramref name="Archived"/> lists those a roster import archived instead of the active ones.</summary>
public sealed record PersonFilter(Guid? SchoolId = null, PersonKind? Kind = null, string? Search = null, bool Archived = false);

/// <summary>A person in a list, with how many devices they are assigned and their school's name.</summary>
public sealed record PersonRowDto(
    Guid Id, Guid? SchoolId, PersonKind Kind, string? ExternalId, string GivenName, string FamilyName, string? Email, int? GradeLevel, int Devices, string? SchoolName = null,
    DateTime? ArchivedAt = null);

/// <summary>
/// Students and staff in the roster, for the API and the console. Staff reach the people of their
/// scope only; a person is placed in a school of their scope and a move is checked against both
/// schools. A person's grade and school decide policies, so changes ask for a policy pass.
/// </summary>
public sealed class PeopleDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor policies, TimeProvider time)
{
    public const int MaxEmailLength = 320;

    public async Task<PagedResult<PersonRowDto>> ListAsync(StaffScope scope, PersonFilter filter, PageQuery paging, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = filter.Archived ? scope.People(db).Where(p => p.ArchivedAt != null) : scope.People(db).Where(p => p.ArchivedAt == null);
        if (filter.SchoolId is { } schoolId)
        {
            query = query.Where(p => p.SchoolId == schoolId);
        }

        if (filter.Kind is { } kind)
        {
            query = query.Where(p => p.Kind == kind);
        }

        if (filter.Search?.Trim() is { Length: > 0 } search)
        {
            // Any case: "ada" finds Ada Lovelace. The full name matches too ("ada love").
            var q = search.Length > RosterLimits.MaxNameLength ? search[..RosterLimits.MaxNameLength] : search;
            var lower = q.ToLowerInvariant();
            query = query.Where(p => p.GivenName.ToLower().Contains(lower) || p.FamilyName.ToLower().Contains(lower)
                || (p.GivenName + " " + p.FamilyName).ToLower().Contains(lower)
                || (p.Email != null && p.Email.ToLower().Contains(lower)) || p.ExternalId == q);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderBy(p => p.FamilyName).ThenBy(p => p.GivenName).ThenBy(p => p.Id).Skip(paging.Skip).Take(paging.Take)
            .Select(p => new PersonRowDto(p.Id, p.SchoolId, p.Kind, p.ExternalId, p.GivenName, p.FamilyName, p.Email, p.GradeLevel, db.Devices.Count(d => d.AssignedPersonId == p.Id && d.CompanionOf == null),
                db.Schools.Where(s => s.Id == p.SchoolId).Select(s => s.Name).FirstOrDefault(), p.ArchivedAt))
            .ToListAsync(cancellationToken);
        return new PagedResult<PersonRowDto>(items, total);
    }

    public async Task<PersonDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.People(db).FirstOrDefaultAsync(p => p.Id == id, cancellationToken) is { } person ? PersonDto.From(person) : null;
    }

    public async Task<PersonDto> CreateAsync(StaffScope scope, PersonRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRoster);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await ValidateAsync(db, request, cancellationToken);
        scope.EnsureIncludesSchool(request.SchoolId, "schoolId");
        await EnsureExternalIdFreeAsync(db, request.ExternalId, null, cancellationToken);
        var person = new Person
        {
            Id = Guid.CreateVersion7(),
            SchoolId = request.SchoolId,
            Kind = request.Kind!.Value,
            ExternalId = request.ExternalId,
            GivenName = request.GivenName!.Trim(),
            FamilyName = request.FamilyName!.Trim(),
            Email = request.Email,
            GradeLevel = request.GradeLevel,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.People.Add(person);
        audit.Record(db, "person.create", "person", person.Id.ToString(), null, person.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return PersonDto.From(person);
    }

    /// <summary>Changes a person of the scope; null when there is none.</summary>
    public async Task<PersonDto?> UpdateAsync(StaffScope scope, Guid id, PersonRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRoster);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await ValidateAsync(db, request, cancellationToken);
        if (!await scope.People(db).AnyAsync(p => p.Id == id, cancellationToken))
        {
            return null;
        }

        var person = await db.People.FirstAsync(p => p.Id == id, cancellationToken);
        var oldSchool = person.SchoolId;
        if (request.SchoolId != oldSchool)
        {
            scope.EnsureIncludesSchool(oldSchool, "schoolId");
            scope.EnsureIncludesSchool(request.SchoolId, "schoolId");
        }

        await EnsureExternalIdFreeAsync(db, request.ExternalId, id, cancellationToken);
        person.SchoolId = request.SchoolId;
        person.Kind = request.Kind!.Value;
        person.ExternalId = request.ExternalId;
        person.GivenName = request.GivenName!.Trim();
        person.FamilyName = request.FamilyName!.Trim();
        person.Email = request.Email;
        person.GradeLevel = request.GradeLevel;
        audit.Record(db, "person.update", "person", id.ToString(), oldSchool != person.SchoolId ? $"school {oldSchool}->{person.SchoolId}" : null, person.SchoolId);
        if (oldSchool != person.SchoolId)
        {
            audit.Record(db, "person.move-out", "person", id.ToString(), $"school {oldSchool}->{person.SchoolId}", oldSchool);
        }

        await db.SaveChangesAsync(cancellationToken);
        policies.RequestAll();
        return PersonDto.From(person);
    }

    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRoster);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.People(db).AnyAsync(p => p.Id == id, cancellationToken))
        {
            return false;
        }

        var person = await db.People.FirstAsync(p => p.Id == id, cancellationToken);
        db.People.Remove(person);
        audit.Record(db, "person.delete", "person", id.ToString(), null, person.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        policies.RequestAll();
        return true;
    }

    private static async Task ValidateAsync(HomeroomDbContext db, PersonRequest request, CancellationToken cancellationToken)
    {
        var validation = new Validation()
            .Required("givenName", request.GivenName, RosterLimits.MaxNameLength)
            .Required("familyName", request.FamilyName, RosterLimits.MaxNameLength)
            .Optional("email", request.Email, MaxEmailLength)
            .Optional("externalId", request.ExternalId, RosterLimits.MaxNameLength)
            .Range("gradeLevel", request.GradeLevel, -1, 13)
            .Check(request.Kind is { } kind && Enum.IsDefined(kind), "kind", "Required: student or staff.");
        if (request.SchoolId is { } schoolId && !await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }
    }

    private static async Task EnsureExternalIdFreeAsync(HomeroomDbContext db, string? externalId, Guid? self, CancellationToken cancellationToken)
    {
        if (externalId is not null && await db.People.AnyAsync(p => p.ExternalId == externalId && p.Id != self, cancellationToken))
        {
            throw new ConflictException($"A person with external id '{externalId}' exists.");
        }
    }
}
