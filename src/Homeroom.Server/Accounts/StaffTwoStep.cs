using System.Security.Cryptography;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OtpNet;

namespace Homeroom.Server.Accounts;

/// <summary>
/// Whether an account signs in with an authenticator code (<paramref name="Enabled"/>), how many security keys it has
/// (<see cref="StaffSecurityKeys"/>), how many recovery codes it has left, and whether the district requires a second step.
/// </summary>
public sealed record TwoStepStatusDto(bool Enabled, DateTime? EnabledAt, int RecoveryCodesLeft, bool Required, int SecurityKeys = 0)
{
    /// <summary>Whether signing in takes a second step at all (a code, a key, or either).</summary>
    public bool AnySecondStep => Enabled || SecurityKeys > 0;
}

/// <summary>A new authenticator secret, shown once while setting up: as text to type and as an otpauth URI for a QR code.</summary>
public sealed record TwoStepSetupDto(string Secret, string OtpAuthUri);

/// <summary>Recovery codes, shown once when made.</summary>
public sealed record RecoveryCodesDto(IReadOnlyList<string> Codes);

public sealed record TwoStepPasswordRequest(string? CurrentPassword);

public sealed record TwoStepConfirmRequest(string? Code);

public sealed record TwoStepDisableRequest(string? CurrentPassword, string? Code);

/// <summary>How a two-step change ended.</summary>
public enum TwoStepOutcome
{
    Done,
    WrongPassword,
    WrongCode,

    /// <summary>No authenticator secret has been set up to confirm.</summary>
    NotSetUp,

    /// <summary>Already on: turn it off first to set up another authenticator.</summary>
    AlreadyOn,

    /// <summary>The district requires it for this role, so it cannot be turned off.</summary>
    Required,
}

