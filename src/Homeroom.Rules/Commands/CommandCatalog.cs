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
        [CommandKinds.Focus] = new(CommandKinds.Focus, ["sites"], ["until"]),
        [CommandKinds.EndFocus] = new(CommandKinds.EndFocus, [], []),
        [CommandKinds.Shutdown] = new(CommandKinds.Shutdown, [], []),
        [CommandKinds.Erase] = new(CommandKinds.Erase, [], []),
        [CommandKinds.InstallApp] = new(CommandKinds.InstallApp, [], ["appStoreId", "bundleId"]),
        [CommandKinds.RemoveApp] = new(CommandKinds.RemoveApp, ["bundleId"], []),
        [CommandKinds.ListApps] = new(CommandKinds.ListApps, [], []),
        [CommandKinds.ListProfiles] = new(CommandKinds.ListProfiles, [], []),
        [CommandKinds.ListManagedApps] = new(CommandKinds.ListManagedApps, [], []),
        [CommandKinds.RemoveProfile] = new(CommandKinds.RemoveProfile, ["identifier"], []),
        [CommandKinds.UpdateOs] = new(CommandKinds.UpdateOs, [], ["version", "action"]),
        [CommandKinds.ListOsUpdates] = new(CommandKinds.ListOsUpdates, [], []),
        [CommandKinds.OsUpdateStatus] = new(CommandKinds.OsUpdateStatus, [], []),
        [CommandKinds.LostMode] = new(CommandKinds.LostMode, ["message"], ["phoneNumber", "footnote"]),
        [CommandKinds.EndLostMode] = new(CommandKinds.EndLostMode, [], []),
        [CommandKinds.Rename] = new(CommandKinds.Rename, ["name"], []),
        [CommandKinds.ApplyPolicy] = new(CommandKinds.ApplyPolicy, [], []),
        [CommandKinds.Wallpaper] = new(CommandKinds.Wallpaper, ["wallpaperId"], ["where"]),
        [CommandKinds.InstallPackage] = new(CommandKinds.InstallPackage, ["package"], []),
        [CommandKinds.RemovePackage] = new(CommandKinds.RemovePackage, ["package"], []),
        [CommandKinds.InstallOsUpdates] = new(CommandKinds.InstallOsUpdates, [], ["deadline"]),
        [CommandKinds.Diagnose] = new(CommandKinds.Diagnose, [], ["urls"]),
    };

    /// <summary>
    /// The package commands as the server's app reconciler issues them, never <c>POST /api/commands</c>: a Mac package's
    /// download URL and hash (and the app bundle it installs) come from the catalog only, since an agent runs what they name as root
    /// (and an MDM Mac installs what <c>installEnterpriseApp</c> names).
    /// </summary>
    private static readonly Dictionary<string, CommandDefinition> CatalogPackageDefinitions = new(StringComparer.Ordinal)
    {
        [CommandKinds.InstallPackage] = new(CommandKinds.InstallPackage, ["package"], ["packageUrl", "sha256", "appPath", "bundleId"]),
        [CommandKinds.RemovePackage] = new(CommandKinds.RemovePackage, ["package"], ["appPath", "bundleId"]),
        [CommandKinds.InstallEnterpriseApp] = new(CommandKinds.InstallEnterpriseApp, ["package", "packageUrl", "sha256", "bundleId"], ["name"]),
    };

    /// <summary>What an argument of this name must look like, or null for free text.</summary>
    private static string? FormatError(string name, string value) => name switch
    {
        "appStoreId" => value.Length is > 0 and <= 15 && value.All(char.IsAsciiDigit) ? null : "An App Store id is 1 to 15 digits.",
        "bundleId" or "identifier" => value.Length is > 0 and <= 255 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
            ? null
            : "An identifier is up to 255 of letters, digits, '.', '-' and '_'.",
        "version" => value.Length is > 0 and <= 32 && value.All(c => char.IsAsciiDigit(c) || c == '.') ? null : "A version is digits and dots, like 18.2.",
        "package" => PackageIds.IsValid(value) ? null : $"A package identity is 1 to {PackageIds.MaxLength} letters, digits, '.', '-', '_' and '+', starting with a letter or digit.",
        "wallpaperId" => Guid.TryParse(value, out _) ? null : "A wallpaper id from /api/apple/wallpapers.",
        "where" => value is "lock" or "home" or "both" ? null : "One of lock, home, both.",
        "action" => value is "install" or "download" or "installLater" ? null : "One of install, download, installLater.",
        "name" => value.Length is > 0 and <= 255 && !value.Any(char.IsControl) ? null : "A name is 1 to 255 characters without control characters.",
        "phoneNumber" => value.Length <= 32 && value.All(c => char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '(' or ')') ? null : "A phone number is digits, spaces and + - ( ).",
        "urls" => DiagnosticsLimits.ParseSites(value, out _),
        "packageUrl" => Apps.AppIdentity.IsPackageUrl(value) ? null : "An https URL.",
        "sha256" => Apps.AppIdentity.IsSha256(value) ? null : "A SHA-256: 64 hex characters.",
        "appPath" => Apps.AppIdentity.IsMacAppPath(value) ? null : "An app bundle under /Applications, ending in .app.",
        "sites" => FocusSites.Parse(value, out var sitesError) is null ? sitesError : null,
        "until" or "deadline" => DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _)
            ? null
            : "An ISO 8601 time with offset, like 2026-09-01T10:15:00+00:00.",
        _ => null,
    };

    /// <summary>Every known kind.</summary>
    public static IEnumerable<string> Kinds => Definitions.Keys;

    /// <summary>Checks a kind and its arguments. Returns field errors keyed by argument; empty when valid.</summary>
    public static Dictionary<string, string[]> Validate(string? kind, IReadOnlyDictionary<string, string>? arguments) => Validate(kind, arguments, Definitions);

    /// <summary>
    /// Checks a package command the server issues for the app catalog (<c>installPackage</c>, <c>removePackage</c>, <c>installEnterpriseApp</c>), which
    /// may carry a Mac package's <c>packageUrl</c>, <c>sha256</c>, <c>appPath</c> and <c>bundleId</c>; empty when valid.
    /// </summary>
    public static Dictionary<string, string[]> ValidateCatalogPackage(string? kind, IReadOnlyDictionary<string, string>? arguments) =>
        Validate(kind, arguments, CatalogPackageDefinitions);

    private static Dictionary<string, string[]> Validate(string? kind, IReadOnlyDictionary<string, string>? arguments, Dictionary<string, CommandDefinition> definitions)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (kind is null || !definitions.TryGetValue(kind, out var definition))
        {
            errors["kind"] = [$"Unknown command kind. Known kinds: {string.Join(", ", definitions.Keys)}."];
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
            else if (FormatError(name, value) is { } format)
            {
                errors[$"arguments.{name}"] = [format];
            }
        }

        if (kind == CommandKinds.InstallApp && arguments.ContainsKey("appStoreId") == arguments.ContainsKey("bundleId"))
        {
            errors["arguments"] = ["Give exactly one of appStoreId and bundleId."];
        }

        return errors;
    }

    private static bool IsWebUrl(string value, bool prefixAllowed) =>
        value.Length <= ProtocolLimits.MaxUrlLength
        && Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps || prefixAllowed && uri.Scheme.Length > 0);
}
