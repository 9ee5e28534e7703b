using System.Text.Json;
using Homeroom.Rules.Filtering;

namespace Homeroom.Rules.Policies;

/// <summary>
/// Reads the policy document an agent receives (the grouped settings plus <c>filter.listVersion</c>)
/// into the values an agent enforces. Missing or mistyped values take their defaults, so a newer
/// server's extra settings never stop an older agent.
/// </summary>
public sealed class PolicyDocument
{
    private readonly JsonElement _document;

    private PolicyDocument(JsonElement document)
    {
        _document = document;
        WebFilter = new WebFilterSettings(
            Strings("webFilter", "blockedCategories"),
            Strings("webFilter", "allowedCategories"),
            Strings("webFilter", "blockedSites"),
            Strings("webFilter", "allowedSites"),
            Boolean("webFilter", "allowOnly"));
    }

    /// <summary>Reads a document; a non-object reads as all defaults.</summary>
    public static PolicyDocument Read(JsonElement document) => new(document);

    /// <summary>The web filter to enforce.</summary>
    public WebFilterSettings WebFilter { get; }

    /// <summary>The filter-list version the categories refer to.</summary>
    public string? ListVersion => Text("filter", "listVersion");

    /// <summary>Categories whose hosts the agent needs (blocked and allowed).</summary>
    public IReadOnlyList<string> ListCategories => WebFilter.BlockedCategories.Concat(WebFilter.AllowedCategories).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>A boolean setting, or its default.</summary>
    public bool Boolean(string group, string name) =>
        Find(group, name) is { ValueKind: JsonValueKind.True or JsonValueKind.False } value
            ? value.GetBoolean()
            : PolicySettings.All.TryGetValue($"{group}.{name}", out var definition) && definition.Default.GetValueKind() == JsonValueKind.True;

    /// <summary>An integer setting within its range, or its default (0 for an unknown setting).</summary>
    public int Integer(string group, string name) =>
        PolicySettings.All.TryGetValue($"{group}.{name}", out var definition) && definition.Kind == SettingKind.Integer
            ? Find(group, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out var number) && number >= definition.Min && number <= definition.Max
                ? number
                : definition.Default.GetValue<int>()
            : 0;

    /// <summary>A text setting, or its default.</summary>
    public string? Text(string group, string name) =>
        Find(group, name) is { ValueKind: JsonValueKind.String } value
            ? value.GetString()
            : PolicySettings.All.TryGetValue($"{group}.{name}", out var definition) && definition.Default.GetValueKind() == JsonValueKind.String ? definition.Default.GetValue<string>() : null;

    /// <summary>A list setting, or empty.</summary>
    public IReadOnlyList<string> Strings(string group, string name) =>
        Find(group, name) is { ValueKind: JsonValueKind.Array } value
            ? value.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : [];

    /// <summary>An object setting (a <see cref="SettingKind.JsonObject"/>), or null when absent or not an object.</summary>
    public JsonElement? Object(string group, string name) =>
        Find(group, name) is { ValueKind: JsonValueKind.Object } value ? value : null;

    /// <summary>An object of lists (<c>{ "key": ["a", "b"] }</c>), or empty; values that are not lists of strings are left out.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> StringLists(string group, string name) =>
        Find(group, name) is { ValueKind: JsonValueKind.Object } value
            ? value.EnumerateObject()
                .Where(p => p.Value.ValueKind == JsonValueKind.Array)
                .GroupBy(p => p.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.First().Value.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList(), StringComparer.Ordinal)
            : new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    private JsonElement? Find(string group, string name) =>
        _document.ValueKind == JsonValueKind.Object
        && _document.TryGetProperty(group, out var g)
        && g.ValueKind == JsonValueKind.Object
        && g.TryGetProperty(name, out var value)
            ? value
            : null;
}
