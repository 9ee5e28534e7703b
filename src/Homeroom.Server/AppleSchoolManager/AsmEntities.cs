using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>
/// The one row (id 1) of Apple School Manager settings. The tokens and the enrollment secret are
/// ciphertext from the server's data protection (<see cref="AsmTokenVault"/>); nothing here is ever
/// returned as it is stored.
/// </summary>
public sealed class AsmSettings
{
    public const int SingletonId = 1;

    public int Id { get; set; } = SingletonId;
    public string? ServerToken { get; set; }
    public DateTime? ServerTokenExpiresAt { get; set; }
    public DateTime? ServerTokenUploadedAt { get; set; }
    public string? ContentToken { get; set; }
    public DateTime? ContentTokenExpiresAt { get; set; }
    public string? ContentTokenOrg { get; set; }
    public DateTime? ContentTokenUploadedAt { get; set; }

    /// <summary>The enrollment token ADE devices enroll with (district-wide, made by Homeroom).</summary>
    public Guid? EnrollmentTokenId { get; set; }

    /// <summary>Its secret, encrypted: the check-in URL of every ADE enrollment profile carries it.</summary>
    public string? EnrollmentSecret { get; set; }

    /// <summary>The enrollment profile defined at Apple, and a hash of what it said (a change defines a new one).</summary>
    public string? ProfileUuid { get; set; }
    public string? ProfileHash { get; set; }

    /// <summary>Apple's cursor after the last fetch or sync; null starts with a full fetch.</summary>
    public string? Cursor { get; set; }
    public DateTime? CursorAt { get; set; }
    public DateTime? LastSyncAt { get; set; }
    public string? LastSyncError { get; set; }
    public DateTime? LicencesSyncedAt { get; set; }
}

/// <summary>A device Apple School Manager assigned to this server, as Apple last described it.</summary>
public sealed class AdeDevice
{
    public required string Serial { get; set; }
    public string? Model { get; set; }
    public string? Description { get; set; }
    public string? Color { get; set; }
    public string? DeviceFamily { get; set; }
    public string? Os { get; set; }

    /// <summary>Apple's profile status: empty, assigned, pushed or removed.</summary>
    public required string ProfileStatus { get; set; }
    public string? ProfileUuid { get; set; }
    public DateTime? ProfileAssignedAt { get; set; }
    public DateTime? DeviceAssignedAt { get; set; }

    /// <summary>added, modified or deleted (a full fetch reports added).</summary>
    public required string OpType { get; set; }
    public DateTime? OpDate { get; set; }

    /// <summary>Why Apple refused to assign the profile (NOT_ACCESSIBLE, FAILED), when it did.</summary>
    public string? AssignError { get; set; }
    public DateTime UpdatedAt { get; set; }
}

internal sealed class AsmSettingsConfiguration : IEntityTypeConfiguration<AsmSettings>
{
    public void Configure(EntityTypeBuilder<AsmSettings> builder)
    {
        builder.ToTable("asm_settings");
        builder.Property(s => s.Id).ValueGeneratedNever();
    }
}

internal sealed class AdeDeviceConfiguration : IEntityTypeConfiguration<AdeDevice>
{
    public void Configure(EntityTypeBuilder<AdeDevice> builder)
    {
        builder.ToTable("ade_devices");
        builder.HasKey(d => d.Serial);
    }
}
