using System.Globalization;
using System.Security.Cryptography;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Apple;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Policies;

namespace Homeroom.Rules.Apple;

/// <summary>What an Apple device is, for deciding which commands it can carry out.</summary>
/// <param name="Platform">iPadOS, iOS or macOS.</param>
/// <param name="Supervised">Whether the device is supervised (school-owned, set up through Apple School Manager).</param>
public readonly record struct AppleDeviceFacts(DevicePlatform Platform, bool Supervised)
{
    public bool IsMac => Platform == DevicePlatform.MacOS;
}

/// <summary>An MDM command ready to queue: its <c>Command</c> dictionary, and a secret it created (a Mac's lock PIN).</summary>
public sealed record MdmCommand(Dictionary<string, object> Command, string? Secret);

/// <summary>
/// Maps Homeroom's device actions to Apple MDM commands, refusing what an Apple device cannot do
/// before anything is queued. The same action then works on a mixed class of Chromebooks and iPads.
/// </summary>
public static class MdmCommands
{
    /// <summary>Actions that only devices managed through MDM carry out today.</summary>
    public static IReadOnlySet<string> AppleOnly { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        CommandKinds.Shutdown, CommandKinds.Erase, CommandKinds.InstallApp, CommandKinds.InstallEnterpriseApp, CommandKinds.RemoveApp, CommandKinds.ListApps, CommandKinds.ListManagedApps, CommandKinds.ListProfiles,
        CommandKinds.RemoveProfile, CommandKinds.UpdateOs, CommandKinds.ListOsUpdates, CommandKinds.OsUpdateStatus, CommandKinds.LostMode,
        CommandKinds.EndLostMode, CommandKinds.Rename, CommandKinds.ApplyPolicy, CommandKinds.Wallpaper,
    };

    /// <summary>
    /// What <c>diagnose</c> asks an Apple device in its DeviceInformation query: keys both iOS and macOS list in
    /// Apple's schema (checked against it in the tests); a device leaves out what its OS does not answer.
    /// </summary>
    public static IReadOnlyList<string> DiagnosticQueries { get; } =
    [
        "DeviceName", "OSVersion", "BuildVersion", "ModelName", "ProductName", "SerialNumber", "DeviceCapacity", "AvailableDeviceCapacity",
        "BatteryLevel", "IsSupervised", "WiFiMAC", "BluetoothMAC", "IsActivationLockEnabled",
    ];

    /// <summary>The MDM request type a Homeroom action becomes, or null when Apple devices have none.</summary>
    public static string? RequestTypeOf(string kind) => kind switch
    {
        CommandKinds.Lock => "DeviceLock",
        CommandKinds.Restart => "RestartDevice",
        CommandKinds.Ping or CommandKinds.Diagnose => "DeviceInformation",
        CommandKinds.Locate => "DeviceLocation",
        CommandKinds.Shutdown => "ShutDownDevice",
        CommandKinds.Erase => "EraseDevice",
        CommandKinds.InstallApp => "InstallApplication",
        CommandKinds.InstallEnterpriseApp => "InstallEnterpriseApplication",
        CommandKinds.RemoveApp => "RemoveApplication",
        CommandKinds.ListApps => "InstalledApplicationList",
        CommandKinds.ListManagedApps => "ManagedApplicationList",
        CommandKinds.ListProfiles => "ProfileList",
        CommandKinds.RemoveProfile => "RemoveProfile",
        CommandKinds.UpdateOs => "ScheduleOSUpdate",
        CommandKinds.ListOsUpdates => "AvailableOSUpdates",
        CommandKinds.OsUpdateStatus => "OSUpdateStatus",
        CommandKinds.LostMode => "EnableLostMode",
        CommandKinds.EndLostMode => "DisableLostMode",
        CommandKinds.Rename => "Settings",
        CommandKinds.ApplyPolicy => "InstallProfile",
        CommandKinds.Wallpaper => "Settings",
        _ => null,
    };

