using System.Buffers;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Policies;

namespace Homeroom.Agent.Capabilities.Browsers;

/// <summary>
/// What the policy's <c>desktopBrowsers.*</c> settings ask desktop browsers to be given: the Homeroom Chrome extension
/// force-installed (Chrome, Chromium, Edge) with its managed configuration, and optionally a Firefox add-on.
/// </summary>
/// <param name="ExtensionId">The Chrome extension id (32 letters a–p), or null for none.</param>
/// <param name="UpdateUrl">Where Chrome-family browsers fetch it.</param>
/// <param name="ManagedConfiguration">The extension's managed configuration as pasted into Google Admin (<c>{"key": {"Value": v}}</c>), or null for none.</param>
/// <param name="FirefoxAddonId">The Firefox add-on id, or null for none.</param>
/// <param name="FirefoxInstallUrl">Where Firefox downloads it, or null.</param>
public sealed record BrowserPolicyRequest(string? ExtensionId, string UpdateUrl, JsonElement? ManagedConfiguration, string? FirefoxAddonId, string? FirefoxInstallUrl)
{
    /// <summary>
    /// The request a policy makes, or null when it names neither an extension nor an add-on. Values that would not pass
    /// the server's checks (an older or a tampered server) are left out, as the agent does for every setting.
    /// </summary>
    public static BrowserPolicyRequest? From(PolicyDocument policy)
    {
        var extension = policy.Text("desktopBrowsers", "extensionId") is { } id && PolicySettings.IsChromeExtensionId(id) ? id : null;
        var updateUrl = policy.Text("desktopBrowsers", "extensionUpdateUrl") is { Length: > 0 } url && IsPlainUrl(url) ? url : PolicySettings.ChromeWebStoreUpdateUrl;
        var configuration = policy.Object("desktopBrowsers", "extensionConfig") is { } config && config.EnumerateObject().Any() ? config : (JsonElement?)null;
        var addon = policy.Text("desktopBrowsers", "firefoxAddonId") is { Length: > 0 } a && PolicySettings.IsFirefoxAddonId(a) ? a : null;
        var install = policy.Text("desktopBrowsers", "firefoxInstallUrl") is { Length: > 0 } i && IsPlainUrl(i) ? i : null;
        return extension is null && addon is null ? null : new BrowserPolicyRequest(extension, updateUrl, configuration, addon, install);
    }

    private static bool IsPlainUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && !url.Any(c => c is ';' or ' ' || char.IsControl(c));
}

/// <summary>What applying a request did: the failures (empty when every browser policy holds) and the files or keys it changed.</summary>
/// <param name="ExtensionWritten">Whether Chrome-family browsers are now told to force-install the extension.</param>
/// <param name="Failures">What could not be written, each naming the file or key and why (policy status failures).</param>
/// <param name="Changed">The files or keys written or removed (nothing when everything already held).</param>
public sealed record BrowserPolicyOutcome(bool ExtensionWritten, IReadOnlyList<string> Failures, IReadOnlyList<string> Changed);

/// <summary>
/// Desktop browser policy (docs/desktop-agent.md, Browser policy): the Homeroom extension force-installed in the
/// browsers of the device through the browsers' own managed policy, and removed when the policy no longer asks for it.
/// One implementation per OS. Describes <see cref="CapabilityNames.BrowserPolicy"/> and <see cref="CapabilityNames.WebFilter"/>.
/// </summary>
public interface IBrowserPolicyCapability : ICapability
{
    /// <summary>Writes what <paramref name="request"/> asks for (null: removes Homeroom's policy), only where it changes anything.</summary>
    BrowserPolicyOutcome Apply(BrowserPolicyRequest? request);
}

/// <summary>What every OS's implementation shares: the capabilities it reports follow the last outcome.</summary>
public abstract class BrowserPolicyBase : IBrowserPolicyCapability
{
    private BrowserPolicyOutcome? _last;
    private BrowserPolicyRequest? _lastRequest;

    /// <summary>Null when this device's browsers can be given policy, else why not.</summary>
    protected abstract string? Unavailable();

    /// <summary>Writes or removes the policy; never throws for the file system's or registry's refusals (they are failures).</summary>
    protected abstract BrowserPolicyOutcome Write(BrowserPolicyRequest? request);

    public BrowserPolicyOutcome Apply(BrowserPolicyRequest? request)
    {
        var outcome = Unavailable() is { } reason
            ? new BrowserPolicyOutcome(false, request is null ? [] : [$"desktopBrowsers: not applied: {reason}"], [])
            : Write(request);
        Volatile.Write(ref _lastRequest, request);
        Volatile.Write(ref _last, outcome);
        return outcome;
    }

    public IEnumerable<AgentCapability> Describe()
    {
        var last = Volatile.Read(ref _last);
        var request = Volatile.Read(ref _lastRequest);
        if (Unavailable() is { } reason)
        {
            return [new(CapabilityNames.BrowserPolicy, false, reason), new(CapabilityNames.WebFilter, false, reason)];
        }

        var policy = last is { Failures.Count: > 0 } failed
            ? new AgentCapability(CapabilityNames.BrowserPolicy, false, Cut(failed.Failures[0]))
            : new AgentCapability(CapabilityNames.BrowserPolicy, true);
        var filter = last is { ExtensionWritten: true }
            ? new AgentCapability(CapabilityNames.WebFilter, true)
            : new AgentCapability(CapabilityNames.WebFilter, false, request?.ExtensionId is null
                ? "desktop browsers are filtered by the Homeroom extension, which no profile gives them (desktopBrowsers.extensionId)"
                : "the Homeroom extension's browser policy could not be written");
        return [policy, filter];
    }

