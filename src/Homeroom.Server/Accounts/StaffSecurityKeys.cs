using System.Buffers.Text;
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text.Json;
using Fido2NetLib;
using Fido2NetLib.Exceptions;
using Fido2NetLib.Objects;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Accounts;

/// <summary>A registered security key as its owner sees it (nothing of the credential itself).</summary>
public sealed record SecurityKeyDto(Guid Id, string Name, DateTime CreatedAt, DateTime? LastUsedAt);

/// <summary>How a security key change ended.</summary>
public enum SecurityKeyOutcome
{
    Done,
    WrongPassword,

    /// <summary>The name or the browser's answer is missing, too long, or not a valid WebAuthn answer to the challenge.</summary>
    Invalid,

    /// <summary>No challenge waits for this session: never asked, already answered, or too late.</summary>
    NoChallenge,

    /// <summary>The account already has <see cref="StaffSecurityKeys.MaxKeysPerAccount"/> keys.</summary>
    TooMany,

    /// <summary>This key is already registered (to this account or another).</summary>
    AlreadyRegistered,

    NotFound,

    /// <summary>The district requires a second step for this role and this is the account's last one.</summary>
    Required,
}

/// <summary>How a security key answered a sign-in's second step.</summary>
public enum SecurityKeyCheck
{
    Passed,
    Failed,

    /// <summary>The key's signature counter did not go up: a copy of the key may be in use. Refused and audited.</summary>
    CounterWentBack,
}

