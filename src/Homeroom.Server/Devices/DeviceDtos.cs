using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;

namespace Homeroom.Server.Devices;

public sealed record DeviceSummaryDto(
    Guid Id,
    string Name,
    DevicePlatform Platform,
    string Serial,
    string? Model,
    string? AssetTag,
    string? OsVersion,
    DeviceState State,
    Guid? SchoolId,
    Guid? AssignedPersonId,
    bool Online,
    DateTime? LastSeenAt,
    DateTime EnrolledAt,
    bool Revoked,
    string? AssignedPersonName = null,
    string? SchoolName = null);

public sealed record DeviceDetailDto(
    Guid Id,
    string Name,
    DevicePlatform Platform,
    string Serial,
    string? Model,
    string? Manufacturer,
    string? AssetTag,
    string? OsName,
    string? OsVersion,
    string? AgentVersion,
    DeviceState State,
    Guid? SchoolId,
    Guid? AssignedPersonId,
    bool Online,
    DateTime? LastSeenAt,
    DateTime EnrolledAt,
    DateTime? RevokedAt,
    DateTime? ReenrollmentApprovedUntil,
    int? BatteryLevel,
    bool? BatteryCharging,
    string? NetworkKind,
    string? IpAddress,
    DeviceLocationDto? Location,
    long? StorageTotalBytes,
    long? StorageFreeBytes,
    DateTime? InventoryAt,
    int AppCount,
    long PolicyVersionApplied,
    string? AssignedPersonName,
    bool Shared = false,
    DeviceSignInDto? SignedIn = null,
    IReadOnlyList<DeviceCompanionDto>? Companions = null,
    IReadOnlyList<AgentCapability>? Capabilities = null);

/// <summary>
/// One Homeroom browser extension enrolled as a companion of this desktop (docs/desktop-agent.md, Browser policy): its own
/// record, never listed apart. <paramref name="BrowserVersion"/> is the browser's version as the extension reports it,
/// <paramref name="Profile"/> the account signed in to the browser profile, <paramref name="ExtensionVersion"/> the
/// extension's own version.
/// </summary>
public sealed record DeviceCompanionDto(
    Guid Id, string Name, string? BrowserVersion, string? Profile, string? ExtensionVersion, bool Online, DateTime? LastSeenAt, DateTime EnrolledAt, DateTime? RevokedAt);

/// <summary>
/// The account the device's agent last reported signed in, since when, and (shared devices) the student of the
/// device's school it matched; <paramref name="PersonName"/> is null when it matched nobody.
/// </summary>
public sealed record DeviceSignInDto(string? Email, string? AccountId, DateTime? Since, Guid? PersonId, string? PersonName);

public sealed record DeviceLocationDto(double Latitude, double Longitude, double? AccuracyMeters, DateTime? CapturedAt);

/// <summary>One installed app; <paramref name="Source"/> is <c>device</c> (the operating system's list) or <c>chrome</c> (Chrome extensions and apps).</summary>
public sealed record DeviceAppDto(string AppId, string? Name, string? Version, string Source);

/// <summary>A change to a device; <c>Shared</c> marks it shared (a cart or lab device that follows its signed-in student) or 1:1 again.</summary>
public sealed record UpdateDeviceRequest(string? Name, string? AssetTag, DeviceState? State, Guid? AssignedPersonId, bool? Unassign, Guid? SchoolId, bool? Shared = null);
