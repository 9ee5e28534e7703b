using System.Globalization;

namespace Homeroom.Agent.Session.Windows;

/// <summary>
/// The Windows channel's rules, free of Win32 so they are tested on any OS: the pipe's name and security descriptor,
/// and who each end accepts. <see cref="WindowsPipes"/> reads the facts from Windows and asks these.
/// </summary>
public static class WindowsPipePeers
{
    /// <summary>LocalSystem, the account the service runs as.</summary>
    public const string LocalSystemSid = "S-1-5-18";

    /// <summary>
    /// What an interactive user may do with the pipe: read and write data, attributes and extended attributes, read its
    /// security descriptor (the helper checks the owner), and wait on it. Not <c>FILE_CREATE_PIPE_INSTANCE</c> (0x4, the
    /// same bit as <c>FILE_APPEND_DATA</c>, so also not <c>FILE_GENERIC_WRITE</c>): a user who could create an instance
    /// could serve helpers from a server end of their own under the service's name.
    /// </summary>
    public const uint InteractiveUserAccess = 0x0001 | 0x0002 | 0x0008 | 0x0010 | 0x0080 | 0x0100 | 0x0002_0000 | 0x0010_0000;

    /// <summary>
    /// The pipe's security descriptor (SDDL): owned by LocalSystem; a protected DACL (nothing inherited) giving LocalSystem
    /// full control and interactive users (<c>IU</c>: console and Remote Desktop sign-ins) <see cref="InteractiveUserAccess"/>
    /// only, and denying network sign-ins (<c>NU</c>) everything. Anyone else (services, batch jobs, anonymous) has no access.
    /// Remote clients are also refused by the pipe itself (<c>PIPE_REJECT_REMOTE_CLIENTS</c>).
    /// </summary>
    public static string SecurityDescriptor { get; } =
        $"O:SYG:SYD:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;0x{InteractiveUserAccess.ToString("X8", CultureInfo.InvariantCulture)};;;IU)";

    /// <summary>The pipe's name for the service's channel name (<c>\\.\pipe\</c> + this; a pipe name may hold anything but a backslash).</summary>
    public static string PipeName(string channelName) => channelName.TrimStart('@').Replace('\\', '-').Replace('/', '-');

    /// <summary>
    /// The "display" a Windows helper serves: its session, as Windows says (never what the helper sent), so one helper per
    /// session holds as one per X display does.
    /// </summary>
    public static string DisplayOf(int sessionId) => "session " + sessionId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Whether the service takes a helper: its process must run in a user's session (not 0, the services' session) as the
    /// user signed in to that session (<c>WTSQueryUserToken</c> of that session). Null: taken; otherwise why not.
    /// </summary>
    /// <param name="helperSessionId">The helper process's session (<c>ProcessIdToSessionId</c>); null when it could not be read.</param>
    /// <param name="helperUserSid">The user of the helper process's token; null when it could not be read.</param>
    /// <param name="sessionUserSid">The user signed in to that session; null when nobody is (or it could not be read).</param>
    public static string? HelperRefusal(int? helperSessionId, string? helperUserSid, string? sessionUserSid)
    {
        if (helperSessionId is not { } session || helperUserSid is null)
        {
            return "the helper's process, session or user could not be read";
        }

        if (session == 0)
        {
            return "the helper runs in session 0 (services), not in a user's session";
        }

        if (sessionUserSid is null)
        {
            return $"nobody is signed in to session {session.ToString(CultureInfo.InvariantCulture)}";
        }

        return string.Equals(helperUserSid, sessionUserSid, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"the helper runs as {helperUserSid}, not as the user signed in to session {session.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// Whether the helper talks to the process at the server end of the pipe: it must run in session 0 as LocalSystem, and
    /// the pipe must be owned by LocalSystem (an owner an ordinary user cannot give an object). Null: it is the service.
    /// </summary>
    /// <param name="serverSessionId">The server process's session (<c>GetNamedPipeServerSessionId</c>); null when unreadable.</param>
    /// <param name="serverUserSid">The user of the server process's token; null when a standard user may not open it (a LocalSystem token's DACL usually refuses them), in which case the pipe's owner decides.</param>
    /// <param name="pipeOwnerSid">The pipe's owner (<c>GetSecurityInfo</c>); null when unreadable.</param>
    public static string? ServiceRefusal(int? serverSessionId, string? serverUserSid, string? pipeOwnerSid)
    {
        if (pipeOwnerSid is null || serverSessionId is null)
        {
            return "the pipe's owner or its server's session could not be read";
        }

        if (!string.Equals(pipeOwnerSid, LocalSystemSid, StringComparison.OrdinalIgnoreCase))
        {
            return $"the pipe is owned by {pipeOwnerSid}, not by LocalSystem";
        }

        if (serverSessionId != 0)
        {
            return $"the pipe's server runs in session {serverSessionId.Value.ToString(CultureInfo.InvariantCulture)}, not in the services' session 0";
        }

        return serverUserSid is null || string.Equals(serverUserSid, LocalSystemSid, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"the pipe's server runs as {serverUserSid}, not as LocalSystem";
    }
}
