using System.Text.Json;
using System.Text.Json.Nodes;
using Homeroom.Rules.Filtering;

namespace Homeroom.Rules.Policies;

/// <summary>The value type of a setting.</summary>
public enum SettingKind
{
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>One of a fixed set of strings.</summary>
    Choice,
    /// <summary>A list of strings (sites, categories, app ids).</summary>
    StringList,
    /// <summary>A short text.</summary>
    Text,
    /// <summary>A whole number between <see cref="SettingDefinition.Min"/> and <see cref="SettingDefinition.Max"/>.</summary>
    Integer,
    /// <summary>A JSON object of at most <see cref="PolicySettings.MaxJsonObjectBytes"/> (a browser extension's managed configuration).</summary>
    JsonObject,
}

/// <summary>One setting a profile can set.</summary>
/// <param name="Key">Dotted name, e.g. <c>webFilter.blockedCategories</c>.</param>
/// <param name="Kind">Value type.</param>
/// <param name="Default">The value when no profile sets it.</param>
/// <param name="Description">What it does, for the console.</param>
/// <param name="Choices">Allowed values of a <see cref="SettingKind.Choice"/>.</param>
/// <param name="MaxItems">Longest list.</param>
/// <param name="Min">Smallest value of an <see cref="SettingKind.Integer"/>.</param>
/// <param name="Max">Largest value of an <see cref="SettingKind.Integer"/>.</param>
public sealed record SettingDefinition(string Key, SettingKind Kind, JsonNode Default, string Description, IReadOnlyList<string>? Choices = null, int MaxItems = 1000, int Min = 0, int Max = int.MaxValue);

/// <summary>A problem with a profile's settings.</summary>
/// <param name="Key">The setting it concerns (<c>webFilter.blockedSites</c>); the group, or null, when the document's shape is wrong.</param>
/// <param name="Message">What is wrong, naming the setting.</param>
public sealed record SettingError(string? Key, string Message);

/// <summary>
/// Every setting a profile can hold. A profile is a JSON object grouped by the first part of the key
/// (<c>{"webFilter": {"blockedCategories": ["games"]}}</c>); a setting a profile leaves out is
/// inherited from less specific assignments, down to the default here.
/// </summary>
public static class PolicySettings
{
    /// <summary>Largest profile document, in UTF-8 bytes.</summary>
    public const int MaxProfileBytes = 512 * 1024;

    /// <summary>Longest text setting.</summary>
    public const int MaxTextLength = 500;

    /// <summary>Largest <see cref="SettingKind.JsonObject"/> setting, in UTF-8 bytes of its compact JSON.</summary>
    public const int MaxJsonObjectBytes = 8 * 1024;

    /// <summary>The Chrome Web Store's update URL, the default for a force-installed extension.</summary>
    public const string ChromeWebStoreUpdateUrl = "https://clients2.google.com/service/update2/crx";

