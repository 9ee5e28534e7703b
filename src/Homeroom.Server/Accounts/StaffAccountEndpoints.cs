using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Accounts;

public sealed record CreateAccountRequest(string? Username, string? DisplayName, string? Password, StaffRole? Role, Guid? PersonId, Guid? SchoolId = null);

public sealed record UpdateAccountRequest(StaffRole? Role, Guid? PersonId, bool? Disabled, Guid? SchoolId = null, bool? District = null);

public sealed record AccountDto(Guid Id, string Username, string DisplayName, StaffRole Role, Guid? PersonId, Guid? SchoolId, DateTime? DisabledAt, DateTime? LastSignInAt)
{
    public static AccountDto From(StaffAccount a) => new(a.Id, a.Username, a.DisplayName, a.Role, a.PersonId, a.SchoolId, a.DisabledAt, a.LastSignInAt);
}

/// <summary>Staff accounts and their roles. Creating and changing them is for district administrators.</summary>
public static class StaffAccountEndpoints
{
    public static IEndpointRouteBuilder MapStaffAccountEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/accounts").WithTags("Accounts");
        group.MapGet("/", ListAsync);
        group.MapPost("/", CreateAsync);
        group.MapPut("/{id:guid}", UpdateAsync);
        return app;
    }

    private static async Task<Ok<List<AccountDto>>> ListAsync(HomeroomDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok((await db.StaffAccounts.AsNoTracking().OrderBy(a => a.Username).ToListAsync(cancellationToken)).Select(AccountDto.From).ToList());

    private static async Task<Results<Created<AccountDto>, ValidationProblem>> CreateAsync(
        CreateAccountRequest request, HomeroomDbContext db, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var username = request.Username?.Trim().ToLowerInvariant();
        var validation = new Validation().Required("username", username, 100).Required("displayName", request.DisplayName, 200).Required("password", request.Password, 1024);
        if (username is not null && (username.Length < 3 || !username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@')))
        {
            validation.Add("username", "3 to 100 of letters, digits, '.', '_', '-', '@'.");
        }
        else if (username is not null && await db.StaffAccounts.AnyAsync(a => a.Username == username, cancellationToken))
        {
            validation.Add("username", "This username is taken.");
        }

        if (request.Password is { Length: < AccountEndpoints.MinPasswordLength })
        {
            validation.Add("password", $"At least {AccountEndpoints.MinPasswordLength} characters.");
        }

        validation.Check(request.Role is not null, "role", "One of districtAdmin, schoolAdmin, itTechnician, teacher, safetyLead, readOnly.");
        await CheckPersonAsync(db, request.PersonId, validation, cancellationToken);
        await CheckSchoolAsync(db, request.SchoolId, validation, cancellationToken);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var account = new StaffAccount
        {
            Id = Guid.CreateVersion7(), Username = username!, DisplayName = request.DisplayName!.Trim(), PasswordHash = PasswordHasher.Hash(request.Password!),
            Role = request.Role!.Value, PersonId = request.PersonId, SchoolId = request.SchoolId, CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.StaffAccounts.Add(account);
        audit.Record(db, "account.create", "account", account.Id.ToString(), $"{account.Username} as {account.Role} in {account.SchoolId?.ToString() ?? "the district"}");
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/accounts/{account.Id}", AccountDto.From(account));
    }

    private static async Task<Results<Ok<AccountDto>, NotFound, ValidationProblem>> UpdateAsync(
        Guid id, UpdateAccountRequest request, HomeroomDbContext db, AuditTrail audit, TimeProvider time, StaffSessions sessions, CancellationToken cancellationToken)
    {
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (account is null)
        {
            return TypedResults.NotFound();
        }

        var validation = new Validation();
        await CheckPersonAsync(db, request.PersonId, validation, cancellationToken);
        await CheckSchoolAsync(db, request.SchoolId, validation, cancellationToken);
        if (!validation.IsValid)
        {
            return TypedResults.ValidationProblem(validation.Errors);
        }

        var access = account.Access();
        account.Role = request.Role ?? account.Role;
        account.PersonId = request.PersonId ?? account.PersonId;
        account.SchoolId = request.District == true ? null : request.SchoolId ?? account.SchoolId;
        if (request.Disabled is { } disabled)
        {
            account.DisabledAt = disabled ? account.DisabledAt ?? time.GetUtcNow().UtcDateTime : null;
        }

        if (account.Access() != access)
        {
            account.RotateSecurityStamp(); // its sessions end with the rights they were signed in with
        }

        audit.Record(db, "account.update", "account", id.ToString(), $"{account.Username}: role {account.Role}, person {account.PersonId}, school {account.SchoolId?.ToString() ?? "district"}, disabled {account.DisabledAt is not null}");
        await db.SaveChangesAsync(cancellationToken);
        sessions.NotifyChanged(id);
        return TypedResults.Ok(AccountDto.From(account));
    }

    private static async Task CheckPersonAsync(HomeroomDbContext db, Guid? personId, Validation validation, CancellationToken cancellationToken)
    {
        if (personId is { } person && !await db.People.AnyAsync(p => p.Id == person && p.Kind == PersonKind.Staff, cancellationToken))
        {
            validation.Add("personId", "No such staff member in the roster.");
        }
    }

    private static async Task CheckSchoolAsync(HomeroomDbContext db, Guid? schoolId, Validation validation, CancellationToken cancellationToken)
    {
        if (schoolId is { } school && !await db.Schools.AnyAsync(s => s.Id == school, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }
    }
}
