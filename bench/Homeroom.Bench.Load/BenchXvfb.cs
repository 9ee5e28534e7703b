using System.Diagnostics;

namespace Homeroom.Bench.Load;

/// <summary>A virtual X display of a benchmark run's own (Xvfb on a free display number), for the desktop agent's screen work.</summary>
public static class BenchXvfb
{
    /// <summary>Starts Xvfb with one screen of <paramref name="screen"/> (for example <c>1366x768x24</c>) and waits for its socket.</summary>
    public static Process Start(string screen, out string display)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var number = Random.Shared.Next(100, 1000);
            if (File.Exists($"/tmp/.X{number}-lock") || File.Exists($"/tmp/.X11-unix/X{number}"))
            {
                continue;
            }

            var process = Process.Start(new ProcessStartInfo("/usr/bin/Xvfb", [$":{number}", "-screen", "0", screen, "-nolisten", "tcp", "-br", "-noreset"]) { UseShellExecute = false, RedirectStandardError = true })!;
            process.BeginErrorReadLine();
            for (var wait = 0; wait < 300 && !process.HasExited; wait++)
            {
                if (File.Exists($"/tmp/.X11-unix/X{number}"))
                {
                    Thread.Sleep(200);
                    display = $":{number}";
                    return process;
                }

                Thread.Sleep(50);
            }

            if (!process.HasExited)
            {
                process.Kill();
            }
        }

        throw new InvalidOperationException("Xvfb did not start");
    }
}