/// <summary>
/// Two-step sign-in for local staff accounts: a time-based one-time code (RFC 6238: SHA-1, 6 digits,
/// 30-second steps, one step of clock drift either way) from an authenticator app, or one of ten
/// recovery codes. The secret is kept encrypted by data protection; a code is accepted once (the
/// last accepted step is stored and moved forward atomically); recovery codes are stored hashed and
/// each is used once. Every change is audited; turning it on or off ends the account's other sessions.
/// Security keys (<see cref="StaffSecurityKeys"/>) are the other second step: an account with either (or both)
/// signs in in two steps, and the recovery codes last as long as one of them does.
/// </summary>
public sealed class StaffTwoStep(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    IDataProtectionProvider protection,
    AuditTrail audit,
    StaffSessions sessions,
    TimeProvider time,
    IOptions<AccountOptions> options)
{
    public const int RecoveryCodeCount = 10;
    public const int MaxCodeLength = 32;
    private const string Issuer = "Homeroom";
    private const string RecoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789";

    private readonly IDataProtector _protector = protection.CreateProtector("Homeroom.Accounts.TotpSecret");

    /// <summary>Whether the district requires two-step sign-in of this role.</summary>
    public bool IsRequiredFor(StaffRole role) => options.Value.RequireTwoStepForDistrictAdmins && role == StaffRole.DistrictAdmin;

    public async Task<TwoStepStatusDto?> StatusAsync(Guid accountId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.AsNoTracking().Where(a => a.Id == accountId)
            .Select(a => new { a.Role, a.TotpEnabledAt }).FirstOrDefaultAsync(cancellationToken);
        if (account is null)
        {
            return null;
        }

        var left = await db.Set<StaffRecoveryCode>().CountAsync(c => c.AccountId == accountId && c.UsedAt == null, cancellationToken);
        var keys = await db.Set<StaffSecurityKey>().CountAsync(k => k.AccountId == accountId, cancellationToken);
        return new TwoStepStatusDto(
            account.TotpEnabledAt is not null, account.TotpEnabledAt, account.TotpEnabledAt is null && keys == 0 ? 0 : left, IsRequiredFor(account.Role), keys);
    }

    /// <summary>Whether the account signs in in two steps: an authenticator app, a security key, or both.</summary>
    public static async Task<bool> HasSecondStepAsync(HomeroomDbContext db, StaffAccount account, CancellationToken cancellationToken) =>
        account.TotpEnabledAt is not null || await HasSecurityKeyAsync(db, account.Id, cancellationToken);

    public static Task<bool> HasSecurityKeyAsync(HomeroomDbContext db, Guid accountId, CancellationToken cancellationToken) =>
        db.Set<StaffSecurityKey>().AnyAsync(k => k.AccountId == accountId, cancellationToken);

    /// <summary>Makes a new secret for the account (the current password is required); it works once a code from it is confirmed.</summary>
    public async Task<(TwoStepOutcome Outcome, TwoStepSetupDto? Setup)> BeginSetupAsync(Guid accountId, string currentPassword, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Id == accountId, cancellationToken);
        if (account is null || !PasswordHasher.Verify(currentPassword, account.PasswordHash))
        {
            audit.Record(db, "auth.two-step-setup-failed", "account", accountId.ToString(), "wrong password");
            await db.SaveChangesAsync(cancellationToken);
            return (TwoStepOutcome.WrongPassword, null);
        }

        if (account.TotpEnabledAt is not null)
        {
            return (TwoStepOutcome.AlreadyOn, null);
        }

        var secret = KeyGeneration.GenerateRandomKey(20);
        account.TotpSecret = _protector.Protect(Base32Encoding.ToString(secret));
        account.TotpLastStep = null;
        audit.Record(db, "auth.two-step-setup", "account", accountId.ToString());
        await db.SaveChangesAsync(cancellationToken);
        var text = Base32Encoding.ToString(secret);
        var label = Uri.EscapeDataString($"{Issuer}:{account.Username}");
        return (TwoStepOutcome.Done, new TwoStepSetupDto(text, $"otpauth://totp/{label}?secret={text}&issuer={Issuer}&algorithm=SHA1&digits=6&period=30"));
    }

    /// <summary>
    /// Turns two-step sign-in on with the first code from the new secret, and returns the recovery codes
    /// (shown once). Other sessions of the account end; <paramref name="currentSession"/> goes on.
    /// </summary>
    public async Task<(TwoStepOutcome Outcome, RecoveryCodesDto? Codes)> ConfirmAsync(Guid accountId, string? currentSession, string code, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Id == accountId, cancellationToken);
        if (account is null || account.TotpSecret is null)
        {
            return (TwoStepOutcome.NotSetUp, null);
        }

        if (account.TotpEnabledAt is not null)
        {
            return (TwoStepOutcome.AlreadyOn, null);
        }

        if (MatchingStep(account, code) is not { } step)
        {
            audit.Record(db, "auth.two-step-confirm-failed", "account", accountId.ToString(), "wrong code");
            await db.SaveChangesAsync(cancellationToken);
            return (TwoStepOutcome.WrongCode, null);
        }

        var now = time.GetUtcNow().UtcDateTime;
        account.TotpEnabledAt = now;
        account.TotpLastStep = step;
        // With a security key already, the account has its recovery codes: new ones are made (and shown once) all the same.
        var codes = ReplaceRecoveryCodes(db, accountId, now);
        await EndOtherSessionsAsync(db, account, currentSession, cancellationToken);
        audit.Record(db, "auth.two-step-on", "account", accountId.ToString());
        await db.SaveChangesAsync(cancellationToken);
        sessions.NotifyChanged(accountId);
        return (TwoStepOutcome.Done, new RecoveryCodesDto(codes));
    }

    /// <summary>Replaces the recovery codes (the current password is required); the old ones stop working.</summary>
    public async Task<(TwoStepOutcome Outcome, RecoveryCodesDto? Codes)> NewRecoveryCodesAsync(Guid accountId, string currentPassword, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Id == accountId, cancellationToken);
        if (account is null || !PasswordHasher.Verify(currentPassword, account.PasswordHash))
        {
            audit.Record(db, "auth.recovery-codes-failed", "account", accountId.ToString(), "wrong password");
            await db.SaveChangesAsync(cancellationToken);
            return (TwoStepOutcome.WrongPassword, null);
        }

        if (!await HasSecondStepAsync(db, account, cancellationToken))
        {
            return (TwoStepOutcome.NotSetUp, null);
        }

        var codes = ReplaceRecoveryCodes(db, accountId, time.GetUtcNow().UtcDateTime);
        audit.Record(db, "auth.recovery-codes-new", "account", accountId.ToString());
        await db.SaveChangesAsync(cancellationToken);
        return (TwoStepOutcome.Done, new RecoveryCodesDto(codes));
    }

    /// <summary>Turns two-step sign-in off with the current password and a code; refused where the district requires it.</summary>
    public async Task<TwoStepOutcome> DisableAsync(Guid accountId, string? currentSession, string currentPassword, string code, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Id == accountId, cancellationToken);
        if (account is null || !PasswordHasher.Verify(currentPassword, account.PasswordHash))
        {
            audit.Record(db, "auth.two-step-off-failed", "account", accountId.ToString(), "wrong password");
            await db.SaveChangesAsync(cancellationToken);
            return TwoStepOutcome.WrongPassword;
        }

        if (account.TotpEnabledAt is null)
        {
            return TwoStepOutcome.NotSetUp;
        }

        var hasKey = await HasSecurityKeyAsync(db, account.Id, cancellationToken);
        if (IsRequiredFor(account.Role) && !hasKey)
        {
            return TwoStepOutcome.Required;
        }

        if (!await VerifyAsync(db, account, code, cancellationToken))
        {
            audit.Record(db, "auth.two-step-off-failed", "account", accountId.ToString(), "wrong code");
            await db.SaveChangesAsync(cancellationToken);
            return TwoStepOutcome.WrongCode;
        }

        TurnOff(db, account, keepRecoveryCodes: hasKey);
        await EndOtherSessionsAsync(db, account, currentSession, cancellationToken);
        audit.Record(db, "auth.two-step-off", "account", accountId.ToString());
        await db.SaveChangesAsync(cancellationToken);
        sessions.NotifyChanged(accountId);
        return TwoStepOutcome.Done;
    }

    /// <summary>
    /// An administrator turns another account's two-step sign-in off (a lost phone or key and no recovery codes):
    /// the authenticator app, every security key and the recovery codes go, the account's sessions end and,
    /// where it is required, it must set it up again at its next sign-in.
    /// False when the account is not within the scope.
    /// </summary>
    public async Task<bool> ResetAsync(StaffScope by, Guid accountId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await by.Accounts(db).AsTracking().FirstOrDefaultAsync(a => a.Id == accountId, cancellationToken);
        if (account is null)
        {
            return false;
        }

        TurnOff(db, account, keepRecoveryCodes: false);
        var keys = await db.Set<StaffSecurityKey>().Where(k => k.AccountId == accountId).ExecuteDeleteAsync(cancellationToken);
        account.RotateSecurityStamp();
        if (keys > 0)
        {
            audit.Record(db, "auth.security-key-removed", "account", accountId.ToString(), $"all {keys}, by {by.Username} (two-step reset)", account.SchoolId);
        }

        audit.Record(db, "auth.two-step-reset", "account", accountId.ToString(), $"by {by.Username}", account.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        sessions.NotifyChanged(accountId);
        return true;
    }

    /// <summary>
    /// Checks a sign-in's second step: an authenticator code newer than the last one accepted, or an unused
    /// recovery code. Each is consumed in one conditional update, so two requests with one code cannot both pass.
    /// </summary>
    public async Task<bool> VerifyAsync(HomeroomDbContext db, StaffAccount account, string? code, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(code) || code.Length > MaxCodeLength)
        {
            return false;
        }

        var normalized = new string(code.Where(c => !char.IsWhiteSpace(c) && c != '-').ToArray()).ToLowerInvariant();
        if (normalized.Length == 6 && normalized.All(char.IsAsciiDigit))
        {
            if (account.TotpEnabledAt is null)
            {
                return false;
            }

            if (MatchingStep(account, normalized) is not { } step || step <= (account.TotpLastStep ?? long.MinValue))
            {
                return false;
            }

            var taken = await db.StaffAccounts
                .Where(a => a.Id == account.Id && (a.TotpLastStep == null || a.TotpLastStep < step))
                .ExecuteUpdateAsync(u => u.SetProperty(a => a.TotpLastStep, step), cancellationToken);
            return taken == 1;
        }

        // Recovery codes exist only while the account has a second step (an app or a key) and are deleted with the last one.
        var hash = Secrets.Hash(normalized);
        var used = await db.Set<StaffRecoveryCode>()
            .Where(c => c.AccountId == account.Id && c.CodeHash == hash && c.UsedAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.UsedAt, time.GetUtcNow().UtcDateTime), cancellationToken);
        if (used == 1)
        {
            audit.Record(db, "auth.recovery-code-used", "account", account.Id.ToString());
        }

        return used == 1;
    }

    private long? MatchingStep(StaffAccount account, string code)
    {
        if (account.TotpSecret is null || code.Length != 6 || !code.All(char.IsAsciiDigit))
        {
            return null;
        }

        byte[] secret;
        try
        {
            secret = Base32Encoding.ToBytes(_protector.Unprotect(account.TotpSecret));
        }
        catch (CryptographicException)
        {
            // Keys lost or the value tampered with: no code can match; an administrator resets it.
            return null;
        }

        var totp = new Totp(secret, step: 30, mode: OtpHashMode.Sha1, totpSize: 6);
        return totp.VerifyTotp(time.GetUtcNow().UtcDateTime, code, out var step, new VerificationWindow(previous: 1, future: 1)) ? step : null;
    }

    private static void TurnOff(HomeroomDbContext db, StaffAccount account, bool keepRecoveryCodes)
    {
        account.TotpSecret = null;
        account.TotpEnabledAt = null;
        account.TotpLastStep = null;
        if (!keepRecoveryCodes)
        {
            db.Set<StaffRecoveryCode>().RemoveRange(db.Set<StaffRecoveryCode>().Where(c => c.AccountId == account.Id));
        }
    }

    internal static List<string> ReplaceRecoveryCodes(HomeroomDbContext db, Guid accountId, DateTime now)
    {
        db.Set<StaffRecoveryCode>().RemoveRange(db.Set<StaffRecoveryCode>().Where(c => c.AccountId == accountId));
        var codes = new List<string>(RecoveryCodeCount);
        for (var i = 0; i < RecoveryCodeCount; i++)
        {
            var code = RandomNumberGenerator.GetString(RecoveryAlphabet, 10);
            codes.Add($"{code[..5]}-{code[5..]}");
            db.Set<StaffRecoveryCode>().Add(new StaffRecoveryCode { Id = Guid.CreateVersion7(), AccountId = accountId, CodeHash = Secrets.Hash(code), CreatedAt = now });
        }

        return codes;
    }

    // As a password change does: other sessions began with one step less (or more) than the account now asks.
    internal static async Task EndOtherSessionsAsync(HomeroomDbContext db, StaffAccount account, string? currentSession, CancellationToken cancellationToken)
    {
        account.RotateSecurityStamp();
        if (currentSession is not null)
        {
            var hash = Secrets.Hash(currentSession);
            var own = await db.Set<StaffSession>().FirstOrDefaultAsync(s => s.TokenHash == hash && s.AccountId == account.Id && s.RevokedAt == null, cancellationToken);
            own?.SecurityStamp = account.SecurityStamp;
        }
    }
}
