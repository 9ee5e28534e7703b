// User-session helper benchmark: while a teacher watches (1 thumbnail a second, at most 400 pixels
// wide), how large are the thumbnails, how regularly do they come, and how much memory does the helper
// hold? Starts Xvfb on a free display, the service's end of the channel (SessionHost) in this process,
// and the helper as its own process (`homeroom-agent session`, as it runs in a student's session), so
// its resident memory is its own. A "busy desktop" window covers the screen and is redrawn with 600
// random rectangles every second, so every thumbnail is a new, detailed image.
using System.Diagnostics;
using System.Globalization;
using Homeroom.Agent;
using Homeroom.Agent.Session;
using Homeroom.Agent.Session.X11;
using Homeroom.Bench.Load;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Logging.Abstractions;

var options = BenchReport.ParseArguments(args);
var seconds = options.Int("seconds", 60);
var maxWidth = options.Int("max-width", 400);
var interval = options.Int("interval-ms", 1000);

using var xvfb = BenchXvfb.Start("1280x800x24", out var display);
var socketName = $"homeroom-bench/{Guid.NewGuid():N}";
var uid = (uint)int.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
using var host = new SessionHost(new AgentOptions { SessionSocketName = socketName, SessionHelperUids = new HashSet<uint> { uid } }, TimeProvider.System, NullLogger<SessionHost>.Instance);
await host.StartAsync(CancellationToken.None);
await host.Listening.WaitAsync(TimeSpan.FromSeconds(10));

var arrivals = new List<(double At, int Bytes)>();
var clock = Stopwatch.StartNew();
host.ThumbnailReceived += (jpeg, _) =>
{
    lock (arrivals)
    {
        arrivals.Add((clock.Elapsed.TotalSeconds, jpeg.Length));
    }

    return Task.CompletedTask;
};

var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
foreach (var argument in (string[])[Path.Combine(AppContext.BaseDirectory, "homeroom-agent.dll"), "session", "--display", display, "--session-socket", socketName, "--service-uid", uid.ToString(CultureInfo.InvariantCulture)])
{
    start.ArgumentList.Add(argument);
}

using var helper = Process.Start(start)!;
helper.BeginOutputReadLine();
helper.BeginErrorReadLine();
var deadline = DateTime.UtcNow.AddSeconds(30);
while (!host.Connected)
{
    if (DateTime.UtcNow > deadline || helper.HasExited)
    {
        throw new InvalidOperationException("the helper did not connect");
    }

    await Task.Delay(50);
}

using var desktop = X11Session.Open(display);
var busy = await desktop.OpenAppWindowAsync("Bench", "Busy desktop", 0, 0, desktop.Width, desktop.Height, 0xFFFFFF);
var random = new Random(17);
async Task RepaintAsync()
{
    for (var i = 0; i < 600; i++)
    {
        await desktop.FillAsync(busy, random.Next(desktop.Width), random.Next(desktop.Height), random.Next(8, 160), random.Next(6, 60), (uint)random.Next(0x1000000));
    }
}

await RepaintAsync();
await Task.Delay(3000); // settled, connected, not watched
var idleRss = Rss(helper.Id);

Console.WriteLine($"Watching for {seconds} s: {display} {desktop.Width}x{desktop.Height}, thumbnails every {interval} ms, at most {maxWidth} px wide");
await host.SetScreenViewAsync(new ScreenViewFrame(true, "Ms. Rivera", interval, maxWidth));
var viewStarted = clock.Elapsed.TotalSeconds;
var peakRss = idleRss;
for (var second = 0; second < seconds; second++)
{
    await RepaintAsync();
    await Task.Delay(1000);
    peakRss = Math.Max(peakRss, Rss(helper.Id));
}

await host.SetScreenViewAsync(new ScreenViewFrame(false, null, 0, 0));
var viewEnded = clock.Elapsed.TotalSeconds;
await Task.Delay(2000);
var afterRss = Rss(helper.Id);
List<(double At, int Bytes)> received;
lock (arrivals)
{
    received = [.. arrivals];
}

var late = received.Count(a => a.At > viewEnded + 0.5);
var sizes = received.Select(a => (double)a.Bytes).Order().ToList();
var gaps = received.Zip(received.Skip(1), (a, b) => (b.At - a.At) * 1000).Order().ToList();
var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["when"] = BenchReport.Now(),
    ["screen"] = $"{desktop.Width}x{desktop.Height}x24 (Xvfb), busy desktop redrawn every second",
    ["seconds watched"] = seconds,
    ["thumbnails received"] = received.Count,
    ["rate (per second)"] = Math.Round(received.Count / (viewEnded - viewStarted), 2),
    ["gap p50 / p95 / max (ms)"] = $"{BenchReport.Percentile(gaps, 50):F0} / {BenchReport.Percentile(gaps, 95):F0} / {(gaps.Count == 0 ? 0 : gaps[^1]):F0}",
    ["size p50 / p95 / max (bytes)"] = $"{BenchReport.Percentile(sizes, 50):F0} / {BenchReport.Percentile(sizes, 95):F0} / {(sizes.Count == 0 ? 0 : sizes[^1]):F0}",
    ["over 15 KB"] = sizes.Count(s => s > SessionMessages.TargetThumbnailBytes),
    ["after the view ended"] = late,
    ["helper RSS idle / peak / after (MB)"] = $"{idleRss:F1} / {peakRss:F1} / {afterRss:F1}",
};
await BenchReport.WriteAsync(results, Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results"), "agent-session-helper");

helper.Kill();
await helper.WaitForExitAsync();
await host.StopAsync(CancellationToken.None);
desktop.Dispose();
xvfb.Kill();
await xvfb.WaitForExitAsync();

static double Rss(int processId)
{
    var line = File.ReadAllLines($"/proc/{processId}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return Math.Round(double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024, 1);
}

