using System.Security.Cryptography;

namespace Homeroom.Server.Accounts;

public sealed class StaffAccount
{
    public Guid Id { get; set; }
    public required string Username { get; set; }
    public required string DisplayName { get; set; }

    /// <summary>PBKDF2 hash in the format of <see cref="PasswordHasher"/>.</summary>
    public required string PasswordHash { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? DisabledAt { get; set; }
    public DateTime? LastSignInAt { get; set; }

    /// <summary>
    /// A random value that changes whenever what the account may do changes (disabled, role, school,
    /// person, password). A session signed in under another stamp no longer works.
    /// </summary>
    public string SecurityStamp { get; set; } = NewSecurityStamp();

    /// <summary>What the account may do (see <see cref="Permissions"/>).</summary>
    public StaffRole Role { get; set; } = StaffRole.DistrictAdmin;

    /// <summary>The roster person this account is (a teacher's classes are that person's classes).</summary>
    public Guid? PersonId { get; set; }

    /// <summary>The one school this account works in; null for the whole district. District administrators are never limited.</summary>
    public Guid? SchoolId { get; set; }

    /// <summary>The authenticator app's secret, encrypted by the server's data protection; null until set up.</summary>
    public string? TotpSecret { get; set; }

    /// <summary>When two-step sign-in was turned on (the first code confirmed); null while off or only being set up.</summary>
    public DateTime? TotpEnabledAt { get; set; }

    /// <summary>The last 30-second time step a code was accepted for: a code is good for one sign-in only.</summary>
    public long? TotpLastStep { get; set; }

    /// <summary>Ends every session of the account; call it in the same unit of work as the change that needs it.</summary>
    public void RotateSecurityStamp() => SecurityStamp = NewSecurityStamp();

    /// <summary>What a session's rights depend on: when this changes, the stamp must rotate.</summary>
    public StaffAccess Access() => new(Role, PersonId, SchoolId, DisabledAt is not null);

    private static string NewSecurityStamp() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}

/// <summary>The parts of an account its sessions' rights depend on.</summary>
public readonly record struct StaffAccess(StaffRole Role, Guid? PersonId, Guid? SchoolId, bool Disabled);

/// <summary>
/// A signed-in browser session. The cookie carries a random session id; only its SHA-256 is stored,
/// so a copy of the database signs no one in.
/// </summary>
public sealed class StaffSession
{
    /// <summary>The session's public handle (listing and ending sessions); not the secret.</summary>
    public Guid Id { get; set; }

    public Guid AccountId { get; set; }

    /// <summary>SHA-256 of the session id the cookie carries.</summary>
    public required string TokenHash { get; set; }

    /// <summary>The account's <see cref="StaffAccount.SecurityStamp"/> when the session began (or the password last changed in it).</summary>
    public required string SecurityStamp { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>When a request last used the session, written at most once a minute.</summary>
    public DateTime LastSeenAt { get; set; }

    /// <summary>The session ends then unless used again (idle timeout, never past the maximum lifetime).</summary>
    public DateTime ExpiresAt { get; set; }

    public string? RemoteAddress { get; set; }

    public string? UserAgent { get; set; }

    /// <summary>Set when the session was signed out or ended from another session.</summary>
    public DateTime? RevokedAt { get; set; }
}

/// <summary>A one-time code that signs in instead of the authenticator app (a lost phone); only its SHA-256 is stored.</summary>
public sealed class StaffRecoveryCode
{
    public Guid Id { get; set; }
    public Guid AccountId { get; set; }
    public required string CodeHash { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? UsedAt { get; set; }
}

public sealed class ApiKey
{
    public Guid Id { get; set; }
    public Guid AccountId { get; set; }
    public required string Name { get; set; }

    /// <summary>SHA-256 of the key; keys are 256-bit random values, so a fast hash is enough.</summary>
    public required string KeyHash { get; set; }
    public required string KeyPrefix { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}

/// <summary>
/// A security key (WebAuthn credential) registered to an account as a second sign-in step. Only public values
/// are kept: the credential id, its public key (COSE), the signature counter, the model (AAGUID), and the
/// name the owner gave it; nothing here signs anyone in.
/// </summary>
public sealed class StaffSecurityKey
{
    public Guid Id { get; set; }
    public Guid AccountId { get; set; }

    /// <summary>The credential id the key gave, base64url as browsers send it back (unique across accounts).</summary>
    public required string CredentialId { get; set; }

    /// <summary>The credential's public key, COSE-encoded as the key gave it.</summary>
    public required byte[] PublicKey { get; set; }

    /// <summary>The key's signature counter at its last use: a later use must show a higher one (a clone would not).</summary>
    public long SignCount { get; set; }

    /// <summary>The key's model, as it says (all zeros for keys that do not say).</summary>
    public Guid Aaguid { get; set; }

    public required string Name { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? LastUsedAt { get; set; }
}

/// <summary>
/// A WebAuthn challenge waiting for its answer: used once (deleted when answered, right or wrong), bound to the
/// account and to the session (registration) or the half-finished sign-in (the second step) that asked for it,
/// and good for a few minutes. Expired ones are deleted by <see cref="SessionRetention"/>.
/// </summary>
public sealed class StaffSecurityKeyChallenge
{
    public Guid Id { get; set; }
    public Guid AccountId { get; set; }

    /// <summary>"register" or "sign-in".</summary>
    public required string Purpose { get; set; }

    /// <summary>SHA-256 of the session secret or of the second-step token the challenge was given to.</summary>
    public required string BindingHash { get; set; }

    /// <summary>The options sent to the browser (the challenge among them), as the library writes them: the answer is checked against these.</summary>
    public required string OptionsJson { get; set; }

    public DateTime ExpiresAt { get; set; }
}
