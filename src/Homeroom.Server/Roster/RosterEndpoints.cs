using System.Security.Claims;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Roster;

/// <summary>Schools, groups (grades, classes, carts, spare pools) and people.</summary>
public static class RosterEndpoints
{
    public const int MaxNameLength = 200;
    public const int MaxMembersPerRequest = 5000;

    public static IEndpointRouteBuilder MapRosterEndpoints(this IEndpointRouteBuilder app)
    {
        var schools = app.MapGroup("/api/schools").WithTags("Schools");
        schools.MapGet("/", ListSchoolsAsync);
        schools.MapGet("/{id:guid}", GetSchoolAsync);
        schools.MapPost("/", CreateSchoolAsync);
        schools.MapPut("/{id:guid}", UpdateSchoolAsync);
        schools.MapDelete("/{id:guid}", DeleteSchoolAsync);

        var groups = app.MapGroup("/api/groups").WithTags("Groups");
        groups.MapGet("/", ListGroupsAsync);
        groups.MapGet("/{id:guid}", GetGroupAsync);
        groups.MapPost("/", CreateGroupAsync);
        groups.MapPut("/{id:guid}", UpdateGroupAsync);
        groups.MapDelete("/{id:guid}", DeleteGroupAsync);
        groups.MapPost("/{id:guid}/members", AddMembersAsync);
        groups.MapPost("/{id:guid}/members/remove", RemoveMembersAsync);
        groups.MapGet("/{id:guid}/people", ListGroupPeopleAsync);

        var people = app.MapGroup("/api/people").WithTags("People");
        people.MapGet("/", ListPeopleAsync);
        people.MapGet("/{id:guid}", GetPersonAsync);
        people.MapPost("/", CreatePersonAsync);
        people.MapPut("/{id:guid}", UpdatePersonAsync);
        people.MapDelete("/{id:guid}", DeletePersonAsync);
        return app;
    }

    // Schools

