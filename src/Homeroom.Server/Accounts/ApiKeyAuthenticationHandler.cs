using System.Text.Encodings.Web;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>Authenticates <c>Authorization: Bearer &lt;api key&gt;</c> against the hashed keys of active accounts.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IDbContextFactory<HomeroomDbContext> dbFactory)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";
    private const int MaxKeyLength = 256;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        var key = header["Bearer ".Length..].Trim();
        if (key.Length is 0 or > MaxKeyLength)
        {
            return AuthenticateResult.Fail("Malformed API key.");
        }

        var hash = Secrets.Hash(key);
        await using var db = await dbFactory.CreateDbContextAsync(Context.RequestAborted);
        var account = await db.ApiKeys
            .Where(k => k.KeyHash == hash && k.RevokedAt == null)
            .Join(db.StaffAccounts, k => k.AccountId, a => a.Id, (k, a) => a)
            .Where(a => a.DisabledAt == null)
            .AsNoTracking()
            .FirstOrDefaultAsync(Context.RequestAborted);
        if (account is null)
        {
            return AuthenticateResult.Fail("Unknown or revoked API key.");
        }

        var principal = StaffUser.CreatePrincipal(account, "api_key", SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}
