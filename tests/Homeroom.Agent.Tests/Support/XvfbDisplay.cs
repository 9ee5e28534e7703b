using System.Diagnostics;
using Homeroom.Agent.Session.X11;

namespace Homeroom.Agent.Tests.Support;

/// <summary>A real X server (Xvfb, depth 24, black root) on a free display number, stopped when disposed. scripts/ensure-xvfb.sh installs it.</summary>
public sealed class XvfbDisplay : IAsyncDisposable
{
    private readonly Process _process;

    private XvfbDisplay(Process process, string name, int width, int height)
    {
        _process = process;
        Name = name;
        Width = width;
        Height = height;
    }

    /// <summary>The display name, e.g. <c>:137</c>.</summary>
    public string Name { get; }

    public int Width { get; }

    public int Height { get; }

    /// <summary>
    /// Starts Xvfb on a display number it chooses itself (<c>-displayfd</c>: it takes the first free one, reclaiming
    /// the lock of an X server that died, and writes the number to its standard output). Choosing at random in the test
    /// and skipping every lock file found failed once 735 of 900 numbers held stale locks of killed servers.
    /// </summary>
    public static async Task<XvfbDisplay> StartAsync(int width = 1024, int height = 768)
    {
        File.Exists("/usr/bin/Xvfb").ShouldBeTrue("Xvfb is not installed: run scripts/ensure-xvfb.sh");
        var failures = new List<string>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var start = new ProcessStartInfo("/usr/bin/Xvfb") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in (string[])["-displayfd", "1", "-screen", "0", $"{width}x{height}x24", "-nolisten", "tcp", "-br", "-noreset"])
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start)!;
            var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null && errors.Count < 20)
                {
                    errors.Enqueue(e.Data);
                }
            };
            process.BeginErrorReadLine();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
                if (int.TryParse(line, out var number))
                {
                    var deadline = DateTime.UtcNow.AddSeconds(15);
                    while (DateTime.UtcNow < deadline && !process.HasExited)
                    {
                        if (CanOpen($":{number}"))
                        {
                            return new XvfbDisplay(process, $":{number}", width, height);
                        }

                        await Task.Delay(50);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // No display number within the time: tried again below.
            }

            await StopAsync(process);
            failures.Add($"attempt {attempt + 1}: {string.Join(" | ", errors)}");
            process.Dispose();
        }

        throw new InvalidOperationException($"Xvfb did not start: {string.Join("; ", failures)}");
    }

    /// <summary>SIGTERM first, so the server removes its lock file and socket; SIGKILL only if it does not end.</summary>
    private static async Task StopAsync(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        using (var term = Process.Start(new ProcessStartInfo("/bin/kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            await term!.WaitForExitAsync();
        }

        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>The X server's process and whether it still runs, for a failing test's log.</summary>
    public string Describe()
    {
        try
        {
            return _process.HasExited ? $"Xvfb (pid {_process.Id}) exited with {_process.ExitCode}" : $"Xvfb (pid {_process.Id}) still runs";
        }
        catch (InvalidOperationException e)
        {
            return $"Xvfb: {e.Message}";
        }
    }

    private static bool CanOpen(string name)
    {
        try
        {
            X11Session.Open(name).Dispose();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(_process);
        _process.Dispose();
    }
}
