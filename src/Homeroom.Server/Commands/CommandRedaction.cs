using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;

namespace Homeroom.Server.Commands;

/// <summary>
/// What of a command a staff member may read: a device's location (a <c>locate</c> result) only with
/// <see cref="Permission.ReadLocations"/>, and what staff wrote to students (message and lock texts)
/// only if they may send commands themselves; a script's body and signature (a <c>runScript</c> command) only if they may
/// run scripts.
/// </summary>
public static class CommandRedaction
{
    public const string Hidden = "(hidden)";

    private static readonly HashSet<string> LocationResults = new(StringComparer.Ordinal) { CommandKinds.Locate };

    private static readonly HashSet<string> PersonalArguments = new(StringComparer.Ordinal) { "text", "title", "message", "footnote", "phoneNumber" };

    private static readonly HashSet<string> ScriptArguments = new(StringComparer.Ordinal) { "body", "signature" };

    public static string? Result(StaffScope scope, string kind, string? result) =>
        result is not null && LocationResults.Contains(kind) && !scope.Can(Permission.ReadLocations) ? Hidden : result;

    public static IReadOnlyDictionary<string, string>? Arguments(StaffScope scope, IReadOnlyDictionary<string, string>? arguments)
    {
        if (arguments is null)
        {
            return arguments;
        }

        var personal = !scope.Can(Permission.IssueCommands) && !scope.Can(Permission.UseClassroom);
        var script = !scope.Can(Permission.RunScripts) && arguments.ContainsKey("signature");
        return !personal && !script
            ? arguments
            : arguments.ToDictionary(a => a.Key, a => (personal && PersonalArguments.Contains(a.Key)) || (script && ScriptArguments.Contains(a.Key)) ? Hidden : a.Value, StringComparer.Ordinal);
    }
}