    private static async Task<Results<Ok<PagedResult<SchoolDto>>, ValidationProblem>> ListSchoolsAsync(
        HomeroomDbContext db, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var total = await db.Schools.CountAsync(cancellationToken);
        var items = await db.Schools.AsNoTracking().OrderBy(s => s.Name).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<SchoolDto>(items.Select(SchoolDto.From).ToList(), total));
    }

    private static async Task<Results<Ok<SchoolDto>, NotFound>> GetSchoolAsync(Guid id, HomeroomDbContext db, CancellationToken cancellationToken) =>
        await db.Schools.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, cancellationToken) is { } school
            ? TypedResults.Ok(SchoolDto.From(school))
            : TypedResults.NotFound();

    private static Validation ValidateSchool(SchoolRequest request) => new Validation()
        .Required("name", request.Name, MaxNameLength)
        .Optional("code", request.Code, 32)
        .TimeZone("timeZone", request.TimeZone);

    private static async Task<Results<Created<SchoolDto>, ValidationProblem, Conflict<string>>> CreateSchoolAsync(
        SchoolRequest request, HomeroomDbContext db, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var validation = ValidateSchool(request);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var school = new School
        {
            Id = Guid.CreateVersion7(),
            Name = request.Name!.Trim(),
            Code = request.Code,
            TimeZone = request.TimeZone ?? "UTC",
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        if (school.Code is not null && await db.Schools.AnyAsync(s => s.Code == school.Code, cancellationToken))
        {
            throw new ConflictException($"A school with code '{school.Code}' exists.");
        }

        db.Schools.Add(school);
        audit.Record(db, "school.create", "school", school.Id.ToString(), school.Name);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/schools/{school.Id}", SchoolDto.From(school));
    }

    private static async Task<Results<Ok<SchoolDto>, NotFound, ValidationProblem>> UpdateSchoolAsync(
        Guid id, SchoolRequest request, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        var validation = ValidateSchool(request);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var school = await db.Schools.FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (school is null)
        {
            return TypedResults.NotFound();
        }

        school.Name = request.Name!.Trim();
        school.Code = request.Code;
        school.TimeZone = request.TimeZone ?? school.TimeZone;
        audit.Record(db, "school.update", "school", id.ToString(), school.Name);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(SchoolDto.From(school));
    }

    private static async Task<Results<NoContent, NotFound>> DeleteSchoolAsync(Guid id, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        var school = await db.Schools.FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (school is null)
        {
            return TypedResults.NotFound();
        }

        if (await db.Devices.AnyAsync(d => d.SchoolId == id, cancellationToken))
        {
            throw new ConflictException("The school still has devices; move or retire them first.");
        }

        db.Schools.Remove(school);
        audit.Record(db, "school.delete", "school", id.ToString(), school.Name);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    // Groups

    private static async Task<Results<Ok<PagedResult<GroupDto>>, ValidationProblem>> ListGroupsAsync(
        ClaimsPrincipal user, HomeroomDbContext db, [AsParameters] PageQuery paging, Guid? schoolId, string? kind, string? q, CancellationToken cancellationToken)
    {
        var errors = paging.Validate() ?? [];
        if (!QueryEnum.TryParse<GroupKind>(kind, "kind", errors, out var kindFilter) || errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (q is { Length: > MaxNameLength })
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["q"] = ["Too long."] });
        }

        var query = StaffScope.Of(user).Groups(db);
        if (schoolId is not null)
        {
            query = query.Where(g => g.SchoolId == schoolId);
        }

        if (kindFilter is { } groupKind)
        {
            query = query.Where(g => g.Kind == groupKind);
        }

        if (!string.IsNullOrWhiteSpace(q))
        {
            query = query.Where(g => g.Name.Contains(q));
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderBy(g => g.Name).Skip(paging.Skip).Take(paging.Take)
            .Select(g => new GroupDto(g.Id, g.SchoolId, g.Kind, g.Name, g.ExternalId, g.GradeLevel,
                db.GroupMembers.Count(m => m.GroupId == g.Id), db.GroupDevices.Count(m => m.GroupId == g.Id)))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<GroupDto>(items, total));
    }

    private static async Task<Results<Ok<GroupDto>, NotFound>> GetGroupAsync(Guid id, ClaimsPrincipal user, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var group = await StaffScope.Of(user).Groups(db).Where(g => g.Id == id)
            .Select(g => new GroupDto(g.Id, g.SchoolId, g.Kind, g.Name, g.ExternalId, g.GradeLevel,
                db.GroupMembers.Count(m => m.GroupId == g.Id), db.GroupDevices.Count(m => m.GroupId == g.Id)))
            .FirstOrDefaultAsync(cancellationToken);
        return group is null ? TypedResults.NotFound() : TypedResults.Ok(group);
    }

    private static async Task<Validation> ValidateGroupAsync(GroupRequest request, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation()
            .Required("name", request.Name, MaxNameLength)
            .Optional("externalId", request.ExternalId, MaxNameLength)
            .Range("gradeLevel", request.GradeLevel, -1, 13)
            .Check(request.Kind is not null, "kind", "Required: grade, class, cart, sparePool or custom.");
        if (request.SchoolId is { } schoolId && !await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }

        return validation;
    }

    private static async Task<Results<Created<GroupDto>, ValidationProblem>> CreateGroupAsync(
        GroupRequest request, HomeroomDbContext db, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var validation = await ValidateGroupAsync(request, db, cancellationToken);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        if (request.ExternalId is not null && await db.Groups.AnyAsync(g => g.ExternalId == request.ExternalId, cancellationToken))
        {
            throw new ConflictException($"A group with external id '{request.ExternalId}' exists.");
        }

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
        audit.Record(db, "group.create", "group", group.Id.ToString(), group.Name);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/groups/{group.Id}", new GroupDto(group.Id, group.SchoolId, group.Kind, group.Name, group.ExternalId, group.GradeLevel, 0, 0));
    }

    private static async Task<Results<NoContent, NotFound, ValidationProblem>> UpdateGroupAsync(
        Guid id, GroupRequest request, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        var validation = await ValidateGroupAsync(request, db, cancellationToken);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var group = await db.Groups.FirstOrDefaultAsync(g => g.Id == id, cancellationToken);
        if (group is null)
        {
            return TypedResults.NotFound();
        }

        group.Name = request.Name!.Trim();
        group.Kind = request.Kind!.Value;
        group.SchoolId = request.SchoolId;
        group.ExternalId = request.ExternalId;
        group.GradeLevel = request.GradeLevel;
        audit.Record(db, "group.update", "group", id.ToString(), group.Name);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, NotFound>> DeleteGroupAsync(Guid id, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        var group = await db.Groups.FirstOrDefaultAsync(g => g.Id == id, cancellationToken);
        if (group is null)
        {
            return TypedResults.NotFound();
        }

        db.Groups.Remove(group);
        audit.Record(db, "group.delete", "group", id.ToString(), group.Name);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, NotFound, ValidationProblem>> AddMembersAsync(
        Guid id, GroupMembersRequest request, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        if (ValidateMembers(request) is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (!await db.Groups.AnyAsync(g => g.Id == id, cancellationToken))
        {
            return TypedResults.NotFound();
        }

        var personIds = (request.PersonIds ?? []).Distinct().ToList();
        var deviceIds = (request.DeviceIds ?? []).Distinct().ToList();
        var knownPeople = await db.People.Where(p => personIds.Contains(p.Id)).Select(p => p.Id).ToListAsync(cancellationToken);
        var knownDevices = await db.Devices.Where(d => deviceIds.Contains(d.Id)).Select(d => d.Id).ToListAsync(cancellationToken);
        var validation = new Validation()
            .Check(knownPeople.Count == personIds.Count, "personIds", "Some people do not exist.")
            .Check(knownDevices.Count == deviceIds.Count, "deviceIds", "Some devices do not exist.");
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var existingPeople = await db.GroupMembers.Where(m => m.GroupId == id && personIds.Contains(m.PersonId)).Select(m => m.PersonId).ToListAsync(cancellationToken);
        var existingDevices = await db.GroupDevices.Where(m => m.GroupId == id && deviceIds.Contains(m.DeviceId)).Select(m => m.DeviceId).ToListAsync(cancellationToken);
        db.GroupMembers.AddRange(personIds.Except(existingPeople).Select(p => new GroupMember { GroupId = id, PersonId = p }));
        db.GroupDevices.AddRange(deviceIds.Except(existingDevices).Select(d => new GroupDevice { GroupId = id, DeviceId = d }));
        audit.Record(db, "group.members.add", "group", id.ToString(), $"{personIds.Count} people, {deviceIds.Count} devices");
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<NoContent, NotFound, ValidationProblem>> RemoveMembersAsync(
        Guid id, GroupMembersRequest request, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        if (ValidateMembers(request) is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (!await db.Groups.AnyAsync(g => g.Id == id, cancellationToken))
        {
            return TypedResults.NotFound();
        }

        var personIds = request.PersonIds ?? [];
        var deviceIds = request.DeviceIds ?? [];
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.GroupMembers.Where(m => m.GroupId == id && personIds.Contains(m.PersonId)).ExecuteDeleteAsync(cancellationToken);
        await db.GroupDevices.Where(m => m.GroupId == id && deviceIds.Contains(m.DeviceId)).ExecuteDeleteAsync(cancellationToken);
        audit.Record(db, "group.members.remove", "group", id.ToString(), $"{personIds.Count} people, {deviceIds.Count} devices");
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    private static Dictionary<string, string[]>? ValidateMembers(GroupMembersRequest request)
    {
        var count = (request.PersonIds?.Count ?? 0) + (request.DeviceIds?.Count ?? 0);
        return count switch
        {
            0 => new() { ["personIds"] = ["Give personIds, deviceIds or both."] },
            > MaxMembersPerRequest => new() { ["personIds"] = [$"At most {MaxMembersPerRequest} ids per request."] },
            _ => null,
        };
    }

    private static async Task<Results<Ok<PagedResult<PersonDto>>, NotFound, ValidationProblem>> ListGroupPeopleAsync(
        Guid id, ClaimsPrincipal user, HomeroomDbContext db, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (!await StaffScope.Of(user).Groups(db).AnyAsync(g => g.Id == id, cancellationToken))
        {
            return TypedResults.NotFound();
        }

        var query = db.People.AsNoTracking().Where(p => db.GroupMembers.Any(m => m.GroupId == id && m.PersonId == p.Id));
        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderBy(p => p.FamilyName).ThenBy(p => p.GivenName).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<PersonDto>(items.Select(PersonDto.From).ToList(), total));
    }

    // People

    private static async Task<Results<Ok<PagedResult<PersonDto>>, ValidationProblem>> ListPeopleAsync(
        ClaimsPrincipal user, HomeroomDbContext db, [AsParameters] PageQuery paging, Guid? schoolId, string? kind, string? q, CancellationToken cancellationToken)
    {
        var errors = paging.Validate() ?? [];
        if (!QueryEnum.TryParse<PersonKind>(kind, "kind", errors, out var kindFilter) || errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (q is { Length: > MaxNameLength })
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["q"] = ["Too long."] });
        }

        var query = StaffScope.Of(user).People(db);
        if (schoolId is not null)
        {
            query = query.Where(p => p.SchoolId == schoolId);
        }

        if (kindFilter is { } personKind)
        {
            query = query.Where(p => p.Kind == personKind);
        }

        if (!string.IsNullOrWhiteSpace(q))
        {
            query = query.Where(p => p.GivenName.Contains(q) || p.FamilyName.Contains(q) || (p.Email != null && p.Email.Contains(q)) || p.ExternalId == q);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await query.OrderBy(p => p.FamilyName).ThenBy(p => p.GivenName).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<PersonDto>(items.Select(PersonDto.From).ToList(), total));
    }

    private static async Task<Results<Ok<PersonDto>, NotFound>> GetPersonAsync(Guid id, ClaimsPrincipal user, HomeroomDbContext db, CancellationToken cancellationToken) =>
        await StaffScope.Of(user).People(db).FirstOrDefaultAsync(p => p.Id == id, cancellationToken) is { } person
            ? TypedResults.Ok(PersonDto.From(person))
            : TypedResults.NotFound();

    private static async Task<Validation> ValidatePersonAsync(PersonRequest request, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation()
            .Required("givenName", request.GivenName, MaxNameLength)
            .Required("familyName", request.FamilyName, MaxNameLength)
            .Optional("email", request.Email, 320)
            .Optional("externalId", request.ExternalId, MaxNameLength)
            .Range("gradeLevel", request.GradeLevel, -1, 13)
            .Check(request.Kind is not null, "kind", "Required: student or staff.");
        if (request.SchoolId is { } schoolId && !await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }

        return validation;
    }

    private static async Task<Results<Created<PersonDto>, ValidationProblem>> CreatePersonAsync(
        PersonRequest request, HomeroomDbContext db, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var validation = await ValidatePersonAsync(request, db, cancellationToken);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        if (request.ExternalId is not null && await db.People.AnyAsync(p => p.ExternalId == request.ExternalId, cancellationToken))
        {
            throw new ConflictException($"A person with external id '{request.ExternalId}' exists.");
        }

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
        audit.Record(db, "person.create", "person", person.Id.ToString());
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/people/{person.Id}", PersonDto.From(person));
    }

    private static async Task<Results<Ok<PersonDto>, NotFound, ValidationProblem>> UpdatePersonAsync(
        Guid id, PersonRequest request, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        var validation = await ValidatePersonAsync(request, db, cancellationToken);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var person = await db.People.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (person is null)
        {
            return TypedResults.NotFound();
        }

        person.SchoolId = request.SchoolId;
        person.Kind = request.Kind!.Value;
        person.ExternalId = request.ExternalId;
        person.GivenName = request.GivenName!.Trim();
        person.FamilyName = request.FamilyName!.Trim();
        person.Email = request.Email;
        person.GradeLevel = request.GradeLevel;
        audit.Record(db, "person.update", "person", id.ToString());
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(PersonDto.From(person));
    }

    private static async Task<Results<NoContent, NotFound>> DeletePersonAsync(Guid id, HomeroomDbContext db, AuditTrail audit, CancellationToken cancellationToken)
    {
        var person = await db.People.FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (person is null)
        {
            return TypedResults.NotFound();
        }

        db.People.Remove(person);
        audit.Record(db, "person.delete", "person", id.ToString());
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.NoContent();
    }
}
