using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Capabilities.Apps;
using Homeroom.Agent.Capabilities.Browsers;
using Homeroom.Agent.Capabilities.Windows;
using Homeroom.Agent.Capabilities.Linux;
using Homeroom.Agent.Capabilities.Portable;
using Homeroom.Agent.Capabilities.MacOS;
using Homeroom.Agent.Capabilities.Updates;
using Homeroom.Agent.Capabilities.Users;
using Homeroom.Agent.Connection;
using Homeroom.Agent.State;
using System.Runtime.Versioning;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent;

/// <summary>Builds the agent's host: a worker service that runs under systemd or the Windows service manager when started by them.</summary>
public static class AgentHost
{
    /// <summary>The agent's host. <paramref name="overrides"/> runs last, so tests can replace a service (such as <see cref="IOsCommandRunner"/>).</summary>
    public static IHost Build(AgentOptions options, Action<IServiceCollection>? overrides = null, Action<ILoggingBuilder>? logging = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Services.AddSystemd();
        builder.Services.AddWindowsService(service => service.ServiceName = "Homeroom Agent");
        if (OperatingSystem.IsWindows() && Microsoft.Extensions.Hosting.WindowsServices.WindowsServiceHelpers.IsWindowsService())
        {
            // The same lifetime, also noting a system shutdown so the agent's goodbye tells it from a stopped service.
            builder.Services.AddSingleton<IHostLifetime, AgentServiceLifetime>();
        }

        builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
        logging?.Invoke(builder.Logging);
        builder.Services.AddAgent(options);
        overrides?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>Registers the agent's parts and this platform's capabilities.</summary>
    public static IServiceCollection AddAgent(this IServiceCollection services, AgentOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(new AgentPaths(options.StateDirectory));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<AgentStatus>();
        services.AddSingleton<ShutdownSignal>();
        // Every log line also goes (redacted) into a small ring that diagnostics reports read.
        services.AddSingleton<Diagnostics.RecentLogLines>();
        services.AddSingleton<ILoggerProvider>(s => s.GetRequiredService<Diagnostics.RecentLogLines>());
        services.AddSingleton<Diagnostics.DiagnosticsGatherer>();
        services.AddSingleton<InstallationId>();
        services.AddSingleton(new HttpClient { Timeout = TimeSpan.FromSeconds(30), MaxResponseContentBufferSize = 16 * 1024 * 1024 });
        services.AddSingleton(CreateVault);
        services.AddSingleton(s => new CommandJournal(s.GetRequiredService<AgentPaths>(), s.GetRequiredService<TimeProvider>()));
        services.AddSingleton(s => new ActivityQueue(s.GetRequiredService<AgentPaths>(), options.ActivityQueueCapacity));
        services.AddSingleton<ActivitySink>();
        services.AddSingleton<AgentEnrollment>();
        services.AddSingleton<Capabilities.Browsers.CompanionCredentials>();
        services.AddSingleton<IOsCommandRunner, ProcessRunner>();
        services.AddSingleton<Session.SessionHost>();
        services.AddHostedService(s => s.GetRequiredService<Session.SessionHost>());
        if (OperatingSystem.IsWindows())
        {
            // The service starts a helper in each user's session (session 0 cannot draw on their desktop).
            services.AddSingleton(s => OperatingSystem.IsWindows()
                ? new Session.Windows.WindowsHelperLauncher(options, s.GetRequiredService<Session.SessionHost>(), s.GetRequiredService<TimeProvider>(), s.GetRequiredService<ILogger<Session.Windows.WindowsHelperLauncher>>())
                : throw new PlatformNotSupportedException());
            services.AddHostedService(s => OperatingSystem.IsWindows() ? s.GetRequiredService<Session.Windows.WindowsHelperLauncher>() : throw new PlatformNotSupportedException());
        }

        services.AddSingleton<Session.ForegroundUsage>();
        services.AddSingleton<Session.WindowSignals>();
        services.AddSingleton<Session.SafetyScreenshots>();
        services.AddSingleton<Session.HelpDesk>();
        services.AddHostedService(s => s.GetRequiredService<Session.ForegroundUsage>());
        services.AddCapabilities();
        services.AddSingleton<Scripts.ScriptRunner>();
        services.AddSingleton<ICapability>(s => s.GetRequiredService<Scripts.ScriptRunner>());
        services.AddSingleton<Updates.SelfUpdater>();
        services.AddSingleton<AgentWorker>();
        services.AddHostedService(s => s.GetRequiredService<AgentWorker>());
        return services;
    }

    private static ICredentialVault CreateVault(IServiceProvider services)
    {
        var paths = services.GetRequiredService<AgentPaths>();
        return OperatingSystem.IsWindows() ? new DpapiCredentialVault(paths) : new UnixCredentialVault(paths);
    }

    [SupportedOSPlatform("linux")]
    private static void AddLinuxCapabilities(this IServiceCollection services)
    {
        services.AddSingleton<LinuxInventory>();
        services.AddSingleton<IInventoryCapability>(s => s.GetRequiredService<LinuxInventory>());
        services.AddSingleton<IApplicationsCapability>(s => s.GetRequiredService<LinuxInventory>());
        services.AddSingleton<IDeviceStatusCapability, LinuxDeviceStatus>();
        services.AddSingleton<IPowerCapability>(s => new LinuxPower(s.GetRequiredService<IOsCommandRunner>(), LinuxPower.FindSystemctl()));
        services.AddSingleton<IPackagesCapability>(s => new LinuxPackages(s.GetRequiredService<AgentOptions>(), s.GetRequiredService<IOsCommandRunner>()));
        services.AddSingleton<IOsUpdatesCapability>(s => new AptOsUpdates(s.GetRequiredService<AgentOptions>(), s.GetRequiredService<IOsCommandRunner>(), s.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IProcessList, ProcFsProcessList>();
        services.AddSingleton<IBrowserPolicyCapability>(s => new LinuxBrowserPolicy(s.GetRequiredService<AgentOptions>(), s.GetRequiredService<AgentPaths>()));
        services.AddSingleton<ISignedInUserCapability>(s => new LinuxSignedInUser(
            s.GetRequiredService<Session.SessionHost>(), s.GetRequiredService<IOsCommandRunner>(), s.GetRequiredService<TimeProvider>(), LinuxSignedInUser.FindLoginctl()));
    }

    /// <summary>One implementation per concern for this OS; every one is also an <see cref="ICapability"/> reported in inventory.</summary>
    private static void AddCapabilities(this IServiceCollection services)
    {
        if (OperatingSystem.IsLinux())
        {
            services.AddLinuxCapabilities();
        }
        else
        {
            services.AddSingleton<PortableCapabilities>();
            services.AddSingleton<IInventoryCapability>(s => s.GetRequiredService<PortableCapabilities>());
            if (OperatingSystem.IsWindows())
            {
                services.AddSingleton<IApplicationsCapability, WindowsInstalledPrograms>();
            }
            else if (OperatingSystem.IsMacOS())
            {
                services.AddSingleton<IApplicationsCapability>(s => new MacReceipts(s.GetRequiredService<IOsCommandRunner>()));
            }
            else
            {
                services.AddSingleton<IApplicationsCapability>(s => s.GetRequiredService<PortableCapabilities>());
            }

            services.AddSingleton<IDeviceStatusCapability>(s => s.GetRequiredService<PortableCapabilities>());
            services.AddSingleton<IPowerCapability>(s => s.GetRequiredService<PortableCapabilities>());
            if (OperatingSystem.IsWindows())
            {
                services.AddSingleton<IPackagesCapability>(s => new WingetPackages(s.GetRequiredService<IOsCommandRunner>(), WingetPackages.FindWinget()));
                services.AddSingleton<IOsUpdatesCapability>(s => OperatingSystem.IsWindows()
                    ? new WindowsUpdateAgent(s.GetRequiredService<TimeProvider>())
                    : throw new PlatformNotSupportedException());
                services.AddSingleton<IProcessList>(new PortableProcessList());
                services.AddSingleton<IBrowserPolicyCapability>(new WindowsBrowserPolicy());
                services.AddSingleton<ISignedInUserCapability>(_ => OperatingSystem.IsWindows() ? new WindowsConsoleUser() : throw new PlatformNotSupportedException());
            }
            else
            {
                if (OperatingSystem.IsMacOS())
                {
                    // Downloads need longer than the shared client's 30 s; MacPackages bounds them itself (size and time).
                    services.AddSingleton<IPackagesCapability>(s => new MacPackages(s.GetRequiredService<IOsCommandRunner>(),
                        new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, new MacPackageSettings(Path.Combine(s.GetRequiredService<AgentOptions>().StateDirectory, "mac-packages"))));
                    services.AddSingleton<IProcessList>(s => new MacProcessList(s.GetRequiredService<IOsCommandRunner>()));
                }
                else
                {
                    services.AddSingleton<IPackagesCapability>(new UnavailablePackages("no package tool is driven on this operating system"));
                    services.AddSingleton<IProcessList>(new PortableProcessList("no process list is read for blocking on this operating system"));
                }

                services.AddSingleton<IBrowserPolicyCapability>(s => OperatingSystem.IsMacOS()
                    ? new MacBrowserPolicy(s.GetRequiredService<AgentOptions>(), s.GetRequiredService<AgentPaths>())
                    : new UnavailableBrowserPolicy("no browser policy is written on this operating system"));
                if (OperatingSystem.IsMacOS())
                {
                    services.AddSingleton<IOsUpdatesCapability>(s => OperatingSystem.IsMacOS()
                        ? new SoftwareUpdate(s.GetRequiredService<IOsCommandRunner>(), s.GetRequiredService<TimeProvider>())
                        : throw new PlatformNotSupportedException());
                }
                else
                {
                    services.AddSingleton<IOsUpdatesCapability>(s => new UnavailableOsUpdates("no OS update mechanism is driven on this operating system", s.GetRequiredService<TimeProvider>()));
                }

                services.AddSingleton<ISignedInUserCapability>(_ => OperatingSystem.IsMacOS() ? new MacConsoleUser() : new NoSignedInUser());
            }
        }

        services.AddSingleton<ApplicationBlocker>();
        services.AddHostedService(s => s.GetRequiredService<ApplicationBlocker>());

        services.AddSingleton<SessionHelperCapabilities>();
        services.AddSingleton<IEnumerable<ICapability>>(s =>
        [
            s.GetRequiredService<IInventoryCapability>(),
            s.GetRequiredService<IApplicationsCapability>(),
            s.GetRequiredService<IDeviceStatusCapability>(),
            s.GetRequiredService<IPowerCapability>(),
            s.GetRequiredService<IPackagesCapability>(),
            s.GetRequiredService<IOsUpdatesCapability>(),
            s.GetRequiredService<ApplicationBlocker>(),
            s.GetRequiredService<IBrowserPolicyCapability>(),
            s.GetRequiredService<SessionHelperCapabilities>(),
            s.GetRequiredService<Diagnostics.DiagnosticsGatherer>(),
            s.GetRequiredService<Updates.SelfUpdater>(),
        ]);
    }
}