    /// <summary>Every setting, by key.</summary>
    public static IReadOnlyDictionary<string, SettingDefinition> All { get; } = new SettingDefinition[]
    {
        new("webFilter.blockedCategories", SettingKind.StringList, new JsonArray(), "Filter-list categories to block."),
        new("webFilter.allowedCategories", SettingKind.StringList, new JsonArray(), "Categories to allow even where a blocked category lists the site."),
        new("webFilter.blockedSites", SettingKind.StringList, new JsonArray(), "Hosts (with subdomains) or host/path prefixes to block.", MaxItems: WebFilterSettings.MaxSites),
        new("webFilter.allowedSites", SettingKind.StringList, new JsonArray(), "Hosts or host/path prefixes always allowed.", MaxItems: WebFilterSettings.MaxSites),
        new("webFilter.allowOnly", SettingKind.Boolean, false, "Block everything except allowed sites and categories."),
        new("webFilter.safeSearch", SettingKind.Boolean, false, "Force SafeSearch on Google, Bing and DuckDuckGo."),
        new("webFilter.youTube", SettingKind.Choice, "off", "YouTube Restricted Mode.", ["off", "moderate", "strict"]),
        new("restrictions.camera", SettingKind.Boolean, true, "Camera allowed."),
        new("restrictions.appStore", SettingKind.Boolean, true, "App store allowed."),
        new("restrictions.usbStorage", SettingKind.Boolean, true, "USB storage allowed."),
        new("restrictions.screenCapture", SettingKind.Boolean, true, "Screenshots and screen recording allowed."),
        new("restrictions.bluetooth", SettingKind.Boolean, true, "Bluetooth allowed."),
        new("monitoring.activity", SettingKind.Boolean, true, "Report browsing and app activity."),
        new("monitoring.classroomViewing", SettingKind.Boolean, true, "Teachers may view the screen during their class."),
        new("monitoring.safety", SettingKind.Boolean, true, "Safety monitoring (self-harm, bullying, violence signals)."),
        new("monitoring.location", SettingKind.Boolean, true, "Report location (zones and out-of-bounds alerts)."),
        new("safety.typedText", SettingKind.Boolean, false, "Scan text typed into web pages for safety signals"),
        new("safety.screenshots", SettingKind.Boolean, false, "Attach a screenshot to safety alerts"),
        new("safety.atHome", SettingKind.Boolean, false, "Safety monitoring also outside school zones"),
        new("location.allowedZones", SettingKind.StringList, new JsonArray(), "Zone ids the device must stay inside while this applies; leaving all of them raises an out-of-bounds alert.", MaxItems: 100),
        new("location.reportIntervalSeconds", SettingKind.Integer, 60, "Seconds between location reports while reporting (faster near a zone boundary, slower on low battery).", Min: 15, Max: 3600),
        new("location.reportingHours", SettingKind.Text, "Mon-Fri 07:00-17:00", "When location may be reported, in the school's time zone: windows such as Mon-Fri 07:00-17:00; Sat 09:00-12:00 (always for all the time, empty for never)."),
        new("location.outOfBoundsMessage", SettingKind.Text, "This device is outside the area it may be used in. Please return.", "Shown on the device when it leaves its allowed zones."),
        new("softwareUpdate.targetVersion", SettingKind.Text, "", "Apple devices: the OS version to be on by the deadline (declarative management), e.g. 18.2; empty for none."),
        new("softwareUpdate.deadline", SettingKind.Text, "", "Apple devices: the local date and time the target version is enforced, as 2026-12-01T17:00:00."),
        new("device.locked", SettingKind.Boolean, false, "Lock the device (a curfew, when assigned on a schedule)."),
        new("device.lockMessage", SettingKind.Text, "This device is locked.", "Shown on the lock screen."),
        new("desktopBrowsers.extensionId", SettingKind.Text, "", "Windows and Linux computers (desktop agent): the Chrome extension id (32 letters a-p) force-installed in Chrome, Chromium and Edge by browser policy; empty for none."),
        new("desktopBrowsers.extensionUpdateUrl", SettingKind.Text, ChromeWebStoreUpdateUrl, "Where those browsers fetch the extension: the Chrome Web Store's update URL, or a self-hosted one."),
        new("desktopBrowsers.extensionConfig", SettingKind.JsonObject, new JsonObject(), "The extension's managed configuration, the JSON pasted into Google Admin's Policy for extensions ({\"serverUrl\": {\"Value\": \"https://...\"}, ...})."),
        new("desktopBrowsers.firefoxAddonId", SettingKind.Text, "", "Optional: the Firefox add-on id (name@domain or {GUID}) force-installed in Firefox on Linux computers; empty for none."),
        new("desktopBrowsers.firefoxInstallUrl", SettingKind.Text, "", "Where Firefox downloads that add-on (an .xpi URL)."),
    }.ToDictionary(d => d.Key, StringComparer.Ordinal);

    /// <summary>
    /// The group of the retired <c>apps.*</c> settings (required, blocked, disabled and allowed apps as platform:id lists),
    /// which were validated and never acted on: the app catalog's assignments install, block and disable apps. A profile
    /// that still sets them is refused with a message saying so; one stored before they were retired is read without them.
    /// </summary>
    public const string RetiredAppsGroup = "apps";

    /// <summary>
    /// Reads a profile's settings, checking every key, type and limit. Returns the flat settings
    /// (key to value) or every problem found, each naming the setting.
    /// </summary>
    public static (IReadOnlyDictionary<string, JsonNode> Settings, IReadOnlyList<string> Errors) Parse(JsonElement document)
    {
        var (settings, errors) = ParseBySetting(document);
        return (settings, errors.Select(e => e.Message).ToList());
    }

