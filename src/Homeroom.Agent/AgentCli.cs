using System.Text.Json;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Capabilities.Users;
using Homeroom.Agent.Connection;
using Homeroom.Agent.Install;
using Homeroom.Agent.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent;

/// <summary>
/// <c>homeroom-agent enroll --server URL --token T</c>, <c>run</c> (the service), <c>install</c>
/// (writes the systemd unit; on macOS sets up and starts the launchd daemon), <c>uninstall</c> (macOS),
/// <c>launchd-plist</c>, <c>status</c> and <c>inventory</c>. Every command takes
/// <c>--state DIR</c> (default <see cref="AgentPaths.DefaultStateDirectory"/>).
/// </summary>
public static class AgentCli
{
    public const int Ok = 0;
    public const int Usage = 2;
    public const int EnrollmentFailed = 3;
    public const int CredentialRefused = 4;
    public const int NotTheService = 5;
    public const int HelperRefused = 6;
    public const int NoDisplay = 7;
    /// <summary><c>probe</c>: no welcome from the server in time.</summary>
    public const int ProbeFailed = 8;
    /// <summary><c>help</c>: the session helper did not open the help window (not running, or the service is not).</summary>
    public const int HelpUnavailable = 9;
    /// <summary><c>install</c> on macOS: a file, <c>chown</c> or <c>launchctl bootstrap</c> failed (the message says which).</summary>
    public const int InstallFailed = 10;
    /// <summary>
    /// <c>run</c> stopped after installing a self-update: the service manager starts the program again, now the new one
    /// (systemd's <c>Restart=on-failure</c> restarts on any code but 0; EX_TEMPFAIL).
    /// </summary>
    public const int RestartForUpdate = 75;

    private const string Help = """
        homeroom-agent: the Homeroom device agent

          homeroom-agent enroll --server URL --token TOKEN [--name NAME] [--state DIR]
          homeroom-agent run [--config FILE] [--state DIR] [--package-dir DIR] [--helper-uid UID[,UID]] [--session-socket NAME]
                             [--user-email-domain DOMAIN]
          homeroom-agent session [--display :0] [--service-uid UID[,UID]] [--session-socket NAME]
          homeroom-agent help [--display :0] [--session-socket NAME]
          homeroom-agent install [--unit-dir DIR] [--executable PATH] [--state DIR] [--config FILE]
          homeroom-agent uninstall
          homeroom-agent launchd-plist [--executable PATH] [--state DIR] [--config FILE]
          homeroom-agent status [--state DIR]
          homeroom-agent inventory
          homeroom-agent probe [--state DIR] [--timeout SECONDS]

        run: the service. --config names a JSON file {"server": URL, "token": TOKEN} to enroll from when not enrolled yet;
        install --config makes the unit's service do the same.
        install on Linux writes the systemd unit (--unit-dir, default /etc/systemd/system). On macOS it writes the launchd
        daemon /Library/LaunchDaemons/org.homeroom.agent.plist (root:wheel, 0644) and its log rotation, makes the state
        directory root-only and starts the daemon (launchctl bootout, enable, bootstrap); uninstall stops it and removes
        those files (the enrollment stays). launchd-plist prints that property list, on any system, for packaging.
        --helper-uid: the users whose session helpers it takes (default: the user signed in to the helper's session).
        --user-email-domain (or "userEmailDomain" in the --config file): the signed-in account ada is reported as
        ada@DOMAIN as well as by name, so the server finds the student by e-mail; without it, by name (roster id) only.
        session: the user-session helper, run as the signed-in user in their X session (lock screen, messages,
        screen viewing). It talks only to a service running as --service-uid (default 0, root). On Windows the service
        starts it in each user's session itself, and it talks only to a service running as LocalSystem.
        help: "I need help", run as the student in their X session (the applications menu's entry runs it): asks their
        session helper to open its help window (a note, an optional picture of the screen, Send and Cancel).
        --help prints this text.
        probe: connects once with the enrolled credential and exits 0 when the server welcomes it (a self-update's
        new program proves itself this way before the old one steps aside).
        """;

