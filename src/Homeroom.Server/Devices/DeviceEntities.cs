using Homeroom.Contracts.Enrollment;

namespace Homeroom.Server.Devices;

public enum DeviceState
{
    Active,
    Spare,
    InRepair,
    Lost,
    Retired,
}

public sealed class Device
{
    public Guid Id { get; set; }
    public Guid? SchoolId { get; set; }
    public required string Name { get; set; }
    public DevicePlatform Platform { get; set; }
    public required string Serial { get; set; }
    public string? Model { get; set; }
    public string? Manufacturer { get; set; }
    public string? AssetTag { get; set; }
    public string? OsName { get; set; }
    public string? OsVersion { get; set; }
    public string? AgentVersion { get; set; }
    public Guid? AssignedPersonId { get; set; }

    /// <summary>A cart or lab device: while a student of its school is signed in, it is theirs (see <see cref="SharedDeviceSignIn"/>).</summary>
    public bool Shared { get; set; }

    /// <summary>The e-mail address the agent last reported signed in (shared devices only).</summary>
    public string? SignedInEmail { get; set; }

    /// <summary>The account id the agent last reported signed in (shared devices only).</summary>
    public string? SignedInUserId { get; set; }

    /// <summary>The student of the device's school that account matched; null when nobody is signed in or nobody matched.</summary>
    public Guid? SignedInPersonId { get; set; }

    /// <summary>Since when the current account (or nobody, after a sign-out) has been signed in.</summary>
    public DateTime? SignedInAt { get; set; }

    public DeviceState State { get; set; }
    public DateTime EnrolledAt { get; set; }
    public DateTime? LastSeenAt { get; set; }

    /// <summary>SHA-256 of the device credential; the credential itself is never stored.</summary>
    public required string CredentialHash { get; set; }
    public DateTime? RevokedAt { get; set; }
    public Guid? EnrollmentTokenId { get; set; }

    /// <summary>Until when an administrator's approval lets this device enroll again without its current credential (see <c>ReenrollmentRules</c>).</summary>
    public DateTime? ReenrollmentApprovedUntil { get; set; }

    public int? BatteryLevel { get; set; }
    public bool? BatteryCharging { get; set; }
    public string? NetworkKind { get; set; }
    public string? IpAddress { get; set; }
    public double? Latitude { get; set; }
    public double? Longitude { get; set; }
    public double? LocationAccuracy { get; set; }
    public DateTime? LocationAt { get; set; }
    public long? StorageTotalBytes { get; set; }
    public long? StorageFreeBytes { get; set; }
    public DateTime? InventoryAt { get; set; }

    /// <summary>
    /// What the device's agent last said it can and cannot do, as JSON (<see cref="StoredCapabilities"/>); null when it never
    /// said. Written by <see cref="InventoryWriter"/>; read through <see cref="DeviceLiveState.Capabilities(Guid, string?)"/>.
    /// </summary>
    public string? CapabilitiesJson { get; set; }

    public long PolicyVersionApplied { get; set; }

    /// <summary>Highest activity sequence number stored for this device.</summary>
    public long ActivitySeq { get; set; }

    /// <summary>
    /// Set on a companion: the Homeroom browser extension on a desktop, which enrolled with the desktop's companion
    /// credential. It takes the desktop's school, student and policy and is left out of every list and count
    /// (<see cref="Accounts.StaffScope.Devices"/>); see <see cref="Enrollment.CompanionBrowsers"/>.
    /// </summary>
    public Guid? CompanionOf { get; set; }

    /// <summary>SHA-256 of this desktop's current companion credential (<c>hrc_…</c>); null when it has none.</summary>
    public string? CompanionCredentialHash { get; set; }

    /// <summary>Until when the companion credential lets a browser extension enroll.</summary>
    public DateTime? CompanionCredentialExpiresAt { get; set; }
}

/// <summary>One installed app, from one source (see <see cref="DeviceAppSources"/>); each source replaces only its own rows.</summary>
public sealed class DeviceApp
{
    public Guid DeviceId { get; set; }
    public string Source { get; set; } = DeviceAppSources.Device;
    public required string AppId { get; set; }
    public string? Name { get; set; }
    public string? Version { get; set; }

    /// <summary>When the snapshot that listed it was taken (Chrome snapshots), so an older one never replaces a newer one.</summary>
    public DateTime? ReportedAt { get; set; }
}

/// <summary>Where a device's app list came from.</summary>
public static class DeviceAppSources
{
    /// <summary>The operating system's own list: an agent's <c>inventory</c> frame, Apple MDM's InstalledApplicationList.</summary>
    public const string Device = "device";

    /// <summary>The Chrome extension's snapshot of Chrome extensions and apps (<c>app.inventory</c> events).</summary>
    public const string Chrome = "chrome";
}

/// <summary>Why a device went to repair, who took it in and when, and what replaced it; closed when it returns to a spare pool.</summary>
public sealed class DeviceRepair
{
    public Guid Id { get; set; }
    public Guid DeviceId { get; set; }

    /// <summary>The person the device was taken from.</summary>
    public Guid? PersonId { get; set; }

    /// <summary>The spare that replaced it.</summary>
    public Guid? ReplacementDeviceId { get; set; }
    public required string Reason { get; set; }
    public Guid? ReportedById { get; set; }
    public required string ReportedBy { get; set; }
    public DateTime ReportedAt { get; set; }
    public DateTime? ReturnedAt { get; set; }
    public string? ReturnedBy { get; set; }
}
