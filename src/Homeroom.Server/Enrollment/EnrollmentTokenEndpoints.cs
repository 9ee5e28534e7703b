using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Enrollment;

public sealed record CreateEnrollmentTokenRequest(string? Name, Guid? SchoolId, Guid? GroupId, DateTime? ExpiresAt, int? MaxUses);

public sealed record EnrollmentTokenDto(
    Guid Id, string Name, Guid? SchoolId, Guid? GroupId, string SecretHint, DateTime ExpiresAt, int? MaxUses, int UseCount, DateTime? RevokedAt, DateTime CreatedAt, string CreatedBy)
{
    public static EnrollmentTokenDto From(EnrollmentToken t) =>
        new(t.Id, t.Name, t.SchoolId, t.GroupId, t.SecretHint, t.ExpiresAt, t.MaxUses, t.UseCount, t.RevokedAt, t.CreatedAt, t.CreatedBy);
}

public static class EnrollmentTokenEndpoints
{
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(366);
    public const int MaxUsesLimit = 1_000_000;

    public static IEndpointRouteBuilder MapEnrollmentTokenEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/enrollment-tokens").WithTags("Enrollment");
        group.MapGet("/", ListAsync);
        group.MapGet("/{id:guid}", GetAsync);
        group.MapPost("/", CreateAsync);
        group.MapPost("/{id:guid}/revoke", RevokeAsync);
        return app;
    }

    private static async Task<Results<Ok<PagedResult<EnrollmentTokenDto>>, ValidationProblem>> ListAsync(
        HomeroomDbContext db, [AsParameters] PageQuery paging, CancellationToken cancellationToken)
    {
        if (paging.Validate() is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var total = await db.EnrollmentTokens.CountAsync(cancellationToken);
        var items = await db.EnrollmentTokens.AsNoTracking().OrderByDescending(t => t.CreatedAt).Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return TypedResults.Ok(new PagedResult<EnrollmentTokenDto>(items.Select(EnrollmentTokenDto.From).ToList(), total));
    }

    private static async Task<Results<Ok<EnrollmentTokenDto>, NotFound>> GetAsync(Guid id, HomeroomDbContext db, CancellationToken cancellationToken) =>
        await db.EnrollmentTokens.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, cancellationToken) is { } token
            ? TypedResults.Ok(EnrollmentTokenDto.From(token))
            : TypedResults.NotFound();

    private static async Task<Results<Created<CreatedEnrollmentTokenResponse>, ValidationProblem>> CreateAsync(
        CreateEnrollmentTokenRequest request, HomeroomDbContext db, AuditTrail audit, TimeProvider time, HttpContext context, CancellationToken cancellationToken)
    {
        var (validation, created) = await CreateTokenAsync(request, db, audit, time, StaffUser.From(context.User).Username, cancellationToken);
        return created is null
            ? TypedResults.ValidationProblem(validation.Errors)
            : TypedResults.Created($"/api/enrollment-tokens/{created.Id}", created);
    }

    /// <summary>Creates a token (API and console); the secret is in the result only.</summary>
    public static async Task<(Validation Validation, CreatedEnrollmentTokenResponse? Created)> CreateTokenAsync(
        CreateEnrollmentTokenRequest request, HomeroomDbContext db, AuditTrail audit, TimeProvider time, string createdBy, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var expiresAt = request.ExpiresAt?.ToUniversalTime() ?? now.AddDays(30);
        var validation = new Validation()
            .Required("name", request.Name, 200)
            .Range("maxUses", request.MaxUses, 1, MaxUsesLimit)
            .Check(expiresAt > now && expiresAt <= now + MaxLifetime, "expiresAt", "Must be in the future and at most a year away.");
        if (request.SchoolId is { } schoolId && !await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }

        if (request.GroupId is { } groupId && !await db.Groups.AnyAsync(g => g.Id == groupId, cancellationToken))
        {
            validation.Add("groupId", "No such group.");
        }

        if (!validation.IsValid)
        {
            return (validation, null);
        }

        var secret = Secrets.Create("hre_");
        var token = new EnrollmentToken
        {
            Id = Guid.CreateVersion7(),
            Name = request.Name!.Trim(),
            SchoolId = request.SchoolId,
            GroupId = request.GroupId,
            SecretHash = Secrets.Hash(secret),
            SecretHint = secret[^4..],
            ExpiresAt = expiresAt,
            MaxUses = request.MaxUses,
            CreatedAt = now,
            CreatedBy = createdBy,
        };
        db.EnrollmentTokens.Add(token);
        audit.Record(db, "enrollment-token.create", "enrollment-token", token.Id.ToString(), token.Name);
        await db.SaveChangesAsync(cancellationToken);
        return (validation, CreatedEnrollmentTokenResponse.From(token, secret));
    }

    private static async Task<Results<NoContent, NotFound>> RevokeAsync(Guid id, HomeroomDbContext db, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken) =>
        await RevokeTokenAsync(db, db.EnrollmentTokens, id, audit, time, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();

    /// <summary>Revokes a token found in <paramref name="tokens"/> (API and console); false when there is none. Revoking twice changes nothing.</summary>
    public static async Task<bool> RevokeTokenAsync(
        HomeroomDbContext db, IQueryable<EnrollmentToken> tokens, Guid id, AuditTrail audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var token = await tokens.FirstOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (token is null)
        {
            return false;
        }

        if (token.RevokedAt is null)
        {
            token.RevokedAt = time.GetUtcNow().UtcDateTime;
            audit.Record(db, "enrollment-token.revoke", "enrollment-token", id.ToString(), token.Name);
            await db.SaveChangesAsync(cancellationToken);
        }

        return true;
    }
}

/// <summary>A created token: its details plus the secret in <c>token</c>, shown this once.</summary>
public sealed record CreatedEnrollmentTokenResponse(
    Guid Id, string Name, Guid? SchoolId, Guid? GroupId, string SecretHint, DateTime ExpiresAt, int? MaxUses, int UseCount, DateTime CreatedAt, string CreatedBy, string Token)
{
    public static CreatedEnrollmentTokenResponse From(EnrollmentToken t, string secret) =>
        new(t.Id, t.Name, t.SchoolId, t.GroupId, t.SecretHint, t.ExpiresAt, t.MaxUses, t.UseCount, t.CreatedAt, t.CreatedBy, secret);
}