    private const string UidsProblem = """
        --helper-uid and --service-uid take user ids (0 to 4294967294), separated by commas.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Action<IServiceCollection>? overrides = null, CancellationToken cancellationToken = default)
    {
        if (args is ["--help"])
        {
            return await WriteAsync(output, Help, Ok);
        }

        var verb = args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal) ? "run" : args[0];
        if (!TryParse(args.Skip(verb == "run" && (args.Length == 0 || args[0] != "run") ? 0 : 1), out var flags, out var problem))
        {
            await error.WriteLineAsync(problem + Environment.NewLine + Help);
            return Usage;
        }

        if (!TryUids(flags.GetValueOrDefault("helper-uid"), out var helperUids) || !TryUids(flags.GetValueOrDefault("service-uid") ?? "0", out var serviceUids))
        {
            await error.WriteLineAsync(UidsProblem + Help);
            return Usage;
        }

        var options = new AgentOptions
        {
            StateDirectory = flags.GetValueOrDefault("state") ?? AgentPaths.DefaultStateDirectory,
            ConfigFile = flags.GetValueOrDefault("config"),
            DeviceName = flags.GetValueOrDefault("name"),
            SessionHelperUids = helperUids,
        };
        if (flags.GetValueOrDefault("session-socket") is { } socketName)
        {
            if (socketName.Length is 0 or > 100)
            {
                return await WriteAsync(error, "--session-socket takes a name of 1 to 100 characters." + Environment.NewLine + Help, Usage);
            }

            options.SessionSocketName = socketName;
        }

        options.UserEmailDomain = flags.GetValueOrDefault("user-email-domain") ?? ReadEmailDomain(options.ConfigFile);
        if (options.UserEmailDomain is { } domain && !SignedInUsers.IsEmailDomain(domain))
        {
            return await WriteAsync(error, $"The user e-mail domain must be a domain name (letters, digits, dots and hyphens, at most {SignedInUsers.MaxDomainLength} characters), not '{domain}'." + Environment.NewLine + Help, Usage);
        }

        if (flags.GetValueOrDefault("package-dir") is { Length: > 0 } packageDirectory)
        {
            options.PackageDirectory = packageDirectory;
        }

        try
        {
            return verb switch
            {
                "enroll" => await EnrollAsync(options, flags, output, error, overrides, cancellationToken),
                "run" => await ServeAsync(options, output, error, overrides, cancellationToken),
                "install" => await InstallAsync(options, flags, output, error, cancellationToken),
                "uninstall" => await UninstallAsync(output, error, cancellationToken),
                "launchd-plist" => await PrintPlistAsync(options, flags, output, error),
                "status" => await StatusAsync(options, output),
                "inventory" => await InventoryAsync(options, output, overrides),
                "probe" => await ProbeAsync(options, flags.GetValueOrDefault("timeout"), error, cancellationToken),
                "session" => await SessionAsync(options, flags.GetValueOrDefault("display"), serviceUids, error, cancellationToken),
                "help" => await AskForHelpAsync(options, flags.GetValueOrDefault("display"), output, error, cancellationToken),
                _ => await WriteAsync(error, $"Unknown command '{verb}'.{Environment.NewLine}{Help}", Usage),
            };
        }
        catch (CredentialVaultException e)
        {
            await error.WriteLineAsync(e.Message);
            return CredentialRefused;
        }
    }

    private static async Task<int> EnrollAsync(AgentOptions options, Dictionary<string, string> flags, TextWriter output, TextWriter error, Action<IServiceCollection>? overrides, CancellationToken cancellationToken)
    {
        if (!TryServer(flags.GetValueOrDefault("server"), out var server) || flags.GetValueOrDefault("token") is not { Length: > 0 and <= 256 } token)
        {
            return await WriteAsync(error, "enroll needs --server (an absolute http or https address) and --token (1 to 256 characters)." + Environment.NewLine + Help, Usage);
        }

        using var host = AgentHost.Build(options, overrides, QuietLogging);
        var vault = host.Services.GetRequiredService<ICredentialVault>();
        var saved = vault.Load();
        // Enrolling again on the same server presents the credential held, proving this is the same device.
        var secrets = saved is not null && saved.Server == server
            ? saved with { EnrollToken = token, Stale = true }
            : new AgentSecrets(server, null, null, token);
        var (outcome, enrolled, detail) = await host.Services.GetRequiredService<AgentEnrollment>().EnrollAsync(secrets, cancellationToken);
        if (outcome != EnrollOutcome.Enrolled)
        {
            return await WriteAsync(error, $"Enrollment {outcome switch { EnrollOutcome.AwaitingApproval => "needs an administrator's approval (409)", EnrollOutcome.Refused => "was refused", _ => "failed" }}: {detail}", EnrollmentFailed);
        }

        return await WriteAsync(output, $"Enrolled as device {enrolled.DeviceId}. Start the service: "
            + (OperatingSystem.IsMacOS() ? "homeroom-agent install (as root)" : $"systemctl enable --now {SystemdUnit.UnitName}"), Ok);
    }

    private static async Task<int> ServeAsync(AgentOptions options, TextWriter output, TextWriter error, Action<IServiceCollection>? overrides, CancellationToken cancellationToken)
    {
        var paths = new AgentPaths(options.StateDirectory);
        ICredentialVault vault = OperatingSystem.IsWindows() ? new DpapiCredentialVault(paths) : new UnixCredentialVault(paths);
        // Checked before anything starts: a credential others can read is refused, not used.
        if (vault.Load() is null)
        {
            if (!TryReadConfig(options.ConfigFile, out var server, out var token))
            {
                return await WriteAsync(error, "Not enrolled: run `homeroom-agent enroll --server URL --token TOKEN` first, or give --config with a server and token.", EnrollmentFailed);
            }

            vault.Save(new AgentSecrets(server, null, null, token));
        }

        using var host = AgentHost.Build(options, overrides);
        await host.RunAsync(cancellationToken);
        if (host.Services.GetRequiredService<AgentStatus>().RestartRequested)
        {
            return RestartForUpdate;
        }

        var stopped = host.Services.GetRequiredService<AgentStatus>().Stopped;
        return stopped is null ? Ok : await WriteAsync(error, "Stopped: " + stopped, stopped == "revoked" ? Ok : EnrollmentFailed);
    }

    /// <summary>One connection with the enrolled credential: 0 once welcomed, <see cref="ProbeFailed"/> otherwise.</summary>
    private static async Task<int> ProbeAsync(AgentOptions options, string? timeoutText, TextWriter error, CancellationToken cancellationToken)
    {
        if (!int.TryParse(timeoutText ?? "30", System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds is < 1 or > 600)
        {
            return await WriteAsync(error, "--timeout takes 1 to 600 seconds." + Environment.NewLine + Help, Usage);
        }

        var paths = new AgentPaths(options.StateDirectory);
        ICredentialVault vault = OperatingSystem.IsWindows() ? new DpapiCredentialVault(paths) : new UnixCredentialVault(paths);
        if (vault.Load() is not { CanConnect: true } secrets)
        {
            return await WriteAsync(error, "Not enrolled, or the credential was refused: nothing to probe with.", EnrollmentFailed);
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(seconds));
        try
        {
            await using var client = await Homeroom.Contracts.Agents.AgentClient.ConnectAsync(
                Homeroom.Contracts.Agents.AgentProtocol.WebSocketUri(secrets.Server), null, limit.Token);
            var welcome = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // Nothing but the welcome is looked at: commands wait for the agent that will run.
            client.Start(frame =>
            {
                if (frame is Homeroom.Contracts.Agents.WelcomeFrame)
                {
                    welcome.TrySetResult();
                }

                return Task.CompletedTask;
            });
            await client.SendAsync(new Homeroom.Contracts.Agents.AuthFrame(
                secrets.DeviceId!.Value, secrets.Credential!, Homeroom.Contracts.Agents.AgentProtocol.Version, AgentOptions.Version));
            if (await Task.WhenAny(welcome.Task, client.Completion, Task.Delay(Timeout.Infinite, limit.Token)) == welcome.Task)
            {
                await client.CloseAsync();
                return Ok;
            }

            return await WriteAsync(error, limit.IsCancellationRequested
                ? $"No welcome within {seconds} s."
                : $"No welcome: the server closed the connection ({(int?)client.CloseStatus} {client.CloseDescription}).", ProbeFailed);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or HttpRequestException or IOException or OperationCanceledException)
        {
            return await WriteAsync(error, $"No welcome within {seconds} s: {e.Message}", ProbeFailed);
        }
    }

    private static async Task<int> InstallAsync(AgentOptions options, Dictionary<string, string> flags, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsMacOS())
        {
            var program = flags.GetValueOrDefault("executable") ?? Environment.ProcessPath ?? "/usr/local/homeroom-agent/homeroom-agent";
            var installed = await new LaunchdInstaller(new ProcessRunner(), new LaunchdLayout())
                .InstallAsync(Path.GetFullPath(program), Path.GetFullPath(options.StateDirectory), options.ConfigFile is null ? null : Path.GetFullPath(options.ConfigFile), cancellationToken);
            return await WriteAsync(installed.Succeeded ? output : error, installed.Message, installed.Succeeded ? Ok : InstallFailed);
        }

        var directory = flags.GetValueOrDefault("unit-dir") ?? SystemdUnit.DefaultUnitDirectory;
        var executable = flags.GetValueOrDefault("executable") ?? Environment.ProcessPath ?? "/usr/bin/homeroom-agent";
        Directory.CreateDirectory(directory);
        var unit = Path.Combine(directory, SystemdUnit.UnitName);
        await File.WriteAllTextAsync(unit, SystemdUnit.Render(executable, options.StateDirectory, options.ConfigFile));
        return await WriteAsync(output, $"Wrote {unit}. Then: systemctl daemon-reload && systemctl enable --now {SystemdUnit.UnitName}", Ok);
    }

    private static async Task<int> UninstallAsync(TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsMacOS())
        {
            return await WriteAsync(error, "uninstall removes the macOS launchd daemon; on Linux remove the package (apt remove homeroom-agent).", Usage);
        }

        var removed = await new LaunchdInstaller(new ProcessRunner(), new LaunchdLayout()).UninstallAsync(cancellationToken);
        return await WriteAsync(removed.Succeeded ? output : error, removed.Message, removed.Succeeded ? Ok : InstallFailed);
    }

    /// <summary>The launchd daemon's property list on standard output: how the packaging script, on Linux, puts it beside the macOS programs.</summary>
    private static async Task<int> PrintPlistAsync(AgentOptions options, Dictionary<string, string> flags, TextWriter output, TextWriter error)
    {
        var program = flags.GetValueOrDefault("executable") ?? "/usr/local/homeroom-agent/homeroom-agent";
        var state = flags.GetValueOrDefault("state") ?? AgentPaths.MacStateDirectory;
        if (!LaunchdDaemon.IsUsablePath(program) || !LaunchdDaemon.IsUsablePath(state) || options.ConfigFile is { } config && !LaunchdDaemon.IsUsablePath(config))
        {
            return await WriteAsync(error, "launchd-plist takes absolute paths without control characters." + Environment.NewLine + Help, Usage);
        }

        await output.WriteAsync(System.Text.Encoding.UTF8.GetString(LaunchdDaemon.Render(program, state, options.ConfigFile)));
        return Ok;
    }

    private static async Task<int> StatusAsync(AgentOptions options, TextWriter output)
    {
        var paths = new AgentPaths(options.StateDirectory);
        ICredentialVault vault = OperatingSystem.IsWindows() ? new DpapiCredentialVault(paths) : new UnixCredentialVault(paths);
        var secrets = vault.Load();
        var queued = 0;
        long dropped = 0;
        if (Directory.Exists(paths.StateDirectory))
        {
            using var queue = new ActivityQueue(paths, options.ActivityQueueCapacity);
            (queued, dropped) = (queue.Count, queue.Dropped);
        }

        await output.WriteLineAsync(secrets is null
            ? "Not enrolled."
            : $"Server {secrets.Server}, device {secrets.DeviceId?.ToString() ?? "(not enrolled yet)"}{(secrets.Stale ? ", credential refused: enrolls again at start" : string.Empty)}");
        await output.WriteLineAsync($"Activity queued: {queued}, dropped because the queue was full: {dropped}");
        return Ok;
    }

    private static async Task<int> InventoryAsync(AgentOptions options, TextWriter output, Action<IServiceCollection>? overrides)
    {
        options.StateDirectory = Directory.Exists(options.StateDirectory) ? options.StateDirectory : Path.Combine(Path.GetTempPath(), "homeroom-agent-inventory");
        using var host = AgentHost.Build(options, overrides, QuietLogging);
        var facts = host.Services.GetRequiredService<IInventoryCapability>().Read();
        var capabilities = host.Services.GetRequiredService<IEnumerable<ICapability>>().SelectMany(c => c.Describe()).ToList();
        var apps = host.Services.GetRequiredService<IApplicationsCapability>().ListInstalled();
        var account = await host.Services.GetRequiredService<ISignedInUserCapability>().CurrentAccountAsync(CancellationToken.None);
        var signedInUser = SignedInUsers.From(account, options.UserEmailDomain, out _);
        await output.WriteLineAsync(JsonSerializer.Serialize(new InventoryReport(facts, apps.Count, capabilities, signedInUser), AgentCliJsonContext.Default.InventoryReport));
        return Ok;
    }

    /// <summary>The user-session helper, until stopped (SIGINT, SIGTERM) or refused.</summary>
    private static async Task<int> SessionAsync(AgentOptions options, string? display, IReadOnlySet<uint> serviceUids, TextWriter error, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            return await WindowsSessionAsync(options, error, cancellationToken);
        }

        display ??= Environment.GetEnvironmentVariable("DISPLAY");
        if (!OperatingSystem.IsLinux() || display is not { Length: > 0 and <= 64 })
        {
            return await WriteAsync(error, "session needs Linux and an X display (--display or $DISPLAY).", NoDisplay);
        }

        using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true));
        Session.X11.X11Session screen;
        try
        {
            screen = Session.X11.X11Session.Open(display);
        }
        catch (InvalidOperationException e)
        {
            return await WriteAsync(error, e.Message, NoDisplay);
        }

        using (screen)
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        using (System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); }))
        using (System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, context => { context.Cancel = true; stop.Cancel(); }))
        {
            var helper = new Session.SessionHelper(new Session.SessionHelperOptions(display, options.SessionSocketName, serviceUids), screen, loggers.CreateLogger("homeroom-agent.session"));
            var outcome = await helper.RunAsync(stop.Token);
            return outcome switch
            {
                Session.SessionHelperOutcome.NotTheService => await WriteAsync(error, "Refused: " + helper.RefusalReason, NotTheService),
                Session.SessionHelperOutcome.Refused => await WriteAsync(error, "The service refused this helper: " + helper.RefusalReason, HelperRefused),
                _ => Ok,
            };
        }
    }

    /// <summary>
    /// Windows: the user-session helper in the session it was started in (by the service, <see cref="Session.Windows.WindowsHelperLauncher"/>),
    /// until the session ends or it is refused. Its "display" is its session as Windows names it; the service checks it the same way.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private static async Task<int> WindowsSessionAsync(AgentOptions options, TextWriter error, CancellationToken cancellationToken)
    {
        using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true));
        var display = Session.Windows.WindowsPipePeers.DisplayOf(System.Diagnostics.Process.GetCurrentProcess().SessionId);
        using var screen = await Session.Windows.WindowsSession.OpenAsync();
        var helper = new Session.SessionHelper(new Session.SessionHelperOptions(display, options.SessionSocketName, new HashSet<uint>()), screen, loggers.CreateLogger("homeroom-agent.session"));
        var outcome = await helper.RunAsync(cancellationToken);
        return outcome switch
        {
            Session.SessionHelperOutcome.NotTheService => await WriteAsync(error, "Refused: " + helper.RefusalReason, NotTheService),
            Session.SessionHelperOutcome.Refused => await WriteAsync(error, "The service refused this helper: " + helper.RefusalReason, HelperRefused),
            _ => Ok,
        };
    }

    /// <summary>Asks the student's session helper to open its help window; the student does the rest there.</summary>
    private static async Task<int> AskForHelpAsync(AgentOptions options, string? display, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        display ??= Environment.GetEnvironmentVariable("DISPLAY");
        if (!OperatingSystem.IsLinux() || display is not { Length: > 0 and <= 64 })
        {
            return await WriteAsync(error, "help needs Linux and an X display (--display or $DISPLAY).", NoDisplay);
        }

        var name = Session.HelpWindowSocket.Name(options.SessionSocketName, State.UnixFileOwnership.EffectiveUserId, display);
        var (shown, answer) = await Session.HelpWindowSocket.RequestAsync(name, TimeSpan.FromSeconds(10), cancellationToken);
        return shown
            ? await WriteAsync(output, "The help window is open on your screen.", Ok)
            : await WriteAsync(error, "No help window: " + answer + ".", HelpUnavailable);
    }

    private static bool TryUids(string? text, out IReadOnlySet<uint> uids)
    {
        var set = new HashSet<uint>();
        uids = set;
        if (text is null)
        {
            return true;
        }

        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!uint.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var uid) || uid == uint.MaxValue || set.Count >= 64)
            {
                return false;
            }

            set.Add(uid);
        }

        return set.Count > 0;
    }


    private static void QuietLogging(ILoggingBuilder logging) => logging.SetMinimumLevel(LogLevel.Warning);

    private static bool TryServer(string? text, out Uri server)
    {
        server = null!;
        if (text is null || text.Length > 2048 || !Uri.TryCreate(text, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            return false;
        }

        server = new Uri(parsed.GetLeftPart(UriPartial.Authority) + "/");
        return true;
    }

    // The installer's config file may also name the students' e-mail domain; anything unreadable there names none.
    private static string? ReadEmailDomain(string? path)
    {
        if (path is null || !File.Exists(path) || new FileInfo(path).Length > 64 * 1024)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("userEmailDomain", out var domain) && domain.ValueKind == JsonValueKind.String
                ? domain.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool TryReadConfig(string? path, out Uri server, out string token)
    {
        server = null!;
        token = null!;
        if (path is null || !File.Exists(path) || new FileInfo(path).Length > 64 * 1024)
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("server", out var s) && s.ValueKind == JsonValueKind.String && TryServer(s.GetString(), out server)
                && root.TryGetProperty("token", out var t) && t.GetString() is { Length: > 0 and <= 256 } text)
            {
                token = text;
                return true;
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    private static bool TryParse(IEnumerable<string> args, out Dictionary<string, string> flags, out string? problem)
    {
        flags = new(StringComparer.Ordinal);
        problem = null;
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var name = e.Current;
            if (!name.StartsWith("--", StringComparison.Ordinal) || name.Length < 3)
            {
                problem = $"Unexpected argument '{name}'.";
                return false;
            }

            if (!e.MoveNext())
            {
                problem = $"{name} needs a value.";
                return false;
            }

            flags[name[2..]] = e.Current;
        }

        return true;
    }

    private static async Task<int> WriteAsync(TextWriter writer, string text, int code)
    {
        await writer.WriteLineAsync(text);
        return code;
    }
}
