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
