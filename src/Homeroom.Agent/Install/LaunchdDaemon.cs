using System.Text;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Capabilities.MacOS;
using Homeroom.Agent.State;

namespace Homeroom.Agent.Install;

/// <summary>
/// The launchd daemon <c>homeroom-agent install</c> sets up on macOS, the counterpart of <see cref="SystemdUnit"/>:
/// <c>/Library/LaunchDaemons/org.homeroom.agent.plist</c> runs <c>homeroom-agent run</c> as root at boot, and again
/// 10 s after it exits with a failure (a crash, or 75 after a self-update; 0, such as a revoked device, stays stopped),
/// with a 0077 umask and its output in <c>/Library/Logs/Homeroom/</c>. No per-user LaunchAgent: the session helper
/// is X11 only and does not run on macOS. <b>Written and tested on Linux; never run on macOS.</b>
/// </summary>
public static class LaunchdDaemon
{
    public const string Label = "org.homeroom.agent";

    public const string DefaultDaemonDirectory = "/Library/LaunchDaemons";

    public const string DefaultLogDirectory = "/Library/Logs/Homeroom";

    /// <summary>Where newsyslog reads its rotation rules (<c>/etc</c> is <c>/private/etc</c> on macOS).</summary>
    public const string DefaultNewsyslogDirectory = "/etc/newsyslog.d";

    public const string PlistFileName = Label + ".plist";

    /// <summary>The seconds launchd waits before starting the agent again after it exits (as systemd's <c>RestartSec=10</c>).</summary>
    public const int ThrottleSeconds = 10;

    /// <summary>The daemon's property list; with <paramref name="configFile"/>, the agent enrolls from that file at start when it holds no credential yet.</summary>
    public static byte[] Render(string executable, string stateDirectory, string? configFile = null, string logDirectory = DefaultLogDirectory)
    {
        var arguments = new List<string> { executable, "run", "--state", stateDirectory };
        if (configFile is not null)
        {
            arguments.AddRange(["--config", configFile]);
        }

        return PlistXml.Document(PlistXml.Dict(
            ("Label", PlistXml.String(Label)),
            // An array, never a shell line: spaces, quotes, & and < in paths need nothing but XML's own escaping.
            ("ProgramArguments", PlistXml.Array(arguments.Select(PlistXml.String))),
            ("RunAtLoad", PlistXml.Boolean(true)),
            // Started again only after a failure, as systemd's Restart=on-failure: exit 0 (revoked, stopped) stays stopped.
            ("KeepAlive", PlistXml.Dict(("SuccessfulExit", PlistXml.Boolean(false)))),
            ("ThrottleInterval", PlistXml.Integer(ThrottleSeconds)),
            ("UserName", PlistXml.String("root")),
            ("GroupName", PlistXml.String("wheel")),
            ("Umask", PlistXml.Integer(0b000_111_111)),
            ("ProcessType", PlistXml.String("Background")),
            ("StandardOutPath", PlistXml.String(Path.Combine(logDirectory, "agent.log"))),
            ("StandardErrorPath", PlistXml.String(Path.Combine(logDirectory, "agent-error.log")))));
    }

    /// <summary>
    /// newsyslog's rules for the two logs, which launchd only appends to: each rotated at 5 MB, five kept, mode 0600.
    /// launchd holds the file open, so a rotated log goes on receiving lines until the agent next starts (docs/desktop-agent.md).
    /// </summary>
    public static string NewsyslogRules(string logDirectory = DefaultLogDirectory) =>
        $"""
        # Homeroom agent logs (written by homeroom-agent install). logfile owner:group mode count size(KB) when flags
        {Path.Combine(logDirectory, "agent.log")}	root:wheel	600	5	5120	*	N
        {Path.Combine(logDirectory, "agent-error.log")}	root:wheel	600	5	5120	*	N

        """;

    /// <summary>Whether a path can go into the property list and newsyslog's rules: absolute, no control characters.</summary>
    public static bool IsUsablePath(string path) => path.Length is > 1 and <= 1024 && path[0] == '/' && !path.Any(char.IsControl);
}

/// <summary>Where <see cref="LaunchdInstaller"/> puts things; every path is a parameter so the tests use directories of their own.</summary>
public sealed record LaunchdLayout(
    string DaemonDirectory = LaunchdDaemon.DefaultDaemonDirectory,
    string LogDirectory = LaunchdDaemon.DefaultLogDirectory,
    string NewsyslogDirectory = LaunchdDaemon.DefaultNewsyslogDirectory)
{
    public string PlistFile => Path.Combine(DaemonDirectory, LaunchdDaemon.PlistFileName);

    public string NewsyslogFile => Path.Combine(NewsyslogDirectory, LaunchdDaemon.Label + ".conf");
}

/// <summary>What an install or uninstall did: whether it worked, and what to tell the administrator.</summary>
public sealed record LaunchdResult(bool Succeeded, string Message);

