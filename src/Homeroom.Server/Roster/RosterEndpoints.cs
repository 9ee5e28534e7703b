using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Roster;

/// <summary>Limits of roster fields.</summary>
public static class RosterLimits
{
    public const int MaxNameLength = 200;
}

/// <summary>Schools, groups (grades, classes, carts, spare pools) and people over HTTP: thin calls into the directories.</summary>
public static class RosterEndpoints
{
    public static IEndpointRouteBuilder MapRosterEndpoints(this IEndpointRouteBuilder app)
    {
        var schools = app.MapGroup("/api/schools").WithTags("Schools");
        schools.MapGet("/", ListSchoolsAsync).RequireStaff(Permission.ReadRoster);
        schools.MapGet("/{id:guid}", GetSchoolAsync).RequireStaff(ScopedResource.School, Permission.ReadRoster);
        schools.MapPost("/", CreateSchoolAsync).RequireStaff(Permission.ManageSchools).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        schools.MapPut("/{id:guid}", UpdateSchoolAsync).RequireStaff(ScopedResource.School, Permission.ManageSchools).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        schools.MapDelete("/{id:guid}", DeleteSchoolAsync).RequireStaff(ScopedResource.School, Permission.ManageSchools).ProducesProblem(StatusCodes.Status409Conflict);

        var groups = app.MapGroup("/api/groups").WithTags("Groups");
        groups.MapGet("/", ListGroupsAsync).RequireStaff(Permission.ReadRoster);
        groups.MapGet("/{id:guid}", GetGroupAsync).RequireStaff(ScopedResource.Group, Permission.ReadRoster);
        groups.MapPost("/", CreateGroupAsync).RequireStaff(Permission.ManageRoster).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        groups.MapPut("/{id:guid}", UpdateGroupAsync).RequireStaff(ScopedResource.Group, Permission.ManageRoster).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        groups.MapDelete("/{id:guid}", DeleteGroupAsync).RequireStaff(ScopedResource.Group, Permission.ManageRoster);
        groups.MapPost("/{id:guid}/members", AddMembersAsync).RequireStaff(ScopedResource.Group, Permission.ManageRoster).ProducesValidationProblem();
        groups.MapPost("/{id:guid}/members/remove", RemoveMembersAsync).RequireStaff(ScopedResource.Group, Permission.ManageRoster).ProducesValidationProblem();
        groups.MapGet("/{id:guid}/people", ListGroupPeopleAsync).RequireStaff(ScopedResource.Group, Permission.ReadRoster);

        var people = app.MapGroup("/api/people").WithTags("People");
        people.MapGet("/", ListPeopleAsync).RequireStaff(Permission.ReadRoster);
        people.MapGet("/{id:guid}", GetPersonAsync).RequireStaff(ScopedResource.Person, Permission.ReadRoster);
        people.MapPost("/", CreatePersonAsync).RequireStaff(Permission.ManageRoster).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        people.MapPut("/{id:guid}", UpdatePersonAsync).RequireStaff(ScopedResource.Person, Permission.ManageRoster).ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        people.MapDelete("/{id:guid}", DeletePersonAsync).RequireStaff(ScopedResource.Person, Permission.ManageRoster);
        return app;
    }

    // Schools

