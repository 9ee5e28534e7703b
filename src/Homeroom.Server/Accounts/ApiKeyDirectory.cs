using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Accounts;

/// <summary>
/// A staff member's own API keys, for the API and the console alike: list, create (the secret is
/// answered once; only its SHA-256 is kept) and revoke. A key acts as its account, with the account's
/// role and school at each request, so every staff member may hold keys for their own scripts and
/// none reaches another's.
/// </summary>
public sealed class ApiKeyDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, TimeProvider time)
{
    public const int MaxNameLength = 100;

    public async Task<List<ApiKeyDto>> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.OwnAccount);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var owner = scope.AccountId;
        return await db.ApiKeys.AsNoTracking().Where(k => k.AccountId == owner).OrderBy(k => k.CreatedAt)
            .Select(k => new ApiKeyDto(k.Id, k.Name, k.KeyPrefix, k.CreatedAt, k.RevokedAt)).ToListAsync(cancellationToken);
    }

    public async Task<CreatedApiKeyDto> CreateAsync(StaffScope scope, CreateApiKeyRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.OwnAccount);
        var validation = new Validation().Required("name", request.Name, MaxNameLength);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var key = Secrets.Create("hrk_");
        var apiKey = new ApiKey
        {
            Id = Guid.CreateVersion7(),
            AccountId = scope.AccountId,
            Name = request.Name!.Trim(),
            KeyHash = Secrets.Hash(key),
            KeyPrefix = key[..8],
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.ApiKeys.Add(apiKey);
        audit.Record(db, "api-key.create", "api-key", apiKey.Id.ToString(), apiKey.Name);
        await db.SaveChangesAsync(cancellationToken);
        return new CreatedApiKeyDto(apiKey.Id, apiKey.Name, apiKey.KeyPrefix, apiKey.CreatedAt, key);
    }

    /// <summary>Revokes one of the caller's own keys (it stops working at once); false when they have no such key.</summary>
    public async Task<bool> RevokeAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.OwnAccount);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var owner = scope.AccountId;
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id && k.AccountId == owner, cancellationToken);
        if (key is null)
        {
            return false;
        }

        key.RevokedAt ??= time.GetUtcNow().UtcDateTime;
        audit.Record(db, "api-key.revoke", "api-key", id.ToString(), key.Name);
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }
}
