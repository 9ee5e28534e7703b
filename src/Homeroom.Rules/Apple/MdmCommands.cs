using System.Globalization;
using System.Security.Cryptography;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;

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
    /// <summary>The MDM request type a Homeroom action becomes, or null when Apple devices have none.</summary>
    public static string? RequestTypeOf(string kind) => kind switch
    {
        CommandKinds.Lock => "DeviceLock",
        CommandKinds.Restart => "RestartDevice",
        CommandKinds.Ping => "DeviceInformation",
        _ => null,
    };

    /// <summary>Why the device cannot carry out the action, or null when it can.</summary>
    public static string? Unsupported(string kind, AppleDeviceFacts device) => kind switch
    {
        CommandKinds.Lock or CommandKinds.Ping => null,
        CommandKinds.Restart when !device.Supervised && !device.IsMac => "Restarting an iPad or iPhone needs a supervised device.",
        CommandKinds.Restart => null,
        CommandKinds.Unlock => "Apple devices are unlocked with their passcode; MDM cannot unlock them.",
        CommandKinds.Message => "Apple MDM has no message command; use lock with a message instead.",
        CommandKinds.Locate => "Apple devices report their location only in Lost Mode.",
        CommandKinds.OpenUrl or CommandKinds.CloseTab => "Opening or closing browser tabs is not an MDM command.",
        _ => $"'{kind}' is not available on Apple devices.",
    };

    /// <summary>The MDM command for an action (check <see cref="Unsupported"/> first).</summary>
    public static MdmCommand Build(string kind, IReadOnlyDictionary<string, string>? arguments, AppleDeviceFacts device)
    {
        switch (kind)
        {
            case CommandKinds.Lock:
            {
                var command = new Dictionary<string, object>(StringComparer.Ordinal) { ["RequestType"] = "DeviceLock" };
                if (arguments?.GetValueOrDefault("message") is { Length: > 0 } message)
                {
                    command["Message"] = message;
                }

                string? pin = null;
                if (device.IsMac)
                {
                    // A Mac locks with a firmware PIN the admin must know to unlock it; it is kept as the command's result.
                    pin = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
                    command["PIN"] = pin;
                }

                return new MdmCommand(command, pin);
            }

            case CommandKinds.Restart:
                return new MdmCommand(new Dictionary<string, object>(StringComparer.Ordinal) { ["RequestType"] = "RestartDevice" }, null);
            case CommandKinds.Ping:
                return new MdmCommand(new Dictionary<string, object>(StringComparer.Ordinal)
                {
                    ["RequestType"] = "DeviceInformation",
                    ["Queries"] = new List<object> { "DeviceName", "OSVersion", "BuildVersion", "ModelName", "SerialNumber", "BatteryLevel", "IsSupervised" },
                }, null);
            default:
                throw new ArgumentException($"'{kind}' has no MDM command.", nameof(kind));
        }
    }
}