    private static async Task<Results<Ok<PagedResult<SchoolDto>>, ValidationProblem>> ListSchoolsAsync(
        StaffScope scope, SchoolDirectory schools, [AsParameters] PageQuery paging, CancellationToken cancellationToken) =>
        paging.Validate() is { } errors ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await schools.ListAsync(scope, paging, cancellationToken));

    private static async Task<Results<Ok<SchoolDto>, NotFound>> GetSchoolAsync(Guid id, StaffScope scope, SchoolDirectory schools, CancellationToken cancellationToken) =>
        await schools.GetAsync(scope, id, cancellationToken) is { } school ? TypedResults.Ok(school) : TypedResults.NotFound();

    private static async Task<Created<SchoolDto>> CreateSchoolAsync(SchoolRequest request, StaffScope scope, SchoolDirectory schools, CancellationToken cancellationToken)
    {
        var school = await schools.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/schools/{school.Id}", school);
    }

    private static async Task<Results<Ok<SchoolDto>, NotFound>> UpdateSchoolAsync(Guid id, SchoolRequest request, StaffScope scope, SchoolDirectory schools, CancellationToken cancellationToken) =>
        await schools.UpdateAsync(scope, id, request, cancellationToken) is { } school ? TypedResults.Ok(school) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteSchoolAsync(Guid id, StaffScope scope, SchoolDirectory schools, CancellationToken cancellationToken) =>
        await schools.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    // Groups

    private static async Task<Results<Ok<PagedResult<GroupDto>>, ValidationProblem>> ListGroupsAsync(
        StaffScope scope, GroupDirectory groups, [AsParameters] PageQuery paging, Guid? schoolId, string? kind, string? q, bool? archived, CancellationToken cancellationToken)
    {
        var errors = paging.Validate() ?? [];
        QueryEnum.TryParse<GroupKind>(kind, "kind", errors, out var kindFilter);
        if (q is { Length: > RosterLimits.MaxNameLength })
        {
            errors["q"] = ["Too long."];
        }

        return errors.Count > 0
            ? TypedResults.ValidationProblem(errors)
            : TypedResults.Ok(await groups.ListAsync(scope, new GroupFilter(schoolId, kindFilter, q, Archived: archived == true), paging, cancellationToken));
    }

    private static async Task<Results<Ok<GroupDto>, NotFound>> GetGroupAsync(Guid id, StaffScope scope, GroupDirectory groups, CancellationToken cancellationToken) =>
        await groups.GetAsync(scope, id, cancellationToken) is { } group ? TypedResults.Ok(group) : TypedResults.NotFound();

    private static async Task<Created<GroupDto>> CreateGroupAsync(GroupRequest request, StaffScope scope, GroupDirectory groups, CancellationToken cancellationToken)
    {
        var group = await groups.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/groups/{group.Id}", group);
    }

    private static async Task<Results<NoContent, NotFound>> UpdateGroupAsync(Guid id, GroupRequest request, StaffScope scope, GroupDirectory groups, CancellationToken cancellationToken) =>
        await groups.UpdateAsync(scope, id, request, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteGroupAsync(Guid id, StaffScope scope, GroupDirectory groups, CancellationToken cancellationToken) =>
        await groups.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> AddMembersAsync(Guid id, GroupMembersRequest request, StaffScope scope, GroupDirectory groups, CancellationToken cancellationToken) =>
        await groups.AddMembersAsync(scope, id, request, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> RemoveMembersAsync(Guid id, GroupMembersRequest request, StaffScope scope, GroupDirectory groups, CancellationToken cancellationToken) =>
        await groups.RemoveMembersAsync(scope, id, request, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<Ok<PagedResult<PersonDto>>, NotFound, ValidationProblem>> ListGroupPeopleAsync(
        Guid id, StaffScope scope, GroupDirectory groups, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await groups.ListPeopleAsync(scope, id, paging, cancellationToken) is { } people ? TypedResults.Ok(people) : TypedResults.NotFound();
    }

    // People

    private static async Task<Results<Ok<PagedResult<PersonRowDto>>, ValidationProblem>> ListPeopleAsync(
        StaffScope scope, PeopleDirectory people, [AsParameters] PageQuery paging, Guid? schoolId, string? kind, string? q, bool? archived, CancellationToken cancellationToken)
    {
        var errors = paging.Validate() ?? [];
        QueryEnum.TryParse<PersonKind>(kind, "kind", errors, out var kindFilter);
        if (q is { Length: > RosterLimits.MaxNameLength })
        {
            errors["q"] = ["Too long."];
        }

        return errors.Count > 0
            ? TypedResults.ValidationProblem(errors)
            : TypedResults.Ok(await people.ListAsync(scope, new PersonFilter(schoolId, kindFilter, q, archived == true), paging, cancellationToken));
    }

    private static async Task<Results<Ok<PersonDto>, NotFound>> GetPersonAsync(Guid id, StaffScope scope, PeopleDirectory people, CancellationToken cancellationToken) =>
        await people.GetAsync(scope, id, cancellationToken) is { } person ? TypedResults.Ok(person) : TypedResults.NotFound();

    private static async Task<Created<PersonDto>> CreatePersonAsync(PersonRequest request, StaffScope scope, PeopleDirectory people, CancellationToken cancellationToken)
    {
        var person = await people.CreateAsync(scope, request, cancellationToken);
        return TypedResults.Created($"/api/people/{person.Id}", person);
    }

    private static async Task<Results<Ok<PersonDto>, NotFound>> UpdatePersonAsync(Guid id, PersonRequest request, StaffScope scope, PeopleDirectory people, CancellationToken cancellationToken) =>
        await people.UpdateAsync(scope, id, request, cancellationToken) is { } person ? TypedResults.Ok(person) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeletePersonAsync(Guid id, StaffScope scope, PeopleDirectory people, CancellationToken cancellationToken) =>
        await people.DeleteAsync(scope, id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();
}
