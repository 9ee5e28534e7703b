using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Enrollment;

public sealed record CreateEnrollmentTokenRequest(string? Name, Guid? SchoolId, Guid? GroupId, DateTime? ExpiresAt, int? MaxUses);

public sealed record EnrollmentTokenDto(
    Guid Id, string Name, Guid? SchoolId, Guid? GroupId, string SecretHint, DateTime ExpiresAt, int? MaxUses, int UseCount, DateTime? RevokedAt, DateTime CreatedAt, string CreatedBy)
{
    public static EnrollmentTokenDto From(EnrollmentToken t) =>
        new(t.Id, t.Name, t.SchoolId, t.GroupId, t.SecretHint, t.ExpiresAt, t.MaxUses, t.UseCount, t.RevokedAt, t.CreatedAt, t.CreatedBy);
}

/// <summary>A created token: its details plus the secret in <c>token</c>, shown this once.</summary>
public sealed record CreatedEnrollmentTokenResponse(
    Guid Id, string Name, Guid? SchoolId, Guid? GroupId, string SecretHint, DateTime ExpiresAt, int? MaxUses, int UseCount, DateTime CreatedAt, string CreatedBy, string Token)
{
    public static CreatedEnrollmentTokenResponse From(EnrollmentToken t, string secret) =>
        new(t.Id, t.Name, t.SchoolId, t.GroupId, t.SecretHint, t.ExpiresAt, t.MaxUses, t.UseCount, t.CreatedAt, t.CreatedBy, secret);
}

/// <summary>
/// Enrollment tokens, for the API and the console. A token enrolls into a school (directly, or through
/// a group of it): staff limited to a school see, create and revoke only their school's tokens, and a
/// token they create without a school is for their school. District tokens are for district staff.
/// </summary>
public sealed class EnrollmentTokenDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, TimeProvider time)
{
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(366);
    public const int MaxUsesLimit = 1_000_000;
    public const int MaxNameLength = 200;

    public async Task<PagedResult<EnrollmentTokenDto>> ListAsync(StaffScope scope, PageQuery paging, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadEnrollment);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var tokens = scope.EnrollmentTokens(db);
        var total = await tokens.CountAsync(cancellationToken);
        var items = await tokens.OrderByDescending(t => t.CreatedAt).ThenBy(t => t.Id).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return new PagedResult<EnrollmentTokenDto>(items.Select(EnrollmentTokenDto.From).ToList(), total);
    }

    public async Task<EnrollmentTokenDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadEnrollment);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.EnrollmentTokens(db).FirstOrDefaultAsync(t => t.Id == id, cancellationToken) is { } token ? EnrollmentTokenDto.From(token) : null;
    }

    /// <summary>Creates a token; the secret is in the result only.</summary>
    public async Task<CreatedEnrollmentTokenResponse> CreateAsync(StaffScope scope, CreateEnrollmentTokenRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageEnrollment);
        var now = time.GetUtcNow().UtcDateTime;
        var expiresAt = request.ExpiresAt?.ToUniversalTime() ?? now.AddDays(30);
        var validation = new Validation()
            .Required("name", request.Name, MaxNameLength)
            .Range("maxUses", request.MaxUses, 1, MaxUsesLimit)
            .Check(expiresAt > now && expiresAt <= now + MaxLifetime, "expiresAt", "Must be in the future and at most a year away.");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (request.SchoolId is { } schoolId && !await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }

        Guid? groupSchool = null;
        if (request.GroupId is { } groupId)
        {
            var group = await scope.Groups(db).Where(g => g.Id == groupId).Select(g => new { g.SchoolId }).FirstOrDefaultAsync(cancellationToken);
            if (group is null)
            {
                validation.Add("groupId", "No such group in your scope.");
            }
            else
            {
                groupSchool = group.SchoolId;
                validation.Check(request.SchoolId is null || group.SchoolId == request.SchoolId, "groupId", "The group belongs to another school than schoolId.");
            }
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        // A school's staff enroll into their school; only district-wide staff make district tokens.
        var school = request.SchoolId ?? (request.GroupId is null && !scope.IsDistrictWide ? scope.SchoolId : null);
        scope.EnsureIncludesSchool(school ?? groupSchool, "schoolId");

        var secret = Secrets.Create("hre_");
        var token = new EnrollmentToken
        {
            Id = Guid.CreateVersion7(),
            Name = request.Name!.Trim(),
            SchoolId = school,
            GroupId = request.GroupId,
            SecretHash = Secrets.Hash(secret),
            SecretHint = secret[^4..],
            ExpiresAt = expiresAt,
            MaxUses = request.MaxUses,
            CreatedAt = now,
            CreatedBy = scope.Username,
        };
        db.EnrollmentTokens.Add(token);
        audit.Record(db, "enrollment-token.create", "enrollment-token", token.Id.ToString(), token.Name, school ?? groupSchool);
        await db.SaveChangesAsync(cancellationToken);
        return CreatedEnrollmentTokenResponse.From(token, secret);
    }

    /// <summary>Revokes a token of the scope; false when there is none. Revoking twice changes nothing.</summary>
    public async Task<bool> RevokeAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageEnrollment);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.EnrollmentTokens(db).AnyAsync(t => t.Id == id, cancellationToken))
        {
            return false;
        }

        var token = await db.EnrollmentTokens.FirstAsync(t => t.Id == id, cancellationToken);
        if (token.RevokedAt is null)
        {
            token.RevokedAt = time.GetUtcNow().UtcDateTime;
            audit.Record(db, "enrollment-token.revoke", "enrollment-token", id.ToString(), token.Name, token.SchoolId);
            await db.SaveChangesAsync(cancellationToken);
        }

        return true;
    }
}
