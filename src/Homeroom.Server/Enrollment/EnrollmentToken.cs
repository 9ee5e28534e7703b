namespace Homeroom.Server.Enrollment;

public sealed class EnrollmentToken
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public Guid? SchoolId { get; set; }
    public Guid? GroupId { get; set; }

    /// <summary>SHA-256 of the token secret, which is shown once at creation.</summary>
    public required string SecretHash { get; set; }

    /// <summary>The last characters of the secret, so staff can tell tokens apart.</summary>
    public required string SecretHint { get; set; }
    public DateTime ExpiresAt { get; set; }
    public int? MaxUses { get; set; }
    public int UseCount { get; set; }
    public DateTime? RevokedAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public required string CreatedBy { get; set; }
}
