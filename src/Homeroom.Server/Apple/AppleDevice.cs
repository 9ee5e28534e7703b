using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Apple;

/// <summary>The MDM side of an Apple device: its UDID, the identity certificate it proved, and how to wake it.</summary>
public sealed class AppleDevice
{
    public Guid DeviceId { get; set; }
    public required string Udid { get; set; }
    /// <summary>SHA-256 of the device identity certificate every message must be signed with.</summary>
    public required string IdentityThumbprint { get; set; }
    public string? Topic { get; set; }
    public string? PushMagic { get; set; }
    /// <summary>The APNs device token, hex.</summary>
    public string? PushToken { get; set; }
    public bool Supervised { get; set; }
    public DateTime EnrolledAt { get; set; }
    /// <summary>The last Authenticate or TokenUpdate; polls and other check-ins count as presence (<c>devices.last_seen_at</c>).</summary>
    public DateTime? LastCheckinAt { get; set; }

    /// <summary>No longer written: a poll was a row write; polls now count as presence (<c>devices.last_seen_at</c>, batched). Kept until a migration drops the column.</summary>
    public DateTime? LastPollAt { get; set; }
    public DateTime? CheckedOutAt { get; set; }
    /// <summary>The last declarative-management status report (JSON), as the device sent it.</summary>
    public string? DdmStatus { get; set; }
    public DateTime? DdmStatusAt { get; set; }
}

internal sealed class AppleDeviceConfiguration : IEntityTypeConfiguration<AppleDevice>
{
    public void Configure(EntityTypeBuilder<AppleDevice> builder)
    {
        builder.ToTable("apple_devices");
        builder.HasKey(d => d.DeviceId);
    }
}

/// <summary>An image staff uploaded to set as Apple devices' wallpaper.</summary>
public sealed class AppleWallpaper
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string ContentType { get; set; }
    public required byte[] Content { get; set; }
    public DateTime CreatedAt { get; set; }
}

internal sealed class AppleWallpaperConfiguration : IEntityTypeConfiguration<AppleWallpaper>
{
    public void Configure(EntityTypeBuilder<AppleWallpaper> builder) => builder.ToTable("apple_wallpapers");
}