/// <summary>
/// Installs and removes the daemon: the files written (root:wheel, 0644, atomically), then <c>launchctl</c> run through
/// <see cref="IOsCommandRunner"/> (never a shell): <c>bootout</c> of a daemon loaded before (its failure, "not loaded",
/// is expected), <c>enable</c> (undoing an earlier <c>launchctl disable</c>, which launchd remembers) and
/// <c>bootstrap</c>, tried again twice 2 s apart because launchd may still be tearing the old one down.
/// The state directory is made root-only (0700). <b>Never run on macOS</b>; the steps are tested with a recording runner.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LaunchdInstaller(IOsCommandRunner runner, LaunchdLayout layout, Func<TimeSpan, Task>? delay = null)
{
    public const string Launchctl = "/bin/launchctl";

    public const string Chown = "/usr/sbin/chown";

    private const UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Mode0755 = Mode0644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private static readonly TimeSpan CommandLimit = TimeSpan.FromSeconds(60);

    private readonly Func<TimeSpan, Task> _delay = delay ?? (wait => Task.Delay(wait));

    private static string ServiceTarget => "system/" + LaunchdDaemon.Label;

    public async Task<LaunchdResult> InstallAsync(string executable, string stateDirectory, string? configFile, CancellationToken cancellationToken)
    {
        if (!LaunchdDaemon.IsUsablePath(executable) || !LaunchdDaemon.IsUsablePath(stateDirectory) || (configFile is not null && !LaunchdDaemon.IsUsablePath(configFile)))
        {
            return new(false, "The program, state and config paths must be absolute, without control characters.");
        }

        try
        {
            CreateDirectory(stateDirectory, Mode0700);
            CreateDirectory(layout.LogDirectory, Mode0700);
            CreateDirectory(layout.DaemonDirectory, Mode0755);
            CreateDirectory(layout.NewsyslogDirectory, Mode0755);
            WriteFile(layout.PlistFile, LaunchdDaemon.Render(executable, stateDirectory, configFile, layout.LogDirectory));
            WriteFile(layout.NewsyslogFile, Encoding.UTF8.GetBytes(LaunchdDaemon.NewsyslogRules(layout.LogDirectory)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(false, $"The daemon's files could not be written (install runs as root): {e.Message}");
        }

        // launchd refuses a daemon's property list not owned by root:wheel (uid 0, gid 0).
        foreach (var file in new[] { layout.PlistFile, layout.NewsyslogFile, stateDirectory })
        {
            var chown = await runner.RunCapturedAsync(new(Chown, ["0:0", file], CommandLimit), cancellationToken);
            if (chown.ExitCode != 0)
            {
                return new(false, $"chown root:wheel {file} failed ({chown.ExitCode}): {chown.Tail(200)}");
            }
        }

        // A daemon loaded before (an older program, other arguments) is stopped first; "not loaded" is fine.
        await runner.RunCapturedAsync(new(Launchctl, ["bootout", ServiceTarget], CommandLimit), cancellationToken);
        await runner.RunCapturedAsync(new(Launchctl, ["enable", ServiceTarget], CommandLimit), cancellationToken);
        ToolRun bootstrap = new(-1, string.Empty, Finished: false);
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            bootstrap = await runner.RunCapturedAsync(new(Launchctl, ["bootstrap", "system", layout.PlistFile], CommandLimit), cancellationToken);
            if (bootstrap.ExitCode == 0)
            {
                return new(true, $"Wrote {layout.PlistFile} and started {LaunchdDaemon.Label} (launchctl print {ServiceTarget} shows it).");
            }

            if (attempt < 3)
            {
                await _delay(TimeSpan.FromSeconds(2));
            }
        }

        return new(false, $"Wrote {layout.PlistFile}, but launchctl bootstrap failed ({bootstrap.ExitCode}): {bootstrap.Tail(200)}");
    }

    /// <summary>Stops the daemon and removes its property list and log rules; the state (the enrollment) and the logs stay.</summary>
    public async Task<LaunchdResult> UninstallAsync(CancellationToken cancellationToken)
    {
        var bootout = await runner.RunCapturedAsync(new(Launchctl, ["bootout", ServiceTarget], CommandLimit), cancellationToken);
        var removed = File.Exists(layout.PlistFile);
        try
        {
            File.Delete(layout.PlistFile);
            File.Delete(layout.NewsyslogFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(false, $"{layout.PlistFile} could not be removed (uninstall runs as root): {e.Message}");
        }

        return new(true, removed || bootout.ExitCode == 0
            ? $"Stopped {LaunchdDaemon.Label} and removed {layout.PlistFile}."
            : $"{LaunchdDaemon.Label} was not installed.");
    }

    private static void CreateDirectory(string directory, UnixFileMode mode)
    {
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, mode);
    }

    private static void WriteFile(string path, byte[] content) => AgentPaths.WriteReadableAtomically(path, Path.GetDirectoryName(path)!, content);
}
