using System.Text;
using System.Text.Json;
using Homeroom.Server.Apple;

namespace Homeroom.Server.Enrollment;

/// <summary>
/// What an administrator gives devices to enroll with a new token: the Chrome extension's managed
/// configuration (pasted into Google Admin's "Policy for extensions", keys from
/// <c>extension/schema.json</c>) and the address of the Apple enrollment profile an iPad or Mac
/// opens. Both carry the token's secret, so they exist only when the secret is shown, once.
/// </summary>
public static class EnrollmentSetup
{
    /// <summary>The extension's managed configuration, as Google Admin takes it (each value wrapped in <c>Value</c>).</summary>
    public static string ChromeManagedConfiguration(string serverUrl, string token)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            Value(json, "serverUrl", ServerUrl(serverUrl));
            Value(json, "enrollmentToken", token);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());

        static void Value(Utf8JsonWriter json, string key, string value)
        {
            json.WriteStartObject(key);
            json.WriteString("Value", value);
            json.WriteEndObject();
        }
    }

    /// <summary>Where an iPad or Mac downloads its enrollment profile for the token (<see cref="EnrollmentProfile.Path"/>).</summary>
    public static string AppleEnrollmentUrl(string serverUrl, string token) =>
        $"{ServerUrl(serverUrl)}{EnrollmentProfile.Path}?token={Uri.EscapeDataString(token)}";

    /// <summary>The server's address as devices are told it: no trailing slash.</summary>
    public static string ServerUrl(string serverUrl) => serverUrl.TrimEnd('/');
}
