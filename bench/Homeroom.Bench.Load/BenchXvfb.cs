using System.Diagnostics;
using System.Globalization;

namespace Homeroom.Bench.Load;

/// <summary>A virtual X display of a benchmark run's own (Xvfb on a free display number), for the desktop agent's screen work.</summary>
public static class BenchXvfb
{
    /// <summary>
    /// Starts Xvfb with one screen of <paramref name="screen"/> (for example <c>1366x768x24</c>) on a display number it
    /// chooses itself (<c>-displayfd</c>: the first free one, reclaiming stale locks) and waits for its socket.
    /// </summary>
    public static Process Start(string screen, out string display)
    {
        var process = Process.Start(new ProcessStartInfo("/usr/bin/Xvfb", ["-displayfd", "1", "-screen", "0", screen, "-nolisten", "tcp", "-br", "-noreset"])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        process.BeginErrorReadLine();
        var line = process.StandardOutput.ReadLineAsync();
        var number = -1;
        if (line.Wait(TimeSpan.FromSeconds(15)) && int.TryParse(line.Result, NumberStyles.None, CultureInfo.InvariantCulture, out number))
        {
            for (var wait = 0; wait < 300 && !process.HasExited; wait++)
            {
                if (File.Exists($"/tmp/.X11-unix/X{number}"))
                {
                    display = $":{number}";
                    return process;
                }

                Thread.Sleep(50);
            }
        }

        if (!process.HasExited)
        {
            process.Kill();
        }

        throw new InvalidOperationException("Xvfb did not start");
    }
}
