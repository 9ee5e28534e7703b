namespace Homeroom.Agent.Capabilities.Users;

/// <summary>One systemd-logind session as <c>loginctl show-session</c> describes it.</summary>
public sealed record LogindSession(string Id, string? Name, string? Type, string? Class, bool Active, bool Remote, string? State)
{
    /// <summary>A session on a graphical display (X11, Wayland or Mir), not a text console or a background one.</summary>
    public bool Graphical => Type is "x11" or "wayland" or "mir";
}

/// <summary>Reads the output of <c>loginctl list-sessions --no-legend</c> and <c>loginctl show-session ID… -p …</c>.</summary>
public static class LogindSessions
{
    /// <summary>The properties asked of <c>show-session</c>.</summary>
    public static readonly IReadOnlyList<string> Properties = ["Id", "Name", "Type", "Class", "Active", "Remote", "State"];

    /// <summary>Most sessions looked at: a desk has a handful; a server with thousands of SSH sessions is not a shared device.</summary>
    public const int MaxSessions = 64;

    /// <summary>
    /// The session ids in <c>list-sessions --no-legend</c> output: the first column of each line, whichever columns
    /// the systemd version prints after it (SESSION UID USER SEAT TTY, or with LEADER, CLASS, IDLE and SINCE since 254).
    /// </summary>
    public static IReadOnlyList<string> ParseSessionIds(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split((char[])[' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries)[0])
            .Where(IsSessionId)
            .Distinct(StringComparer.Ordinal)
            .Take(MaxSessions)];

    /// <summary>The sessions in <c>show-session</c> output: <c>Key=value</c> lines, one block per session, blocks separated by a blank line.</summary>
    public static IReadOnlyList<LogindSession> ParseShowSession(string output)
    {
        var sessions = new List<LogindSession>();
        var block = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in output.Split('\n').Append(string.Empty))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                if (block.TryGetValue("Id", out var id) && IsSessionId(id))
                {
                    sessions.Add(new LogindSession(
                        id,
                        Value(block, "Name"),
                        Value(block, "Type"),
                        Value(block, "Class"),
                        block.GetValueOrDefault("Active") == "yes",
                        block.GetValueOrDefault("Remote") == "yes",
                        Value(block, "State")));
                }

                block.Clear();
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                block[line[..equals]] = line[(equals + 1)..];
            }
        }

        return sessions;
    }

    /// <summary>
    /// The user of the active local graphical session: active, not remote, of class <c>user</c> (not a greeter or lock
    /// screen), on X11, Wayland or Mir. Null when there is none (the login screen shows, or only text or remote sessions).
    /// </summary>
    public static string? ActiveGraphicalUser(IEnumerable<LogindSession> sessions) =>
        sessions.Where(s => s.Active && !s.Remote && s.Class == "user" && s.Graphical && s.State is null or "active" && !string.IsNullOrEmpty(s.Name))
            .OrderBy(s => s.Id, StringComparer.Ordinal)
            .Select(s => s.Name)
            .FirstOrDefault();

    private static string? Value(Dictionary<string, string> block, string key) => block.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

    // logind's ids are short tokens ("2", "c1"); anything else in the first column is not a session line.
    private static bool IsSessionId(string value) => value.Length is > 0 and <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
