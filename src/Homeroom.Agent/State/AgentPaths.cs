namespace Homeroom.Agent.State;

/// <summary>Where the agent keeps its state: one directory only the service user may enter.</summary>
public sealed class AgentPaths(string stateDirectory)
{
    /// <summary>The default state directory of a system service on this platform.</summary>
    public static string DefaultStateDirectory =>
        OperatingSystem.IsWindows() ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "Homeroom", "Agent")
        : OperatingSystem.IsMacOS() ? MacStateDirectory
        : "/var/lib/homeroom-agent";

    /// <summary>The state directory of the macOS launchd daemon.</summary>
    public const string MacStateDirectory = "/Library/Application Support/Homeroom/Agent";

    public string StateDirectory { get; } = Path.GetFullPath(stateDirectory);

    public string CredentialFile => Path.Combine(StateDirectory, "credential.json");

    /// <summary>The commands carried out (or begun), so a re-delivered command is answered, not run again.</summary>
    public string CommandJournalFile => Path.Combine(StateDirectory, "commands.jsonl");

    /// <summary>Activity events not yet acknowledged, one JSON object a line.</summary>
    public string ActivityFile => Path.Combine(StateDirectory, "activity.jsonl");

    /// <summary>The activity queue's counters (next sequence number, acknowledged through, dropped).</summary>
    public string ActivityStateFile => Path.Combine(StateDirectory, "activity-state.json");

    /// <summary>Help requests the student made that the server has not acknowledged yet (<c>Session.HelpDesk</c>).</summary>
    public string HelpRequestsFile => Path.Combine(StateDirectory, "help-requests.json");

    /// <summary>The last policy applied.</summary>
    public string PolicyFile => Path.Combine(StateDirectory, "policy.json");

    /// <summary>The server's script-signing public key, kept from the first welcome frame that carried one (never replaced by a different one).</summary>
    public string ScriptKeyFile => Path.Combine(StateDirectory, "script-signing-key.der");

    /// <summary>Creates the state directory, 0700 on Linux and macOS, when it does not exist yet.</summary>
    public void EnsureStateDirectory()
    {
        if (Directory.Exists(StateDirectory))
        {
            return;
        }

        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(StateDirectory);
        }
        else
        {
            Directory.CreateDirectory(StateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Writes a whole file atomically (temporary file, flushed, then renamed), readable only by the service user.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="content"/> at once, readable by everyone (0644: browsers and
    /// launchd read these as other users; the service's umask 0077 would hide them), through a uniquely named file in
    /// <paramref name="temporaryDirectory"/>, which must be on the same file system so the rename is atomic.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static void WriteReadableAtomically(string path, string temporaryDirectory, ReadOnlySpan<byte> content)
    {
        var temporary = Path.Combine(temporaryDirectory, $".homeroom-{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write }))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
