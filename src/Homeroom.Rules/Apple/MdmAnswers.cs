using System.Globalization;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;

namespace Homeroom.Rules.Apple;

/// <summary>What a <c>DeviceInformation</c> answer says about the device, in Homeroom's terms.</summary>
/// <param name="Inventory">OS, model and storage, as an agent would report them (no app list).</param>
/// <param name="BatteryPercent">Charge, 0 to 100, when the device reported one.</param>
/// <param name="Supervised">Whether the device is supervised, when it said.</param>
public sealed record AppleDeviceInformation(InventoryFrame Inventory, int? BatteryPercent, bool? Supervised);

/// <summary>
/// Reads the answers Apple devices give to Homeroom's queries (<c>DeviceInformation</c>,
/// <c>InstalledApplicationList</c>) into the same inventory an agent reports. Values of the wrong
/// type or out of range are left out, never guessed; text is cut to the protocol's limits.
/// </summary>
public static class MdmAnswers
{
    /// <summary>The device facts in a <c>DeviceInformation</c> answer's <c>QueryResponses</c>.</summary>
    public static AppleDeviceInformation DeviceInformation(IReadOnlyDictionary<string, object> responses, DevicePlatform platform)
    {
        string? Text(string key) => responses.GetValueOrDefault(key) is string { Length: > 0 } text ? Cut(text) : null;

        var modelName = Text("ModelName");
        var product = Text("ProductName");
        var model = modelName is not null && product is not null ? Cut($"{modelName} ({product})") : modelName ?? product ?? Text("Model");
        var osName = platform switch
        {
            DevicePlatform.MacOS => "macOS",
            DevicePlatform.IOS => "iOS",
            _ => "iPadOS",
        };
        var inventory = new InventoryFrame(osName, Text("OSVersion"), model, "Apple", Gigabytes(responses, "DeviceCapacity"), Gigabytes(responses, "AvailableDeviceCapacity"), Apps: null);
        int? battery = Number(responses, "BatteryLevel") is { } level and >= 0 and <= 1 ? (int)Math.Round(level * 100, MidpointRounding.AwayFromZero) : null;
        return new AppleDeviceInformation(inventory, battery, responses.GetValueOrDefault("IsSupervised") as bool?);
    }

    /// <summary>The apps in an <c>InstalledApplicationList</c> answer (at most <see cref="ProtocolLimits.MaxInventoryApps"/>, each bundle id once).</summary>
    public static IReadOnlyList<InstalledApp> InstalledApplications(IEnumerable<object> list)
    {
        var apps = new List<InstalledApp>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list)
        {
            if (apps.Count == ProtocolLimits.MaxInventoryApps)
            {
                break;
            }

            if (item is not IReadOnlyDictionary<string, object> app || app.GetValueOrDefault("Identifier") is not string { Length: > 0 and <= ProtocolLimits.MaxShortText } id || !seen.Add(id))
            {
                continue;
            }

            var version = app.GetValueOrDefault("ShortVersion") as string is { Length: > 0 } shortVersion ? shortVersion : app.GetValueOrDefault("Version") as string;
            apps.Add(new InstalledApp(id, app.GetValueOrDefault("Name") is string name ? Cut(name) : null, version is null ? null : Cut(version)));
        }

        return apps;
    }

    // Apple reports capacity in base-10 gigabytes (GiB on macOS 11 and earlier, which Homeroom does not tell apart).
    private static long? Gigabytes(IReadOnlyDictionary<string, object> responses, string key) =>
        Number(responses, key) is { } gigabytes and >= 0 and < 1_000_000 ? (long)Math.Round(gigabytes * 1e9) : null;

    private static double? Number(IReadOnlyDictionary<string, object> responses, string key) => responses.GetValueOrDefault(key) switch
    {
        double real when double.IsFinite(real) => real,
        long integer => integer,
        string text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed) => parsed,
        _ => null,
    };

    private static string Cut(string text) => text.Length <= ProtocolLimits.MaxShortText ? text : text[..ProtocolLimits.MaxShortText];
}
