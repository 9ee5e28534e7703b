using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>
/// Password sign-in, sign-out and password change for the API and the console alike: checks the password, counts
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

    /// <summary>
    /// Changes an account's password when the current one is right (audited either way). Returns the
    /// field errors, and whether it changed (false with no errors: the current password was wrong).
    /// </summary>
    public async Task<(Validation Validation, bool Changed)> ChangePasswordAsync(
        Guid accountId, string? currentPassword, string? newPassword, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("currentPassword", currentPassword, 1024).Required("newPassword", newPassword, 1024);
        if (newPassword is { } fresh && (fresh.Length < AccountEndpoints.MinPasswordLength || fresh == currentPassword))
        {
            validation.Add("newPassword", $"At least {AccountEndpoints.MinPasswordLength} characters, and not the current password.");
        }

        if (!validation.IsValid)
        {
            return (validation, false);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Id == accountId, cancellationToken);
        var changed = account is not null && PasswordHasher.Verify(currentPassword!, account.PasswordHash);
        if (changed)
        {
            account!.PasswordHash = PasswordHasher.Hash(newPassword!);
        }

        audit.Record(db, changed ? "auth.password-change" : "auth.password-change-failed", "account", accountId.ToString());
        await db.SaveChangesAsync(cancellationToken);
        return (validation, changed);
    }
}