    /// <summary>
    /// As <see cref="Parse"/>, with each problem tied to the setting it concerns (its key, or the group
    /// or null when the document's shape is wrong), so an editor can show it beside that setting.
    /// </summary>
    public static (IReadOnlyDictionary<string, JsonNode> Settings, IReadOnlyList<SettingError> Errors) ParseBySetting(JsonElement document)
    {
        var settings = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        var errors = new List<SettingError>();
        if (document.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new(null, "Settings must be a JSON object."));
            return (settings, errors);
        }

        foreach (var group in document.EnumerateObject())
        {
            if (group.Value.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new(group.Name, $"'{group.Name}' must be an object of settings."));
                continue;
            }

            foreach (var setting in group.Value.EnumerateObject())
            {
                var key = group.Name + "." + setting.Name;
                if (!All.TryGetValue(key, out var definition))
                {
                    errors.Add(new(key, group.Name == RetiredAppsGroup
                        ? $"'{key}' is no longer a profile setting: add the app to the catalog (Apps) and assign it there, as required, available, blocked or disabled."
                        : $"'{key}' is not a known setting."));
                    continue;
                }

                if (setting.Value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                var error = Check(definition, setting.Value);
                if (error is null)
                {
                    settings[key] = JsonNode.Parse(setting.Value.GetRawText())!;
                }
                else
                {
                    errors.Add(new(key, $"'{key}': {error}"));
                }
            }
        }

        if (errors.Count == 0)
        {
            var filter = ToWebFilter(settings);
            errors.AddRange(WebFilter.ValidateSites(filter).Select(e => new SettingError(SiteErrorKey(e), "webFilter." + e)));
        }

