using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Capabilities.Linux;
using Homeroom.Agent.Connection;
using Homeroom.Agent.State;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Tests.Support;

/// <summary>
/// Records what the agent asks the operating system to run, instead of running it (a restart must not restart the
/// test machine). Runs whose output the agent reads (package tools, the fake systemctl a test names) run for real.
/// </summary>
public sealed class RecordingRunner : IOsCommandRunner
{
    private readonly List<string> _calls = [];
    private readonly ProcessRunner _captured = new();

    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    public Task<int> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        lock (_calls)
        {
            _calls.Add(string.Join(' ', [fileName, .. arguments]));
        }

        return Task.FromResult(0);
    }

    public Task<ToolRun> RunCapturedAsync(OsCommand command, CancellationToken cancellationToken) => _captured.RunCapturedAsync(command, cancellationToken);
}

/// <summary>
/// The real agent (the same host the service runs) on a state directory of its own, with one seam:
/// the OS commands it runs are recorded. Starting another on the same directory is an agent restart.
/// </summary>
public sealed class AgentUnderTest : IAsyncDisposable
{
    private readonly IHost _host;

    private AgentUnderTest(IHost host, RecordingRunner runner)
    {
        _host = host;
        Runner = runner;
    }

    public RecordingRunner Runner { get; }

    public AgentStatus Status => _host.Services.GetRequiredService<AgentStatus>();

    public ActivitySink Activity => _host.Services.GetRequiredService<ActivitySink>();

    public ActivityQueue Queue => _host.Services.GetRequiredService<ActivityQueue>();

    public static Action<IServiceCollection> Overrides(RecordingRunner runner) => services =>
    {
        services.AddSingleton<IOsCommandRunner>(runner);
        if (OperatingSystem.IsLinux())
        {
            // As on a systemd machine (this container may have no systemctl); the call is recorded, not run.
            services.AddSingleton<IPowerCapability>(new LinuxPower(runner, "/usr/bin/systemctl"));
        }
    };

    public IServiceProvider Services => _host.Services;

    public Session.SessionHost Sessions => _host.Services.GetRequiredService<Session.SessionHost>();

    /// <summary>Starts the agent; its session socket has a name of its own unless <paramref name="configure"/> sets one.</summary>
    public static async Task<AgentUnderTest> StartAsync(string stateDirectory, int queueCapacity = 5_000, Action<AgentOptions>? configure = null)
    {
        var runner = new RecordingRunner();
        var options = new AgentOptions
        {
            StateDirectory = stateDirectory,
            ActivityQueueCapacity = queueCapacity,
            DeviceName = "test-laptop",
            SessionSocketName = $"homeroom-test/{Guid.NewGuid():N}",
            // OS update checks run apt-get against no sources, with lists and cache of their own: they never
            // refresh or read this machine's apt state (AgentOsUpdatesTests gives a repository of its own).
            AptOptions = LocalApt.Options(Path.Combine(stateDirectory, "apt"), sourceList: "/dev/null"),
            // Browser policy files go under a directory of the test's own, never this machine's /etc.
            BrowserPolicyRoot = BrowserPolicyRoot(stateDirectory),
        };
        configure?.Invoke(options);
        var host = AgentHost.Build(options, Overrides(runner), logging =>
        {
            if (Environment.GetEnvironmentVariable("HOMEROOM_TEST_LOGS") != "1")
            {
                logging.ClearProviders();
                logging.AddProvider(new StderrWarnings());
            }
        });
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new AgentUnderTest(host, runner);
    }

    /// <summary>Where an agent on <paramref name="stateDirectory"/> writes the browsers' policy files: beside its state directory.</summary>
    public static string BrowserPolicyRoot(string stateDirectory) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(stateDirectory))!, "browser-policy-root");

    public async Task WaitConnectedAsync(int connections = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(Status.Connected && Status.Connections >= connections))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The agent did not connect (connections {Status.Connections}, last close {Status.LastCloseCode}, stopped: {Status.Stopped}).");
            }

            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _host.Dispose();
    }
}

/// <summary>apt-get options that keep a test's apt runs off this machine's sources, lists and package cache (dpkg's database stays the machine's).</summary>
public static class LocalApt
{
    public static IReadOnlyList<string> Options(string directory, string sourceList)
    {
        Directory.CreateDirectory(Path.Combine(directory, "lists", "partial"));
        Directory.CreateDirectory(Path.Combine(directory, "cache", "archives", "partial"));
        return
        [
            "-o", $"Dir::Etc::SourceList={sourceList}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", $"Dir::State::Lists={Path.Combine(directory, "lists")}",
            "-o", $"Dir::Cache={Path.Combine(directory, "cache")}",
        ];
    }
}
