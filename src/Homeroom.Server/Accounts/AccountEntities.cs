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

    /// <summary>Consecutive failed sign-ins since the last success.</summary>
    public int FailedSignIns { get; set; }

    /// <summary>Sign-in is refused until then, after too many failures.</summary>
    public DateTime? LockedUntil { get; set; }

    /// <summary>What the account may do (see <see cref="Permissions"/>).</summary>
    public StaffRole Role { get; set; } = StaffRole.DistrictAdmin;

    /// <summary>The roster person this account is (a teacher's classes are that person's classes).</summary>
    public Guid? PersonId { get; set; }

    /// <summary>The one school this account works in; null for the whole district. District administrators are never limited.</summary>
    public Guid? SchoolId { get; set; }
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
