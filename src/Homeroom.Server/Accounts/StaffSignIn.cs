using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>
/// Password sign-in and sign-out for the API and the console's forms alike: checks the password, counts
/// failures and locks the account after too many in a row, audits every attempt, and issues the
/// session cookie.
/// </summary>
public sealed class StaffSignIn(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, TimeProvider time, IOptions<AccountOptions> options, ILogger<StaffSignIn> logger)
{
    public async Task<bool> SignInAsync(HttpContext context, string username, string password, CancellationToken cancellationToken)
    {
        username = username.Trim().ToLowerInvariant();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Username == username, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var locked = account?.LockedUntil > now;
        if (account is null || account.DisabledAt is not null || locked || !PasswordHasher.Verify(password, account.PasswordHash))
        {
            AccountsLog.SignInFailed(logger, username, context.Connection.RemoteIpAddress?.ToString());
            audit.Record(db, locked ? "auth.sign-in-refused-locked" : "auth.sign-in-failed", "account", username);
            if (account is not null && !locked && ++account.FailedSignIns >= options.Value.LockoutThreshold)
            {
                // Too many failures in a row: the account waits, whatever password comes next.
                account.LockedUntil = now + options.Value.LockoutDuration;
                account.FailedSignIns = 0;
                audit.Record(db, "auth.locked", "account", account.Id.ToString(), $"{options.Value.LockoutThreshold} failed sign-ins; locked until {account.LockedUntil:u}");
            }

            await db.SaveChangesAsync(cancellationToken);
            return false;
        }

        account.FailedSignIns = 0;
        account.LockedUntil = null;
        account.LastSignInAt = now;
        var principal = StaffUser.CreatePrincipal(account, "password", CookieAuthenticationDefaults.AuthenticationScheme);
        context.User = principal;
        audit.Record(db, "auth.sign-in", "account", account.Id.ToString());
        await db.SaveChangesAsync(cancellationToken);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal);
        return true;
    }

    /// <summary>Ends the session (audited).</summary>
    public async Task SignOutAsync(HttpContext context, CancellationToken cancellationToken)
    {
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            audit.Record(db, "auth.sign-out", "account", StaffUser.From(context.User).Id.ToString());
            await db.SaveChangesAsync(cancellationToken);
        }

        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }
}
