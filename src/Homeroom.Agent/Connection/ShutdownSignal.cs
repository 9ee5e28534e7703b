using System.Runtime.Versioning;
using Homeroom.Agent.Capabilities;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.WindowsServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Homeroom.Agent.Connection;

/// <summary>
/// Tells, as the agent stops, whether the computer is shutting down or only the agent is being stopped, so
/// its goodbye to the server says which (<see cref="AgentGoingAwayReasons"/>): the server raises an alert when
/// an agent is stopped on a running computer and does not come back.
/// <list type="bullet">
/// <item>Windows: the service manager sends services a shutdown control when Windows shuts down
/// (<see cref="AgentServiceLifetime"/> records it); any other stop is the agent being stopped.</item>
/// <item>Linux: systemd reports its state as <c>stopping</c> while the system shuts down
/// (<c>systemctl is-system-running</c>, asked with a 2 s limit); any other state is the agent being stopped.</item>
/// <item>macOS: launchd stops daemons the same way in both cases, so the agent says nothing either way
/// (a normal close); the server watches Macs through their MDM check-ins instead.</item>
/// </list>
/// </summary>
public sealed class ShutdownSignal(AgentOptions options, IOsCommandRunner runner)
{
    private static readonly TimeSpan SystemdStateLimit = TimeSpan.FromSeconds(2);

    private volatile bool _systemShutdown;

    /// <summary>The service manager said the system is shutting down.</summary>
    public void SystemIsShuttingDown() => _systemShutdown = true;

    /// <summary>The reason to close with (1001), or null to close normally without one.</summary>
    public async Task<string?> GoingAwayReasonAsync()
    {
        if (_systemShutdown)
        {
            return AgentGoingAwayReasons.SystemShutdown;
        }

        if (OperatingSystem.IsLinux())
        {
            return await SystemdStateAsync(runner, options.SystemctlPath ?? FindSystemctl()) == "stopping"
                ? AgentGoingAwayReasons.SystemShutdown
                : AgentGoingAwayReasons.AgentStopped;
        }

        return OperatingSystem.IsWindows() ? AgentGoingAwayReasons.AgentStopped : null;
    }

    private static string? FindSystemctl() => ((string[])["/usr/bin/systemctl", "/bin/systemctl"]).FirstOrDefault(File.Exists);

    /// <summary>systemd's state (<c>running</c>, <c>degraded</c>, <c>stopping</c>, …), or null when it cannot be asked in time.</summary>
    internal static async Task<string?> SystemdStateAsync(IOsCommandRunner runner, string? systemctl)
    {
        if (systemctl is null)
        {
            return null;
        }

        // Only standard output: systemctl prints the state there and its complaints (no systemd, no bus) on standard error.
        var run = await runner.RunCapturedAsync(new(systemctl, ["is-system-running"], SystemdStateLimit) { CaptureStandardError = false }, CancellationToken.None);
        var state = run.Output.Trim();
        return run.Finished && state.Length is > 0 and <= 32 ? state : null;
    }
}

/// <summary>
/// The Windows service lifetime, noting a system shutdown before the host stops (see <see cref="ShutdownSignal"/>), and
/// passing Windows' session changes (logon, connect, unlock) to the helper launcher so a new session gets its helper at once.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class AgentServiceLifetime : WindowsServiceLifetime
{
    private readonly ShutdownSignal _signal;
    private readonly Session.Windows.WindowsHelperLauncher _launcher;

    public AgentServiceLifetime(
        ShutdownSignal signal,
        Session.Windows.WindowsHelperLauncher launcher,
        IHostEnvironment environment,
        IHostApplicationLifetime applicationLifetime,
        ILoggerFactory loggerFactory,
        IOptions<HostOptions> hostOptions,
        IOptions<WindowsServiceLifetimeOptions> serviceOptions)
        : base(environment, applicationLifetime, loggerFactory, hostOptions, serviceOptions)
    {
        _signal = signal;
        _launcher = launcher;
        CanHandleSessionChangeEvent = true;
    }

    protected override void OnSessionChange(System.ServiceProcess.SessionChangeDescription changeDescription)
    {
        _launcher.Nudge();
        base.OnSessionChange(changeDescription);
    }

    protected override void OnShutdown()
    {
        _signal.SystemIsShuttingDown();
        base.OnShutdown();
    }
}
