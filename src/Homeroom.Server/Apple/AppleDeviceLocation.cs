using System.Globalization;
using Homeroom.Contracts.Agents;

namespace Homeroom.Server.Apple;

/// <summary>
/// Reads a device's answer to the <c>DeviceLocation</c> MDM command (sent only while the device is in
/// Lost Mode: Apple allows no routine location through MDM): <c>Latitude</c>, <c>Longitude</c>,
/// <c>HorizontalAccuracy</c> (meters) and <c>Timestamp</c> (RFC 3339 text, or a plist date).
/// </summary>
public static class AppleDeviceLocation
{
    /// <summary>The fix; null when the answer lacks a position or its fields are not numbers (range checks are the tracker's).</summary>
    public static LocationFix? Read(Dictionary<string, object> answer, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(answer);
        if (Number(answer, "Latitude") is not { } latitude || Number(answer, "Longitude") is not { } longitude)
        {
            return null;
        }

        // Apple sends a negative accuracy for an invalid fix; the tracker refuses it like any other.
        var accuracy = Number(answer, "HorizontalAccuracy") ?? double.NaN;
        var at = answer.GetValueOrDefault("Timestamp") switch
        {
            DateTimeOffset date => date,
            string text when DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed) => parsed,
            _ => now,
        };
        return new LocationFix(latitude, longitude, accuracy, at);
    }

    private static double? Number(Dictionary<string, object> answer, string key) => answer.GetValueOrDefault(key) switch
    {
        double d => d,
        long l => l,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => null,
    };
}
