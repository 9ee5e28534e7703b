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

    public static async Task<XvfbDisplay> StartAsync(int width = 1024, int height = 768)
    {
        File.Exists("/usr/bin/Xvfb").ShouldBeTrue("Xvfb is not installed: run scripts/ensure-xvfb.sh");
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var number = Random.Shared.Next(100, 1000);
            if (File.Exists($"/tmp/.X{number}-lock") || File.Exists($"/tmp/.X11-unix/X{number}"))
            {
                continue;
            }

            var start = new ProcessStartInfo("/usr/bin/Xvfb") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var argument in (string[])[$":{number}", "-screen", "0", $"{width}x{height}x24", "-nolisten", "tcp", "-br", "-noreset"])
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start)!;
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline && !process.HasExited)
            {
                if (File.Exists($"/tmp/.X11-unix/X{number}") && CanOpen($":{number}"))
                {
                    return new XvfbDisplay(process, $":{number}", width, height);
                }

                await Task.Delay(50);
            }

            if (!process.HasExited)
            {
                process.Kill();
            }

            process.Dispose();
        }

        throw new InvalidOperationException("Xvfb did not start on any display number tried");
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
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }
}
