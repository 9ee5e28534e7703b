using Homeroom.Agent.Session;
using Homeroom.Agent.Session.X11;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Agent.Tests.Support;

/// <summary>A user-session helper a test started, with what stops it.</summary>
public sealed record RunningHelper(SessionHelper Helper, X11Session Screen, CancellationTokenSource Stop, Task<SessionHelperOutcome> Run);

/// <summary>
/// A test of the agent on a desktop: the real server, an Xvfb display of the test's own and a session socket name of
/// its own, so tests never meet each other's helpers. Helpers started with <see cref="StartHelper"/> and the display are
/// stopped at the end.
/// </summary>
public abstract class DesktopSessionTest(int width, int height, params string[] settings) : AgentServerTest(settings)
{
    private readonly List<RunningHelper> _helpers = [];

    protected XvfbDisplay Display { get; private set; } = null!;

    protected string SessionSocket { get; } = $"homeroom-test/{Guid.NewGuid():N}";

    /// <summary>The helpers started so far, oldest first.</summary>
    protected IReadOnlyList<RunningHelper> Helpers => _helpers;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Display = await XvfbDisplay.StartAsync(width, height);
    }

    public override async Task DisposeAsync()
    {
        foreach (var (_, screen, stop, run) in _helpers)
        {
            await stop.CancelAsync();
            await run.WaitAsync(HomeroomHost.Timeout);
            screen.Dispose();
            stop.Dispose();
        }

        await Display.DisposeAsync();
        await base.DisposeAsync();
    }

    /// <summary>The agent, listening on this test's session socket. The tests run as root, so it takes helpers running as root (uid 0).</summary>
    protected Task<AgentUnderTest> StartDesktopAgentAsync() => AgentUnderTest.StartAsync(StateDirectory, configure: options =>
    {
        options.SessionSocketName = SessionSocket;
        options.SessionHelperUids = new HashSet<uint> { 0 };
    });

    /// <summary>A helper on this test's display, connecting to <paramref name="socket"/> (this test's by default), with its options adjusted.</summary>
    protected RunningHelper StartHelper(string? socket = null, Func<SessionHelperOptions, SessionHelperOptions>? adjust = null)
    {
        var screen = X11Session.Open(Display.Name);
        var options = new SessionHelperOptions(Display.Name, socket ?? SessionSocket, new HashSet<uint> { 0 });
        var helper = new SessionHelper(adjust?.Invoke(options) ?? options, screen, StderrWarnings.Helper);
        var stop = new CancellationTokenSource();
        var run = helper.RunAsync(stop.Token);
        var display = Display;
        // A helper that ends before the test stops it says so in the run's log, with its display's X server's state.
        var name = GetType().Name;
        _ = run.ContinueWith(
            t =>
            {
                if (!stop.IsCancellationRequested)
                {
                    Console.Error.WriteLine($"[agent test {DateTime.UtcNow:HH:mm:ss.fff}] {name}: the helper on {display.Name} ended early: {(t.IsFaulted ? t.Exception!.ToString() : t.Status == TaskStatus.Canceled ? "canceled" : t.Result.ToString())}; {display.Describe()}");
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default);
        var running = new RunningHelper(helper, screen, stop, run);
        _helpers.Add(running);
        return running;
    }
}
