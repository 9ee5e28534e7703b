using System.Security.Claims;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>How a sign-in attempt ended.</summary>
public enum SignInOutcome
{
    SignedIn,

    /// <summary>Wrong name or password, or a disabled account: one answer for all three.</summary>
    Failed,

    /// <summary>Too many failures for this name from this address: refused without looking at the password.</summary>
    Throttled,

    /// <summary>The password was right and the account signs in in two steps: send it again with a code.</summary>
    CodeRequired,
}

/// <summary>The outcome, and for <see cref="SignInOutcome.Throttled"/> how long to wait.</summary>
public readonly record struct SignInResult(SignInOutcome Outcome, TimeSpan RetryAfter = default)
{
    public bool Succeeded => Outcome == SignInOutcome.SignedIn;

    /// <summary>Whole seconds to wait, rounded up (the Retry-After header's unit).</summary>
    public int RetryAfterSeconds => (int)Math.Ceiling(Math.Max(RetryAfter.TotalSeconds, 1));
}

/// <summary>
/// Password sign-in, sign-out and password change for the API and the console alike: throttles
/// guessing per name and client address (<see cref="SignInThrottle"/>), takes as long for a name that
/// does not exist as for a wrong password, audits every attempt, and begins a server-side session
/// (<see cref="StaffSessions"/>) carried by the session cookie.
/// </summary>
public sealed class StaffSignIn(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, StaffSessions sessions, SignInThrottle throttle, StaffTwoStep twoStep, StaffSecurityKeys securityKeys,
    TimeProvider time, ILogger<StaffSignIn> logger, IOptions<AccountOptions> options, IDataProtectionProvider protection)
{
    /// <summary>How long the console's second step may follow a right password.</summary>
    public static readonly TimeSpan SecondStepWindow = TimeSpan.FromMinutes(5);

    private readonly ITimeLimitedDataProtector _pending = protection.CreateProtector("Homeroom.Accounts.TwoStepPending").ToTimeLimitedDataProtector();

    /// <summary>
    /// For the console's two pages: a token (kept in a short-lived cookie) saying the account's password was
    /// right a moment ago, so the second page asks only for the code and the password is never stored.
    /// </summary>
    public string PendingSecondStep(string username) => _pending.Protect(username.Trim().ToLowerInvariant(), SecondStepWindow);

    /// <summary>The console's second step: the code, for the account whose password <paramref name="pendingToken"/> vouches for.</summary>
    public Task<SignInResult> CompleteSecondStepAsync(HttpContext context, string pendingToken, string code, CancellationToken cancellationToken) =>
        CompleteStepAsync(context, pendingToken, "code", "wrong two-step code",
            (db, account) => twoStep.VerifyAsync(db, account, code, cancellationToken), cancellationToken);

    /// <summary>
    /// The console's second step with a security key, first half: the options for <c>navigator.credentials.get</c>
    /// (JSON), their challenge bound to <paramref name="pendingToken"/>. Null when the token is no longer good, the
    /// account has no key, or this name and address must wait (nothing is checked then).
    /// </summary>
    public async Task<string?> SecurityKeyOptionsAsync(HttpContext context, string pendingToken, string requestOrigin, CancellationToken cancellationToken)
    {
        if (PendingUsername(pendingToken) is not { } username || throttle.MustWait(username, context.Connection.RemoteIpAddress))
        {
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.AsNoTracking().FirstOrDefaultAsync(a => a.Username == username, cancellationToken);
        return account is null || account.DisabledAt is not null ? null : await securityKeys.BeginSignInAsync(db, account.Id, pendingToken, requestOrigin, cancellationToken);
    }

    /// <summary>
    /// The console's second step with a security key, second half: the key's answer to the challenge given to
    /// <paramref name="pendingToken"/>. Throttled, audited and counted as a failed sign-in when wrong, exactly as a wrong code is.
    /// </summary>
    public Task<SignInResult> CompleteSecurityKeyStepAsync(HttpContext context, string pendingToken, string assertionJson, string requestOrigin, CancellationToken cancellationToken) =>
        CompleteStepAsync(context, pendingToken, "key", "wrong security key answer",
            async (db, account) => await securityKeys.VerifySignInAsync(db, account, pendingToken, assertionJson, requestOrigin, cancellationToken) == SecurityKeyCheck.Passed,
            cancellationToken);

    /// <summary>
    /// A second step for the account <paramref name="pendingToken"/> vouches for: throttled before anything is checked,
    /// a wrong answer (<paramref name="wrong"/>) audited and counted as a failed sign-in, a right one begins the session.
    /// </summary>
    private async Task<SignInResult> CompleteStepAsync(
        HttpContext context, string pendingToken, string method, string wrong, Func<HomeroomDbContext, StaffAccount, Task<bool>> verify, CancellationToken cancellationToken)
    {
        if (PendingUsername(pendingToken) is not { } username)
        {
            return new SignInResult(SignInOutcome.Failed);
        }

        var address = context.Connection.RemoteIpAddress;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (throttle.Begin(username, address) is { } wait)
        {
            var what = method == "key" ? "the security key" : "the code";
            audit.Record(db, "auth.sign-in-throttled", "account", username, $"refused without checking {what}; retry in {Math.Ceiling(wait.TotalSeconds)} s");
            await db.SaveChangesAsync(cancellationToken);
            return new SignInResult(SignInOutcome.Throttled, wait);
        }

        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Username == username, cancellationToken);
        if (account is null || account.DisabledAt is not null || !await verify(db, account))
        {
            return await WrongCodeAsync(db, username, address, cancellationToken, wrong);
        }

        throttle.Succeeded(username, address);
        await BeginSessionAsync(db, context, account, method, cancellationToken);
        return new SignInResult(SignInOutcome.SignedIn);
    }

    private string? PendingUsername(string pendingToken)
    {
        try
        {
            return _pending.Unprotect(pendingToken);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    /// <summary>
    /// Signs in with a password and, for an account with two-step sign-in, a <paramref name="code"/> (an
    /// authenticator code or a recovery code). A wrong code counts as a failed sign-in, throttled the same way.
    /// </summary>
    public async Task<SignInResult> SignInAsync(HttpContext context, string username, string password, string? code, CancellationToken cancellationToken)
    {
        username = username.Trim().ToLowerInvariant();
        var address = context.Connection.RemoteIpAddress;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (throttle.Begin(username, address) is { } wait)
        {
            AccountsLog.SignInThrottled(logger, username, address?.ToString());
            audit.Record(db, "auth.sign-in-throttled", "account", username, $"refused without checking the password; retry in {Math.Ceiling(wait.TotalSeconds)} s");
            await db.SaveChangesAsync(cancellationToken);
            return new SignInResult(SignInOutcome.Throttled, wait);
        }

        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Username == username, cancellationToken);
        bool verified;
        if (account is null || account.DisabledAt is not null)
        {
            // The same work as a real check, so the time taken does not say whether the name exists.
            PasswordHasher.VerifyDummy(password, options.Value.PasswordHashIterations);
            verified = false;
        }
        else
        {
            verified = PasswordHasher.Verify(password, account.PasswordHash);
        }

        if (!verified)
        {
            AccountsLog.SignInFailed(logger, username, address?.ToString());
            audit.Record(db, "auth.sign-in-failed", "account", username);
            await db.SaveChangesAsync(cancellationToken);
            return new SignInResult(SignInOutcome.Failed);
        }

        // A second step (an authenticator app, a security key, or both): the API takes a code (an app's or a
        // recovery code); a key answers in the console, whose sign-in page asks the browser for it.
        if (account is null)
        {
            return new SignInResult(SignInOutcome.Failed); // not reached: a missing account never verifies
        }

        if (await StaffTwoStep.HasSecondStepAsync(db, account, cancellationToken))
        {
            if (string.IsNullOrWhiteSpace(code))
            {
                // Still counted against the throttle until a sign-in with the code succeeds.
                audit.Record(db, "auth.sign-in-code-required", "account", account.Id.ToString());
                await db.SaveChangesAsync(cancellationToken);
                return new SignInResult(SignInOutcome.CodeRequired);
            }

            if (!await twoStep.VerifyAsync(db, account, code, cancellationToken))
            {
                return await WrongCodeAsync(db, username, address, cancellationToken);
            }

            throttle.Succeeded(username, address);
            await BeginSessionAsync(db, context, account, "code", cancellationToken);
            return new SignInResult(SignInOutcome.SignedIn);
        }

        throttle.Succeeded(username, address);
        await BeginSessionAsync(db, context, account, null, cancellationToken);
        return new SignInResult(SignInOutcome.SignedIn);
    }

    // A wrong second step is a failed sign-in like a wrong password: logged, audited, still counted by the throttle.
    private async Task<SignInResult> WrongCodeAsync(
        HomeroomDbContext db, string username, System.Net.IPAddress? address, CancellationToken cancellationToken, string reason = "wrong two-step code")
    {
        AccountsLog.SignInFailed(logger, username, address?.ToString());
        audit.Record(db, "auth.sign-in-failed", "account", username, reason);
        await db.SaveChangesAsync(cancellationToken);
        return new SignInResult(SignInOutcome.Failed);
    }

    // secondStep: null (password only), "code" (an app's or a recovery code) or "key" (a security key).
    private Task BeginSessionAsync(HomeroomDbContext db, HttpContext context, StaffAccount account, string? secondStep, CancellationToken cancellationToken) =>
        secondStep switch
        {
            null => BeginSessionAsync(db, context, account, "password", null, cancellationToken),
            "key" => BeginSessionAsync(db, context, account, "password+key", "with a security key", cancellationToken),
            _ => BeginSessionAsync(db, context, account, "password+code", "with a two-step code", cancellationToken),
        };

    /// <summary>
    /// Begins a session for an account that proved who it is (a password, a code, or a single sign-on):
    /// the same stored session, cookie and audit entry whichever way it signed in. Saves <paramref name="db"/>.
    /// </summary>
    internal async Task BeginSessionAsync(HomeroomDbContext db, HttpContext context, StaffAccount account, string authMethod, string? auditDetails, CancellationToken cancellationToken)
    {
        account.LastSignInAt = time.GetUtcNow().UtcDateTime;
        var session = sessions.Begin(db, account, context);
        var principal = StaffUser.CreatePrincipal(account, authMethod, CookieAuthenticationDefaults.AuthenticationScheme);
        principal.Identities.First().AddClaim(new Claim(StaffUser.SessionClaim, session));
        context.User = principal;
        audit.Record(db, "auth.sign-in", "account", account.Id.ToString(), auditDetails);
        await db.SaveChangesAsync(cancellationToken);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal);
        if (twoStep.IsRequiredFor(account.Role) && !await StaffTwoStep.HasSecondStepAsync(db, account, cancellationToken))
        {
            // For the rest of this request only (where the console goes next): the cookie never holds it,
            // each request reads it again (StaffSessions.ValidatePrincipalAsync), so setting it up counts at once.
            principal.Identities.First().AddClaim(new Claim(StaffUser.TwoStepSetupClaim, "1"));
        }
    }

    /// <summary>Ends the session (audited): its cookie stops working here and on every server at once.</summary>
    public async Task SignOutAsync(HttpContext context, CancellationToken cancellationToken)
    {
        Guid? ended = null;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            if (StaffSessions.SessionOf(context.User) is { } session)
            {
                ended = await sessions.RevokeAsync(db, session, cancellationToken);
            }

            audit.Record(db, "auth.sign-out", "account", StaffUser.From(context.User).Id.ToString());
            await db.SaveChangesAsync(cancellationToken);
        }

        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        if (ended is { } accountId)
        {
            sessions.NotifyChanged(accountId);
        }
    }

    /// <summary>
    /// Changes an account's password when the current one is right (audited either way). Every other
    /// session of the account ends; the session it was changed in (<paramref name="currentSession"/>)
    /// goes on. Returns the field errors, and whether it changed (false with no errors: the current
    /// password was wrong).
    /// </summary>
    public async Task<(Validation Validation, bool Changed)> ChangePasswordAsync(
        Guid accountId, string? currentSession, string? currentPassword, string? newPassword, CancellationToken cancellationToken)
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
            account!.PasswordHash = PasswordHasher.Hash(newPassword!, options.Value.PasswordHashIterations);
            account.RotateSecurityStamp();
            if (currentSession is not null)
            {
                var hash = Secrets.Hash(currentSession);
                var own = await db.Set<StaffSession>().FirstOrDefaultAsync(s => s.TokenHash == hash && s.AccountId == accountId && s.RevokedAt == null, cancellationToken);
                own?.SecurityStamp = account.SecurityStamp;
            }
        }

        audit.Record(db, changed ? "auth.password-change" : "auth.password-change-failed", "account", accountId.ToString());
        await db.SaveChangesAsync(cancellationToken);
        if (changed)
        {
            sessions.NotifyChanged(accountId);
        }

        return (validation, changed);
    }
}