    private static string Cut(string text) => text.Length <= ProtocolLimits.MaxShortText ? text : text[..(ProtocolLimits.MaxShortText - 1)] + "…";
}

/// <summary>Where this build gives browsers no policy (an operating system other than Linux, macOS and Windows).</summary>
public sealed class UnavailableBrowserPolicy(string reason) : BrowserPolicyBase
{
    protected override string? Unavailable() => reason;

    protected override BrowserPolicyOutcome Write(BrowserPolicyRequest? request) => new(false, [], []);
}

/// <summary>The policy documents themselves: the same values every OS writes, built here so their content is tested once.</summary>
public static class BrowserPolicyContent
{
    /// <summary>Chrome's <c>ExtensionInstallForcelist</c> entry: <c>id;updateUrl</c>.</summary>
    public static string ForcelistEntry(BrowserPolicyRequest request) => $"{request.ExtensionId};{request.UpdateUrl}";

    /// <summary>The managed configuration key of the district enrollment token, never written by the desktop agent.</summary>
    public const string EnrollmentTokenKey = "enrollmentToken";

    /// <summary>The managed configuration key of the device's companion credential (extension/schema.json).</summary>
    public const string CompanionCredentialKey = "companionCredential";

    /// <summary>
    /// The request as the agent writes it: the extension's configuration without any district enrollment token (the policy
    /// files are readable by every user of the computer) and with the device's companion credential instead (none when the
    /// server could not give one: the extension then cannot enroll, which the policy status reports), and the server's
    /// address when the configuration names none. A request without the Chrome extension is returned as it is.
    /// </summary>
    public static BrowserPolicyRequest WithCompanion(BrowserPolicyRequest request, string? companionCredential, Uri? server)
    {
        if (request.ExtensionId is null)
        {
            return request;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            var hasServer = false;
            if (request.ManagedConfiguration is { ValueKind: JsonValueKind.Object } config)
            {
                foreach (var property in config.EnumerateObject())
                {
                    if (property.NameEquals(EnrollmentTokenKey) || property.NameEquals(CompanionCredentialKey))
                    {
                        continue;
                    }

                    hasServer |= property.NameEquals("serverUrl");
                    property.WriteTo(writer);
                }
            }

            if (!hasServer && server is not null)
            {
                writer.WriteString("serverUrl", server.GetLeftPart(UriPartial.Authority));
            }

            if (companionCredential is not null)
            {
                writer.WriteString(CompanionCredentialKey, companionCredential);
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        var written = document.RootElement.Clone();
        return request with { ManagedConfiguration = written.EnumerateObject().Any() ? written : null };
    }

    /// <summary>
    /// The managed configuration as the browser takes it: Google Admin's form (<c>{"serverUrl": {"Value": "…"}}</c>)
    /// unwrapped to the plain values (<c>{"serverUrl": "…"}</c>); a value not wrapped in a lone <c>Value</c> is taken as it is.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, JsonElement>> ManagedValues(JsonElement? configuration)
    {
        if (configuration is not { ValueKind: JsonValueKind.Object } config)
        {
            return [];
        }

        var values = new List<KeyValuePair<string, JsonElement>>();
        foreach (var property in config.EnumerateObject())
        {
            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Object && value.EnumerateObject().Count() == 1 && value.TryGetProperty("Value", out var inner))
            {
                value = inner;
            }

            values.Add(KeyValuePair.Create(property.Name, value));
        }

        return values;
    }

    /// <summary>
    /// The managed policy file of Chrome, Chromium and Edge on Linux (<c>…/policies/managed/homeroom.json</c>):
    /// <c>ExtensionInstallForcelist</c> and <c>3rdparty.extensions.&lt;id&gt;</c>, indented, ending in a line break.
    /// Null when no extension is asked for.
    /// </summary>
    public static byte[]? ChromiumPolicyFile(BrowserPolicyRequest? request)
    {
        if (request?.ExtensionId is not { } id)
        {
            return null;
        }

        return Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("ExtensionInstallForcelist");
            writer.WriteStringValue(ForcelistEntry(request));
            writer.WriteEndArray();
            WriteThirdParty(writer, "extensions", id, ManagedValues(request.ManagedConfiguration));
            writer.WriteEndObject();
        });
    }

    /// <summary>
    /// Firefox's <c>policies.json</c>: the add-on force-installed (<c>ExtensionSettings</c>) and the same managed
    /// configuration (<c>3rdparty.Extensions.&lt;id&gt;</c>). Null when no add-on (or no install URL) is asked for.
    /// </summary>
    public static byte[]? FirefoxPoliciesFile(BrowserPolicyRequest? request)
    {
        if (request is not { FirefoxAddonId: { } addon, FirefoxInstallUrl: { } url })
        {
            return null;
        }

        return Json(writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartObject("policies");
            writer.WriteStartObject("ExtensionSettings");
            writer.WriteStartObject(addon);
            writer.WriteString("installation_mode", "force_installed");
            writer.WriteString("install_url", url);
            writer.WriteEndObject();
            writer.WriteEndObject();
            WriteThirdParty(writer, "Extensions", addon, ManagedValues(request.ManagedConfiguration));
            writer.WriteEndObject();
            writer.WriteEndObject();
        });
    }

    private static void WriteThirdParty(Utf8JsonWriter writer, string domain, string id, IReadOnlyList<KeyValuePair<string, JsonElement>> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        writer.WriteStartObject("3rdparty");
        writer.WriteStartObject(domain);
        writer.WriteStartObject(id);
        foreach (var (name, value) in values)
        {
            writer.WritePropertyName(name);
            value.WriteTo(writer);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n", Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return [.. buffer.WrittenSpan, (byte)'\n'];
    }
}
