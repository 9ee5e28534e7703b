using System.Diagnostics;
using System.Text;

namespace Homeroom.Agent.Tests.Support;

/// <summary>
/// The packaged program (<see cref="AgentPrograms.PackagedProgramAsync"/>, Native AOT for linux-x64) run as the
/// user-session helper in its own process, as in a student's session, so the tests see the shipped build capture,
/// scale and encode the screen (ImageSharp compiled ahead of time), not the test process's JIT-compiled copy.
/// </summary>
public sealed class PackagedSessionHelper : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private PackagedSessionHelper(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>What it printed so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary><c>homeroom-agent session --display D --session-socket S --service-uid 0</c> (the tests' service runs as root).</summary>
    public static async Task<PackagedSessionHelper> StartAsync(string display, string socket)
    {
        var start = new ProcessStartInfo(await AgentPrograms.PackagedProgramAsync()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["session", "--display", display, "--session-socket", socket, "--service-uid", "0"])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("DOTNET_ROOT");
        return new PackagedSessionHelper(Process.Start(start)!);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