    /// <summary>Why the device cannot carry out the action, or null when it can (checked against Apple's schemas in the tests).</summary>
    public static string? Unsupported(string kind, AppleDeviceFacts device) => kind switch
    {
        CommandKinds.Unlock => "Apple devices are unlocked with their passcode; MDM cannot unlock them.",
        CommandKinds.Message => "Apple MDM has no message command; use lock with a message instead.",
        CommandKinds.OpenUrl or CommandKinds.CloseTab => "Opening or closing browser tabs is not an MDM command.",
        CommandKinds.LostMode or CommandKinds.EndLostMode or CommandKinds.Locate when device.IsMac => "Lost Mode is for iPads and iPhones.",
        CommandKinds.Wallpaper when device.IsMac => "Macs do not take a wallpaper through MDM.",
        CommandKinds.InstallEnterpriseApp when !device.IsMac => "Packages (.pkg) are for Macs; iPads and iPhones install App Store apps.",
        CommandKinds.Wallpaper when !device.Supervised => "Setting the wallpaper needs a supervised iPad or iPhone.",
        CommandKinds.LostMode or CommandKinds.EndLostMode or CommandKinds.Locate or CommandKinds.Restart or CommandKinds.Shutdown
            or CommandKinds.UpdateOs or CommandKinds.ListOsUpdates or CommandKinds.OsUpdateStatus or CommandKinds.Rename
            when !device.Supervised && !device.IsMac => "This needs a supervised iPad or iPhone (set up through Apple School Manager).",
        CommandKinds.UpdateOs or CommandKinds.OsUpdateStatus when !device.Supervised => "Scheduling OS updates needs a supervised Mac.",
        _ when RequestTypeOf(kind) is null => $"'{kind}' is not available on Apple devices.",
        _ => null,
    };

    /// <summary>The MDM command for an action (check <see cref="Unsupported"/> first; arguments are checked by the command catalog).</summary>
    public static MdmCommand Build(string kind, IReadOnlyDictionary<string, string>? arguments, AppleDeviceFacts device, PolicyDocument? policy = null, byte[]? image = null)
    {
        string? Argument(string name) => arguments?.GetValueOrDefault(name) is { Length: > 0 } value ? value : null;
        var type = RequestTypeOf(kind) ?? throw new ArgumentException($"'{kind}' has no MDM command.", nameof(kind));
        var command = new Dictionary<string, object>(StringComparer.Ordinal) { ["RequestType"] = type };
        string? secret = null;
        switch (kind)
        {
            case CommandKinds.Lock:
                if (Argument("message") is { } message)
                {
                    command["Message"] = message;
                }

                if (device.IsMac)
                {
                    // A Mac locks with a firmware PIN the admin must know to unlock it; it is kept as the command's result.
                    secret = NewPin();
                    command["PIN"] = secret;
                }

                break;
            case CommandKinds.Erase:
                if (device.IsMac)
                {
                    secret = NewPin();
                    command["PIN"] = secret;
                }

                break;
            case CommandKinds.Ping:
                command["Queries"] = new List<object>
                {
                    "DeviceName", "OSVersion", "BuildVersion", "ModelName", "Model", "ProductName", "SerialNumber", "DeviceCapacity", "AvailableDeviceCapacity", "BatteryLevel", "IsSupervised",
                };
                break;
            case CommandKinds.Diagnose:
                command["Queries"] = DiagnosticQueries.Cast<object>().ToList();
                break;
            case CommandKinds.InstallApp:
                if (Argument("appStoreId") is { } storeId)
                {
                    command["iTunesStoreID"] = long.Parse(storeId, CultureInfo.InvariantCulture);
                }
                else
                {
                    command["Identifier"] = Argument("bundleId")!;
                }

                // 1: remove the app when the device leaves management.
                command["ManagementFlags"] = 1L;
                if (device.IsMac)
                {
                    // macOS 11 and later (Apple's schema): without InstallAsManaged a Mac installs the app unmanaged, so
                    // ManagementFlags does nothing and RemoveApplication could never remove it; ChangeManagementState takes
                    // over a copy the student already installed from the App Store. iPads reject InstallAsManaged.
                    command["InstallAsManaged"] = true;
                    command["ChangeManagementState"] = "Managed";
                }

                break;
            case CommandKinds.InstallEnterpriseApp:
                command["Manifest"] = PackageManifest(Argument("package")!, Argument("packageUrl")!, Argument("sha256")!, Argument("name"));
                // As for App Store apps on a Mac (macOS 11 and later): managed, so ManagedApplicationList reports it and
                // RemoveApplication can remove it; removed with the MDM profile; a copy already there is taken over.
                command["InstallAsManaged"] = true;
                command["ManagementFlags"] = 1L;
                command["ChangeManagementState"] = "Managed";
                break;
            case CommandKinds.RemoveApp:
                command["Identifier"] = Argument("bundleId")!;
                break;
            case CommandKinds.ListApps:
                command["ManagedAppsOnly"] = false;
                break;
            case CommandKinds.RemoveProfile:
                command["Identifier"] = Argument("identifier")!;
                break;
            case CommandKinds.UpdateOs:
            {
                var update = new Dictionary<string, object>(StringComparer.Ordinal)
                {
                    ["InstallAction"] = Argument("action") switch
                    {
                        "download" => "DownloadOnly",
                        "installLater" => "InstallLater",
                        _ => "InstallASAP",
                    },
                };
                if (Argument("version") is { } version)
                {
                    update["ProductVersion"] = version;
                }

                command["Updates"] = new List<object> { update };
                break;
            }

            case CommandKinds.LostMode:
                command["Message"] = Argument("message")!;
                if (Argument("phoneNumber") is { } phone)
                {
                    command["PhoneNumber"] = phone;
                }

                if (Argument("footnote") is { } footnote)
                {
                    command["Footnote"] = footnote;
                }

                break;
            case CommandKinds.Wallpaper:
                command["Settings"] = new List<object>
                {
                    new Dictionary<string, object>(StringComparer.Ordinal)
                    {
                        ["Item"] = "Wallpaper",
                        ["Image"] = image ?? throw new ArgumentException("A wallpaper needs its image.", nameof(image)),
                        ["Where"] = Argument("where") switch { "lock" => 1L, "home" => 2L, _ => 3L },
                    },
                };
                break;
            case CommandKinds.ApplyPolicy:
                command["Payload"] = PropertyList.WriteXml(PolicyProfiles.Build(policy ?? PolicyDocument.Read(default), device.Supervised && !device.IsMac));
                break;
            case CommandKinds.Rename:
                command["Settings"] = new List<object>
                {
                    new Dictionary<string, object>(StringComparer.Ordinal) { ["Item"] = "DeviceName", ["DeviceName"] = Argument("name")! },
                };
                break;
        }

        return new MdmCommand(command, secret);
    }