/// <summary>
/// Security keys (WebAuthn, through the Fido2 library) as a second sign-in step for local staff accounts, beside
/// or instead of the authenticator app (<see cref="StaffTwoStep"/>). Registering needs the current password and a
/// session; each challenge is stored for <see cref="ChallengeLifetime"/>, bound to the account and to the session
/// (or the half-finished sign-in) it was given to, and deleted when answered, right or wrong. The relying party is
/// the host of <see cref="AccountOptions.PublicOrigin"/> when set, else of the address the browser used. The first
/// second step an account gets (a key here, or the authenticator app) brings recovery codes, shown once; removing
/// the last one takes them away. Every change and use is audited.
/// </summary>
public sealed class StaffSecurityKeys(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AuditTrail audit,
    StaffSessions sessions,
    TimeProvider time,
    IOptions<AccountOptions> options,
    ILogger<StaffSecurityKeys> logger)
{
    public const int MaxKeysPerAccount = 10;
    public const int MaxNameLength = 60;

    /// <summary>The longest answer from the browser (attestation or assertion JSON) looked at; real ones are well under 2 KB.</summary>
    public const int MaxResponseLength = 8 * 1024;

    /// <summary>How long a challenge waits for its answer.</summary>
    public static readonly TimeSpan ChallengeLifetime = TimeSpan.FromMinutes(5);

    private const string RegisterPurpose = "register";
    private const string SignInPurpose = "sign-in";

    // Ed25519 is left out: the library checks it with NSec, which the package mirror serves only in another version than it was built with.
    private static readonly IReadOnlyList<PubKeyCredParam> Algorithms = [PubKeyCredParam.ES256, PubKeyCredParam.RS256, PubKeyCredParam.PS256, PubKeyCredParam.ES384];

    /// <summary>The origin WebAuthn answers must come from: the configured public origin, else the one the browser used.</summary>
    public string OriginFor(string requestOrigin) =>
        new Uri(string.IsNullOrEmpty(options.Value.PublicOrigin) ? requestOrigin : options.Value.PublicOrigin).GetLeftPart(UriPartial.Authority);

    public async Task<List<SecurityKeyDto>> ListAsync(Guid accountId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var keys = await db.Set<StaffSecurityKey>().AsNoTracking().Where(k => k.AccountId == accountId)
            .Select(k => new SecurityKeyDto(k.Id, k.Name, k.CreatedAt, k.LastUsedAt)).ToListAsync(cancellationToken);
        return [.. keys.OrderBy(k => k.CreatedAt)];
    }

    /// <summary>
    /// Begins adding a key: checks the current password and returns the options for <c>navigator.credentials.create</c>
    /// (as JSON), their challenge bound to the account and <paramref name="session"/>.
    /// </summary>
    public async Task<(SecurityKeyOutcome Outcome, string? OptionsJson)> BeginRegistrationAsync(
        Guid accountId, string? session, string? currentPassword, string requestOrigin, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Id == accountId, cancellationToken);
        if (account is null || session is null || currentPassword is not { Length: > 0 and <= AccountEndpoints.MaxPasswordLength }
            || !PasswordHasher.Verify(currentPassword, account.PasswordHash))
        {
            audit.Record(db, "auth.security-key-add-failed", "account", accountId.ToString(), "wrong password");
            await db.SaveChangesAsync(cancellationToken);
            return (SecurityKeyOutcome.WrongPassword, null);
        }

        var existing = await db.Set<StaffSecurityKey>().Where(k => k.AccountId == accountId).Select(k => k.CredentialId).ToListAsync(cancellationToken);
        if (existing.Count >= MaxKeysPerAccount)
        {
            return (SecurityKeyOutcome.TooMany, null);
        }

        var created = RelyingParty(requestOrigin).RequestNewCredential(new RequestNewCredentialParams
        {
            User = new Fido2User { Id = account.Id.ToByteArray(), Name = account.Username, DisplayName = account.DisplayName },
            ExcludeCredentials = [.. existing.Select(id => new PublicKeyCredentialDescriptor(Base64Url.DecodeFromChars(id)))],
            // A second step after the password: a key that is present is enough; it need not hold the account (no resident key).
            AuthenticatorSelection = new AuthenticatorSelection { ResidentKey = ResidentKeyRequirement.Discouraged, UserVerification = UserVerificationRequirement.Discouraged },
            AttestationPreference = AttestationConveyancePreference.None,
            PubKeyCredParams = Algorithms,
        });
        var json = created.ToJson();
        await StoreChallengeAsync(db, accountId, RegisterPurpose, session, json, cancellationToken);
        return (SecurityKeyOutcome.Done, json);
    }

    /// <summary>
    /// Adds the key from the browser's answer to the challenge <see cref="BeginRegistrationAsync"/> gave this session
    /// (used up either way). When it is the account's first second step, the recovery codes come back (shown once)
    /// and the account's other sessions end, as turning on the authenticator app does.
    /// </summary>
    public async Task<(SecurityKeyOutcome Outcome, RecoveryCodesDto? RecoveryCodes)> FinishRegistrationAsync(
        Guid accountId, string? session, string? name, string? attestationJson, string requestOrigin, CancellationToken cancellationToken)
    {
        name = name?.Trim();
        if (session is null || name is not { Length: > 0 and <= MaxNameLength } || attestationJson is not { Length: > 0 and <= MaxResponseLength })
        {
            return (SecurityKeyOutcome.Invalid, null);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (await TakeChallengeAsync(db, accountId, RegisterPurpose, session, cancellationToken) is not { } optionsJson)
        {
            return (SecurityKeyOutcome.NoChallenge, null);
        }

        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Id == accountId, cancellationToken);
        if (account is null || Parse<AuthenticatorAttestationRawResponse>(attestationJson) is not { Response: not null, RawId: not null } answer)
        {
            return await RefusedAsync(db, accountId, "auth.security-key-add-failed", "not a WebAuthn registration", cancellationToken);
        }

        RegisteredPublicKeyCredential credential;
        try
        {
            credential = await RelyingParty(requestOrigin).MakeNewCredentialAsync(new MakeNewCredentialParams
            {
                AttestationResponse = answer,
                OriginalOptions = CredentialCreateOptions.FromJson(optionsJson),
                IsCredentialIdUniqueToUserCallback = async (p, ct) =>
                {
                    var id = Base64Url.EncodeToString(p.CredentialId);
                    return !await db.Set<StaffSecurityKey>().AnyAsync(k => k.CredentialId == id, ct);
                },
            }, cancellationToken);
        }
        catch (Fido2VerificationException e) when (e.Code == Fido2ErrorCode.NonUniqueCredentialId)
        {
            return (SecurityKeyOutcome.AlreadyRegistered, null);
        }
        catch (Exception e) when (IsMalformed(e))
        {
            return await RefusedAsync(db, accountId, "auth.security-key-add-failed", e.Message, cancellationToken);
        }

        var keys = await db.Set<StaffSecurityKey>().CountAsync(k => k.AccountId == accountId, cancellationToken);
        if (keys >= MaxKeysPerAccount)
        {
            return (SecurityKeyOutcome.TooMany, null);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var first = keys == 0 && account.TotpEnabledAt is null;
        var key = new StaffSecurityKey
        {
            Id = Guid.CreateVersion7(), AccountId = accountId, CredentialId = Base64Url.EncodeToString(credential.Id), PublicKey = credential.PublicKey,
            SignCount = credential.SignCount, Aaguid = credential.AaGuid, Name = name, CreatedAt = now,
        };
        db.Set<StaffSecurityKey>().Add(key);
        List<string>? codes = null;
        if (first)
        {
            codes = StaffTwoStep.ReplaceRecoveryCodes(db, accountId, now);
            await StaffTwoStep.EndOtherSessionsAsync(db, account, session, cancellationToken);
        }

        audit.Record(db, "auth.security-key-added", "account", accountId.ToString(), $"\"{name}\" ({key.Id})");
        await db.SaveChangesAsync(cancellationToken);
        if (first)
        {
            sessions.NotifyChanged(accountId);
        }

        return (SecurityKeyOutcome.Done, codes is null ? null : new RecoveryCodesDto(codes));
    }

    /// <summary>
    /// Removes one of the account's keys (the current password is required). Refused for the account's last second
    /// step where the district requires one; removing the last one takes the recovery codes away and ends the
    /// account's other sessions.
    /// </summary>
    public async Task<SecurityKeyOutcome> RemoveAsync(Guid accountId, string? session, string? currentPassword, Guid keyId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var account = await db.StaffAccounts.FirstOrDefaultAsync(a => a.Id == accountId, cancellationToken);
        if (account is null || currentPassword is not { Length: > 0 and <= AccountEndpoints.MaxPasswordLength } || !PasswordHasher.Verify(currentPassword, account.PasswordHash))
        {
            audit.Record(db, "auth.security-key-remove-failed", "account", accountId.ToString(), "wrong password");
            await db.SaveChangesAsync(cancellationToken);
            return SecurityKeyOutcome.WrongPassword;
        }

        var key = await db.Set<StaffSecurityKey>().FirstOrDefaultAsync(k => k.Id == keyId && k.AccountId == accountId, cancellationToken);
        if (key is null)
        {
            return SecurityKeyOutcome.NotFound;
        }

        var last = account.TotpEnabledAt is null && !await db.Set<StaffSecurityKey>().AnyAsync(k => k.AccountId == accountId && k.Id != keyId, cancellationToken);
        if (last && options.Value.RequireTwoStepForDistrictAdmins && account.Role == StaffRole.DistrictAdmin)
        {
            return SecurityKeyOutcome.Required;
        }

        db.Set<StaffSecurityKey>().Remove(key);
        if (last)
        {
            db.Set<StaffRecoveryCode>().RemoveRange(db.Set<StaffRecoveryCode>().Where(c => c.AccountId == accountId));
            await StaffTwoStep.EndOtherSessionsAsync(db, account, session, cancellationToken);
        }

        audit.Record(db, "auth.security-key-removed", "account", accountId.ToString(), $"\"{key.Name}\" ({key.Id})");
        await db.SaveChangesAsync(cancellationToken);
        if (last)
        {
            sessions.NotifyChanged(accountId);
        }

        return SecurityKeyOutcome.Done;
    }

    /// <summary>
    /// The options for <c>navigator.credentials.get</c> (as JSON) for a sign-in's second step, the challenge bound to
    /// the account and <paramref name="binding"/> (the token that vouches for the password); null when the account has no key.
    /// </summary>
    public async Task<string?> BeginSignInAsync(HomeroomDbContext db, Guid accountId, string binding, string requestOrigin, CancellationToken cancellationToken)
    {
        var keys = await db.Set<StaffSecurityKey>().Where(k => k.AccountId == accountId).Select(k => k.CredentialId).ToListAsync(cancellationToken);
        if (keys.Count == 0)
        {
            return null;
        }

        var assertion = RelyingParty(requestOrigin).GetAssertionOptions(new GetAssertionOptionsParams
        {
            AllowedCredentials = [.. keys.Select(id => new PublicKeyCredentialDescriptor(Base64Url.DecodeFromChars(id)))],
            UserVerification = UserVerificationRequirement.Discouraged,
        });
        var json = assertion.ToJson();
        await StoreChallengeAsync(db, accountId, SignInPurpose, binding, json, cancellationToken);
        return json;
    }

    /// <summary>
    /// Checks a sign-in's second step answered by a key: the challenge given to <paramref name="binding"/> (used up
    /// either way), one of the account's keys, its signature over the challenge with the stored public key, from the
    /// expected origin and relying party, and a signature counter above the stored one (moved on in one conditional
    /// update, so one answer cannot sign in twice). Audits the use or the refusal; <paramref name="db"/> is saved.
    /// </summary>
    public async Task<SecurityKeyCheck> VerifySignInAsync(
        HomeroomDbContext db, StaffAccount account, string binding, string? assertionJson, string requestOrigin, CancellationToken cancellationToken)
    {
        if (assertionJson is not { Length: > 0 and <= MaxResponseLength })
        {
            return await RefusedSignInAsync(db, account, "no answer, or too long", cancellationToken);
        }

        if (await TakeChallengeAsync(db, account.Id, SignInPurpose, binding, cancellationToken) is not { } optionsJson)
        {
            return await RefusedSignInAsync(db, account, "no challenge waiting (already answered, or too late)", cancellationToken);
        }

        if (Parse<AuthenticatorAssertionRawResponse>(assertionJson) is not { Response: not null, RawId: not null } answer)
        {
            return await RefusedSignInAsync(db, account, "not a WebAuthn assertion", cancellationToken);
        }

        var credentialId = Base64Url.EncodeToString(answer.RawId);
        var key = await db.Set<StaffSecurityKey>().AsNoTracking().FirstOrDefaultAsync(k => k.CredentialId == credentialId && k.AccountId == account.Id, cancellationToken);
        if (key is null)
        {
            return await RefusedSignInAsync(db, account, "a key not registered to this account", cancellationToken);
        }

        VerifyAssertionResult verified;
        try
        {
            var userHandle = account.Id.ToByteArray();
            verified = await RelyingParty(requestOrigin).MakeAssertionAsync(new MakeAssertionParams
            {
                AssertionResponse = answer,
                OriginalOptions = AssertionOptions.FromJson(optionsJson),
                StoredPublicKey = key.PublicKey,
                StoredSignatureCounter = (uint)key.SignCount,
                IsUserHandleOwnerOfCredentialIdCallback = (p, _) => Task.FromResult(p.UserHandle.AsSpan().SequenceEqual(userHandle)),
            }, cancellationToken);
        }
        catch (Fido2VerificationException e) when (e.Code == Fido2ErrorCode.InvalidSignCount)
        {
            AccountsLog.SecurityKeyCounterWentBack(logger, key.Id, account.Id);
            audit.Record(db, "auth.security-key-refused", "account", account.Id.ToString(),
                $"\"{key.Name}\" ({key.Id}): its signature counter did not go up (stored {key.SignCount}); the key may have been copied");
            await db.SaveChangesAsync(cancellationToken);
            return SecurityKeyCheck.CounterWentBack;
        }
        catch (Exception e) when (IsMalformed(e))
        {
            return await RefusedSignInAsync(db, account, $"\"{key.Name}\" ({key.Id}): {e.Message}", cancellationToken);
        }

        var now = time.GetUtcNow().UtcDateTime;
        long counter = verified.SignCount;
        var stored = key.SignCount;
        // A key without a counter sends 0 every time; one with a counter must raise it, and only one use can.
        var moved = await db.Set<StaffSecurityKey>()
            .Where(k => k.Id == key.Id && k.SignCount == stored)
            .ExecuteUpdateAsync(u => u.SetProperty(k => k.SignCount, counter).SetProperty(k => k.LastUsedAt, now), cancellationToken);
        if (moved != 1)
        {
            return await RefusedSignInAsync(db, account, $"\"{key.Name}\" ({key.Id}): used by another sign-in at the same moment", cancellationToken);
        }

        audit.Record(db, "auth.security-key-used", "account", account.Id.ToString(), $"\"{key.Name}\" ({key.Id})");
        await db.SaveChangesAsync(cancellationToken);
        return SecurityKeyCheck.Passed;
    }

    /// <summary>Deletes challenges past their time (called by <see cref="SessionRetention"/>).</summary>
    public static Task<int> PurgeExpiredChallengesAsync(HomeroomDbContext db, DateTime now, CancellationToken cancellationToken) =>
        db.Set<StaffSecurityKeyChallenge>().Where(c => c.ExpiresAt <= now).ExecuteDeleteAsync(cancellationToken);

    private Fido2 RelyingParty(string requestOrigin)
    {
        var origin = OriginFor(requestOrigin);
        return new Fido2(new Fido2Configuration
        {
            RPID = new Uri(origin).Host,
            RPName = "Homeroom",
            Origins = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { origin },
            Timeout = (uint)ChallengeLifetime.TotalMilliseconds,
        });
    }

    // One challenge waits per (account, purpose, session): asking again replaces it.
    private async Task StoreChallengeAsync(HomeroomDbContext db, Guid accountId, string purpose, string binding, string optionsJson, CancellationToken cancellationToken)
    {
        var hash = Secrets.Hash(binding);
        await db.Set<StaffSecurityKeyChallenge>().Where(c => c.AccountId == accountId && c.Purpose == purpose && c.BindingHash == hash).ExecuteDeleteAsync(cancellationToken);
        db.Set<StaffSecurityKeyChallenge>().Add(new StaffSecurityKeyChallenge
        {
            Id = Guid.CreateVersion7(), AccountId = accountId, Purpose = purpose, BindingHash = hash, OptionsJson = optionsJson,
            ExpiresAt = time.GetUtcNow().UtcDateTime + ChallengeLifetime,
        });
        await db.SaveChangesAsync(cancellationToken);
    }

    // The waiting challenge, deleted in one statement so that two answers cannot both use it; null when none is (still) good.
    private async Task<string?> TakeChallengeAsync(HomeroomDbContext db, Guid accountId, string purpose, string binding, CancellationToken cancellationToken)
    {
        var hash = Secrets.Hash(binding);
        var challenge = await db.Set<StaffSecurityKeyChallenge>().AsNoTracking()
            .Where(c => c.AccountId == accountId && c.Purpose == purpose && c.BindingHash == hash)
            .OrderByDescending(c => c.ExpiresAt).FirstOrDefaultAsync(cancellationToken);
        if (challenge is null)
        {
            return null;
        }

        var taken = await db.Set<StaffSecurityKeyChallenge>().Where(c => c.Id == challenge.Id).ExecuteDeleteAsync(cancellationToken);
        return taken == 1 && challenge.ExpiresAt > time.GetUtcNow().UtcDateTime ? challenge.OptionsJson : null;
    }

    private static T? Parse<T>(string json)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json);
        }
        catch (JsonException)
        {
            return null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    // What the library throws for an answer that is not well formed or does not verify; anything else is a bug to see.
    private static bool IsMalformed(Exception e) =>
        e is Fido2VerificationException or CborContentException or FormatException or ArgumentException or InvalidOperationException or OverflowException
            or CryptographicException or JsonException or NotSupportedException or KeyNotFoundException or IndexOutOfRangeException;

    private async Task<(SecurityKeyOutcome, RecoveryCodesDto?)> RefusedAsync(HomeroomDbContext db, Guid accountId, string action, string reason, CancellationToken cancellationToken)
    {
        audit.Record(db, action, "account", accountId.ToString(), Limit(reason));
        await db.SaveChangesAsync(cancellationToken);
        return (SecurityKeyOutcome.Invalid, null);
    }

    private async Task<SecurityKeyCheck> RefusedSignInAsync(HomeroomDbContext db, StaffAccount account, string reason, CancellationToken cancellationToken)
    {
        audit.Record(db, "auth.security-key-refused", "account", account.Id.ToString(), Limit(reason));
        await db.SaveChangesAsync(cancellationToken);
        return SecurityKeyCheck.Failed;
    }

    private static string Limit(string text) => text.Length <= 300 ? text : text[..300];
}
