using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>
/// Staff accounts and their roles, for the API and the console. School administrators read their
/// school's accounts; creating accounts and changing roles, schools and state is for district
/// administrators (<see cref="Permission.ManageAccounts"/>).
/// </summary>
public sealed class StaffAccountDirectory(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, StaffSessions sessions, TimeProvider time, IOptions<AccountOptions> options)
{
    public const int MaxUsernameLength = 100;
    public const int MaxDisplayNameLength = 200;

    public async Task<List<AccountDto>> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadAccounts);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return (await scope.Accounts(db).OrderBy(a => a.Username).ToListAsync(cancellationToken)).Select(AccountDto.From).ToList();
    }

    public async Task<AccountDto> CreateAsync(StaffScope scope, CreateAccountRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageAccounts);
        var username = request.Username?.Trim().ToLowerInvariant();
        var validation = new Validation()
            .Required("username", username, MaxUsernameLength)
            .Required("displayName", request.DisplayName, MaxDisplayNameLength)
            .Required("password", request.Password, AccountEndpoints.MaxPasswordLength)
            .Check(request.Role is { } role && Enum.IsDefined(role), "role", "One of districtAdmin, schoolAdmin, itTechnician, teacher, safetyLead, readOnly.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (username is not null && (username.Length < 3 || !username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@')))
        {
            validation.Add("username", "3 to 100 of letters, digits, '.', '_', '-', '@'.");
        }

        if (request.Password is { Length: < AccountEndpoints.MinPasswordLength })
        {
            validation.Add("password", $"At least {AccountEndpoints.MinPasswordLength} characters.");
        }

        await CheckPersonAsync(db, request.PersonId, validation, cancellationToken);
        await CheckSchoolAsync(db, request.SchoolId, validation, cancellationToken);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        scope.EnsureIncludesSchool(request.SchoolId, "schoolId");
        if (await db.StaffAccounts.AnyAsync(a => a.Username == username, cancellationToken))
        {
            throw new ConflictException("This username is taken.");
        }

        var account = new StaffAccount
        {
            Id = Guid.CreateVersion7(), Username = username!, DisplayName = request.DisplayName!.Trim(), PasswordHash = PasswordHasher.Hash(request.Password!, options.Value.PasswordHashIterations),
            Role = request.Role!.Value, PersonId = request.PersonId, SchoolId = request.Role == StaffRole.DistrictAdmin ? null : request.SchoolId,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.StaffAccounts.Add(account);
        audit.Record(db, "account.create", "account", account.Id.ToString(), $"{account.Username} as {account.Role} in {account.SchoolId?.ToString() ?? "the district"}", account.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return AccountDto.From(account);
    }

    /// <summary>Changes an account's role, person, school or state; null when it is not in the scope.</summary>
    public async Task<AccountDto?> UpdateAsync(StaffScope scope, Guid id, UpdateAccountRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageAccounts);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var validation = new Validation()
            .Check(request.Role is null || Enum.IsDefined(request.Role.Value), "role", "One of districtAdmin, schoolAdmin, itTechnician, teacher, safetyLead, readOnly.")
            .Check(!(request.District == true && request.SchoolId is not null), "schoolId", "Give schoolId or district, not both.")
            .Optional("password", request.Password, AccountEndpoints.MaxPasswordLength)
            .Check(request.Password is null or { Length: >= AccountEndpoints.MinPasswordLength }, "password", $"At least {AccountEndpoints.MinPasswordLength} characters.");
        await CheckPersonAsync(db, request.PersonId, validation, cancellationToken);
        await CheckSchoolAsync(db, request.SchoolId, validation, cancellationToken);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        if (!await scope.Accounts(db).AnyAsync(a => a.Id == id, cancellationToken))
        {
            return null;
        }

        var account = await db.StaffAccounts.FirstAsync(a => a.Id == id, cancellationToken);
        var oldSchool = account.SchoolId;
        var newSchool = request.District == true ? null : request.SchoolId ?? account.SchoolId;
        if (newSchool != oldSchool)
        {
            scope.EnsureIncludesSchool(oldSchool, "schoolId");
            scope.EnsureIncludesSchool(newSchool, "schoolId");
        }

        var access = account.Access();
        account.Role = request.Role ?? account.Role;
        account.PersonId = request.PersonId ?? account.PersonId;
        account.SchoolId = account.Role == StaffRole.DistrictAdmin ? null : newSchool;
        if (request.Disabled is { } disabled)
        {
            account.DisabledAt = disabled ? account.DisabledAt ?? time.GetUtcNow().UtcDateTime : null;
        }

        if (request.Password is { } password)
        {
            // A reset by an administrator: the account's sessions end, whoever held them.
            account.PasswordHash = PasswordHasher.Hash(password, options.Value.PasswordHashIterations);
            account.RotateSecurityStamp();
            audit.Record(db, "account.password-reset", "account", id.ToString(), account.Username, account.SchoolId ?? oldSchool);
        }
        else if (account.Access() != access)
        {
            account.RotateSecurityStamp(); // its sessions end with the rights they were signed in with
        }

        audit.Record(db, "account.update", "account", id.ToString(),
            $"{account.Username}: role {account.Role}, person {account.PersonId}, school {account.SchoolId?.ToString() ?? "district"}, disabled {account.DisabledAt is not null}",
            account.SchoolId ?? oldSchool);
        await db.SaveChangesAsync(cancellationToken);
        sessions.NotifyChanged(id);
        return AccountDto.From(account);
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