    /// <summary>
    /// The chunk size the package's one SHA-256 covers (<c>sha256-size</c>): the catalog keeps the SHA-256 of the whole package,
    /// so the chunk is as large as the largest package the desktop agent downloads (4 GiB), and <c>sha256s</c> holds one hash.
    /// </summary>
    public const long PackageHashChunkBytes = 4L * 1024 * 1024 * 1024;

    /// <summary>
    /// The app manifest of <c>InstallEnterpriseApplication</c> (Apple's ManifestURL format, embedded as the command's
    /// <c>Manifest</c>): one item whose <c>software-package</c> asset is the catalog's URL with its SHA-256, and metadata naming
    /// the package by its receipt id. The catalog has no package version, so <c>bundle-version</c> is not sent.
    /// </summary>
    public static Dictionary<string, object> PackageManifest(string packageId, string url, string sha256, string? title)
    {
        var metadata = new Dictionary<string, object>(StringComparer.Ordinal) { ["bundle-identifier"] = packageId, ["kind"] = "software" };
        if (title is not null)
        {
            metadata["title"] = title;
        }

        return new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["items"] = new List<object>
            {
                new Dictionary<string, object>(StringComparer.Ordinal)
                {
                    ["assets"] = new List<object>
                    {
                        new Dictionary<string, object>(StringComparer.Ordinal)
                        {
                            ["kind"] = "software-package",
                            ["url"] = url,
                            ["sha256-size"] = PackageHashChunkBytes,
                            ["sha256s"] = new List<object> { sha256.ToLowerInvariant() },
                        },
                    },
                    ["metadata"] = metadata,
                },
            },
        };
    }

    private static string NewPin() => RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
}