        return (settings, errors);
    }

    // "blockedSites[3] 'x': ..." or "allowedCategories: ..." names its setting; the total-size message concerns both site lists.
    private static string SiteErrorKey(string message)
    {
        var end = message.IndexOfAny(['[', ':', ' ']);
        var field = end > 0 ? message[..end] : message;
        return All.ContainsKey("webFilter." + field) ? "webFilter." + field : "webFilter.blockedSites";
    }

    /// <summary>Writes flat settings back as the grouped JSON object.</summary>
    public static JsonObject ToDocument(IEnumerable<KeyValuePair<string, JsonNode>> settings)
    {
        var document = new JsonObject();
        foreach (var (key, value) in settings.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var dot = key.IndexOf('.', StringComparison.Ordinal);
            var groupName = key[..dot];
            if (document[groupName] is not JsonObject group)
            {
                group = [];
                document[groupName] = group;
            }

            group[key[(dot + 1)..]] = value.DeepClone();
        }

        return document;
    }

    /// <summary>The web filter part of flat settings; missing keys take their defaults.</summary>
    public static WebFilterSettings ToWebFilter(IReadOnlyDictionary<string, JsonNode> settings) => new(
        Strings(settings, "webFilter.blockedCategories"),
        Strings(settings, "webFilter.allowedCategories"),
        Strings(settings, "webFilter.blockedSites"),
        Strings(settings, "webFilter.allowedSites"),
        Boolean(settings, "webFilter.allowOnly"));

    /// <summary>A list setting, or its default.</summary>
    public static IReadOnlyList<string> Strings(IReadOnlyDictionary<string, JsonNode> settings, string key) =>
        (settings.TryGetValue(key, out var value) ? value : All[key].Default).AsArray().Select(n => n!.GetValue<string>()).ToArray();

    /// <summary>An integer setting, or its default.</summary>
    public static int Integer(IReadOnlyDictionary<string, JsonNode> settings, string key) =>
        (settings.TryGetValue(key, out var value) ? value : All[key].Default).GetValue<int>();

    /// <summary>A boolean setting, or its default.</summary>
    public static bool Boolean(IReadOnlyDictionary<string, JsonNode> settings, string key) =>
        (settings.TryGetValue(key, out var value) ? value : All[key].Default).GetValue<bool>();

    private static string? Check(SettingDefinition definition, JsonElement value)
    {
        switch (definition.Kind)
        {
            case SettingKind.Boolean:
                return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "must be true or false.";
            case SettingKind.Choice:
                return value.ValueKind == JsonValueKind.String && definition.Choices!.Contains(value.GetString())
                    ? null
                    : $"must be one of {string.Join(", ", definition.Choices!)}.";
            case SettingKind.Text:
                if (value.ValueKind != JsonValueKind.String || value.GetString()!.Length > MaxTextLength)
                {
                    return $"must be a string of at most {MaxTextLength} characters.";
                }

                return definition.Key switch
                {
                    "softwareUpdate.targetVersion" when value.GetString() is { Length: > 0 } v && !System.Text.RegularExpressions.Regex.IsMatch(v, @"^\d{1,3}(\.\d{1,3}){0,2}$")
                        => "must be a version such as 18.2 or 15.1.1.",
                    "location.reportingHours" when ScheduleText.Parse(value.GetString()).Error is { } scheduleError
                        => scheduleError,
                    "desktopBrowsers.extensionId" when value.GetString() is { Length: > 0 } id && !IsChromeExtensionId(id)
                        => "must be a Chrome extension id: 32 letters from a to p.",
                    "desktopBrowsers.extensionUpdateUrl" when UpdateUrlError(value.GetString()!, required: true) is { } urlError
                        => urlError,
                    "desktopBrowsers.firefoxInstallUrl" when UpdateUrlError(value.GetString()!, required: false) is { } urlError
                        => urlError,
                    "desktopBrowsers.firefoxAddonId" when value.GetString() is { Length: > 0 } addon && !IsFirefoxAddonId(addon)
                        => "must be a Firefox add-on id: name@domain or {GUID}.",
                    "softwareUpdate.deadline" when value.GetString() is { Length: > 0 } d && !DateTime.TryParseExact(d, "yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _)
                        => "must be a local date and time as 2026-12-01T17:00:00.",
                    _ => null,
                };
            case SettingKind.Integer:
                return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) && number >= definition.Min && number <= definition.Max
                    ? null
                    : $"must be a whole number from {definition.Min} to {definition.Max}.";
            case SettingKind.JsonObject:
                if (value.ValueKind != JsonValueKind.Object)
                {
                    return "must be a JSON object.";
                }

                return CompactSize(value) > MaxJsonObjectBytes ? $"must be at most {MaxJsonObjectBytes} bytes of JSON." : null;
            case SettingKind.StringList:
                if (value.ValueKind != JsonValueKind.Array)
                {
                    return "must be an array of strings.";
                }

                if (value.GetArrayLength() > definition.MaxItems)
                {
                    return $"holds at most {definition.MaxItems} items.";
                }

                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String || item.GetString()!.Length is 0 or > 2048)
                    {
                        return $"item {index} must be a non-empty string of at most 2048 characters.";
                    }

                    if (definition.Key == "location.allowedZones" && !Guid.TryParse(item.GetString(), out _))
                    {
                        return $"item {index} must be a zone id.";
                    }

                    index++;
                }

                return null;
            default:
                return "is not supported.";
        }
    }

    // Measured as written compactly, so indentation in what an administrator pasted does not count.
    private static int CompactSize(JsonElement value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            value.WriteTo(writer);
        }

        return buffer.WrittenCount;
    }

    /// <summary>Whether <paramref name="id"/> is a Chrome extension id: 32 letters from a to p.</summary>
    public static bool IsChromeExtensionId(string id) => id.Length == 32 && id.All(c => c is >= 'a' and <= 'p');

    /// <summary>
    /// Whether <paramref name="id"/> is a Firefox add-on id: <c>name@domain</c> or a GUID in braces. Kept to characters
    /// that need no escaping in a policy file or a registry key name.
    /// </summary>
    public static bool IsFirefoxAddonId(string id) =>
        id.Length <= 200
        && (System.Text.RegularExpressions.Regex.IsMatch(id, @"^\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}\z")
            || System.Text.RegularExpressions.Regex.IsMatch(id, @"^[A-Za-z0-9._+-]{1,100}@[A-Za-z0-9.-]{1,99}\z"));

    // An absolute http(s) URL without ';' (Chrome's force-install list separates the id and the URL with one) or spaces.
    private static string? UpdateUrlError(string url, bool required)
    {
        if (url.Length == 0)
        {
            return required ? "must be an http or https URL." : null;
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && uri.Host.Length > 0
            && !url.Any(c => c is ';' or ' ' || char.IsControl(c))
            ? null
            : "must be an http or https URL (without ';' or spaces).";
    }
}
