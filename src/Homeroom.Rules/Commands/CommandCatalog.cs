using Homeroom.Contracts.Agents;

namespace Homeroom.Rules.Commands;

/// <summary>Describes one command kind: its arguments and their limits.</summary>
/// <param name="Kind">The wire name.</param>
/// <param name="Required">Arguments that must be present.</param>
/// <param name="Optional">Arguments that may be present.</param>
public sealed record CommandDefinition(string Kind, IReadOnlyList<string> Required, IReadOnlyList<string> Optional);

/// <summary>The command kinds staff may issue and how their arguments are checked.</summary>
public static class CommandCatalog
{
    private static readonly Dictionary<string, CommandDefinition> Definitions = new(StringComparer.Ordinal)
    {
        [CommandKinds.Lock] = new(CommandKinds.Lock, [], ["message"]),
        [CommandKinds.Unlock] = new(CommandKinds.Unlock, [], []),
        [CommandKinds.Message] = new(CommandKinds.Message, ["text"], ["title"]),
        [CommandKinds.OpenUrl] = new(CommandKinds.OpenUrl, ["url"], []),
        [CommandKinds.CloseTab] = new(CommandKinds.CloseTab, [], ["url", "tabId"]),
        [CommandKinds.Restart] = new(CommandKinds.Restart, [], []),
        [CommandKinds.Locate] = new(CommandKinds.Locate, [], []),
        [CommandKinds.Ping] = new(CommandKinds.Ping, [], []),
    };

    /// <summary>Every known kind.</summary>
    public static IEnumerable<string> Kinds => Definitions.Keys;

    /// <summary>Checks a kind and its arguments. Returns field errors keyed by argument; empty when valid.</summary>
    public static Dictionary<string, string[]> Validate(string? kind, IReadOnlyDictionary<string, string>? arguments)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (kind is null || !Definitions.TryGetValue(kind, out var definition))
        {
            errors["kind"] = [$"Unknown command kind. Known kinds: {string.Join(", ", Definitions.Keys)}."];
            return errors;
        }

        arguments ??= new Dictionary<string, string>();
        if (arguments.Count > ProtocolLimits.MaxCommandArguments)
        {
            errors["arguments"] = ["Too many arguments."];
            return errors;
        }

        foreach (var name in definition.Required)
        {
            if (!arguments.TryGetValue(name, out var value) || string.IsNullOrWhiteSpace(value))
            {
                errors[$"arguments.{name}"] = ["This argument is required."];
            }
        }

        foreach (var (name, value) in arguments)
        {
            if (!definition.Required.Contains(name) && !definition.Optional.Contains(name))
            {
                errors[$"arguments.{name}"] = [$"'{kind}' does not take this argument."];
            }
            else if (value is null || value.Length > ProtocolLimits.MaxLongText)
            {
                errors[$"arguments.{name}"] = ["Missing or longer than 4096 characters."];
            }
            else if (name == "url" && !IsWebUrl(value, kind == CommandKinds.CloseTab))
            {
                errors[$"arguments.{name}"] = ["Must be an absolute http or https URL."];
            }
        }

        return errors;
    }

    private static bool IsWebUrl(string value, bool prefixAllowed) =>
        value.Length <= ProtocolLimits.MaxUrlLength
        && Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps || prefixAllowed && uri.Scheme.Length > 0);
}
