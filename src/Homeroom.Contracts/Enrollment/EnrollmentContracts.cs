using System.Text.Json.Serialization;

namespace Homeroom.Contracts.Enrollment;

/// <summary>Device platforms Homeroom manages.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DevicePlatform>))]
public enum DevicePlatform
{
    /// <summary>Chromebooks.</summary>
    [JsonStringEnumMemberName("chromeos")] ChromeOS,
    /// <summary>iPads.</summary>
    [JsonStringEnumMemberName("ipados")] IPadOS,
    /// <summary>iPhones.</summary>
    [JsonStringEnumMemberName("ios")] IOS,
    /// <summary>Macs.</summary>
    [JsonStringEnumMemberName("macos")] MacOS,
    /// <summary>Windows laptops.</summary>
    [JsonStringEnumMemberName("windows")] Windows,
    /// <summary>Android tablets.</summary>
    [JsonStringEnumMemberName("android")] Android,
    /// <summary>Linux laptops.</summary>
    [JsonStringEnumMemberName("linux")] Linux,
}

/// <summary>Body of <c>POST /agent/v1/enroll</c>: an enrollment token and the device's hardware facts.</summary>
/// <param name="Token">The enrollment token secret given by an administrator.</param>
/// <param name="Platform">The device platform.</param>
/// <param name="Serial">Hardware serial number (or a stable generated id where none is readable); identifies the device across re-enrollment.</param>
/// <param name="Model">Hardware model.</param>
/// <param name="Manufacturer">Hardware maker.</param>
/// <param name="OsVersion">Operating system version.</param>
/// <param name="Name">Device name.</param>
/// <param name="AgentVersion">The agent's version.</param>
/// <param name="Credential">
/// The device's current credential, when an agent that is already enrolled enrolls again (for example
/// after the server closed its connection with 4401). It proves the request comes from the enrolled
/// device; without it, or an administrator's approval, the server refuses to re-enroll an existing
/// device. Send it only to the server that issued it.
/// </param>
public sealed record EnrollRequest(
    string Token,
    DevicePlatform Platform,
    string Serial,
    string? Model = null,
    string? Manufacturer = null,
    string? OsVersion = null,
    string? Name = null,
    string? AgentVersion = null,
    string? Credential = null);

/// <summary>Answer to a successful enrollment. The credential is shown only here; store it safely.</summary>
/// <param name="DeviceId">The device's id; the same when an existing device enrolls again.</param>
/// <param name="Credential">The device's own secret for <see cref="Agents.AuthFrame"/>. A re-enrollment replaces the previous one.</param>
/// <param name="WebSocketPath">Where to connect.</param>
public sealed record EnrollResponse(Guid DeviceId, string Credential, string WebSocketPath);

/// <summary>
/// Answer to <c>POST /agent/v1/companion</c>: the desktop's companion credential, which the agent writes into the Homeroom
/// browser extension's managed configuration (<c>companionCredential</c>). A new one replaces the previous one.
/// </summary>
/// <param name="Credential">The secret (<c>hrc_…</c>): it enrolls browser extensions as companions of this device only, until it expires.</param>
/// <param name="ExpiresAt">When it stops enrolling extensions (extensions already enrolled keep their own credentials).</param>
public sealed record CompanionCredentialResponse(string Credential, DateTimeOffset ExpiresAt);
