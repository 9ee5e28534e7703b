// Remote session benchmark (issue 21). Every part is real and on loopback: the server (a process), the desktop agent
// (`homeroom-agent run`, a process) and its user-session helper (`homeroom-agent session`, a process) on a 1366x768 Xvfb
// display, and the technician's session socket in this process (the bootstrap API key, a district administrator, with
// consent switched to a notice so no one has to click). The desktop shows classroom content: a text page that is typed
// into (a character every 100 ms, a blinking cursor) and a region that scrolls (stripes moved every 100 ms, on a fixed
// schedule).
// Measured at the viewer: screen updates per second and bandwidth; input-to-screen latency: the viewer moves the pointer
// over a probe window, this process (standing in for an application that reacts to the pointer) repaints the probe in a
// new colour once the pointer is there, and the time runs until a tile showing the new colour arrives at the viewer; the
// server process's CPU during the session, less its CPU afterwards with nobody watching. Also reported: how often the
// desktop changed, how many updates carried copies (scrolled regions), and what a capture of the root window and the
// tile diff with move detection cost on this display.
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Homeroom.Agent.Session;
using Homeroom.Agent.Session.X11;
using Homeroom.Bench.Load;
using Homeroom.Contracts.Agents;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

const double TargetFps = 10, TargetMbit = 1, TargetLatencyMs = 150, TargetCpuPercent = 5;
var options = BenchReport.ParseArguments(args);
var seconds = options.Int("seconds", 30);
var probes = options.Int("probes", 20);
Environment.SetEnvironmentVariable("Homeroom__RemoteSupport__ConsentRequiredForDistrictAdmins", "false");

using var xvfb = BenchXvfb.Start("1366x768x24", out var display);
var state = Directory.CreateTempSubdirectory("homeroom-bench-remote-").FullName;
var socketName = $"homeroom-bench/{Guid.NewGuid():N}";
var agentDll = Path.Combine(AppContext.BaseDirectory, "homeroom-agent.dll");
var processes = new List<Process>();
try
{
    await using var server = await ServerProcess.StartAsync(options, 5098);
    using var api = server.ApiClient(TimeSpan.FromMinutes(1));
    using var tokenCreated = await api.PostAsJsonAsync("/api/enrollment-tokens", new { name = "remote benchmark", maxUses = 1 });
    tokenCreated.EnsureSuccessStatusCode();
    var token = (await tokenCreated.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    var enroll = Start(agentDll, "enroll", "--server", server.Address.ToString(), "--token", token, "--state", state);
    await enroll.WaitForExitAsync();
    if (enroll.ExitCode != 0)
    {
        throw new InvalidOperationException("enrollment failed");
    }

    processes.Add(Start(agentDll, "run", "--state", state, "--helper-uid", "0", "--session-socket", socketName));
    processes.Add(Start(agentDll, "session", "--display", display, "--session-socket", socketName, "--service-uid", "0"));
    var deviceId = (await api.GetFromJsonAsync<JsonElement>("/api/devices")).GetProperty("items")[0].GetProperty("id").GetGuid();
    var deadline = DateTime.UtcNow.AddSeconds(60);
    while (!(await api.GetFromJsonAsync<JsonElement>($"/api/devices/{deviceId}/remote-session")).GetProperty("available").GetBoolean())
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new InvalidOperationException("the agent never offered a remote session");
        }

        await Task.Delay(200);
    }

    // The classroom desktop.
    using var desktop = X11Session.Open(display);
    var page = await desktop.OpenAppWindowAsync("Docs", "Essay - Docs", 0, 0, 1366, 768, 0xFFFFFF);
    const int ProbeX = 1180, ProbeY = 80, ProbeSize = 96;
    var probe = await desktop.OpenAppWindowAsync("Probe", "Probe", ProbeX, ProbeY, ProbeSize, ProbeSize, 0x2040C0);
    var typing = new CancellationTokenSource();
    var changes = new StrongBox<long>();
    var content = AnimateAsync(desktop, page, changes, typing.Token);

    // What one capture costs the agent's helper, measured here on the same display: the root window read (XGetImage and
    // the conversion to RGB) and the diff with moved-region detection, over a second of the animated desktop.
    var captureMs = new List<double>();
    var diffMs = new List<double>();
    var differ = new TileDiffer();
    for (var i = 0; i < 12; i++)
    {
        var captureStart = Stopwatch.GetTimestamp();
        var (rgb, width, height) = await desktop.CaptureRgbAsync();
        captureMs.Add(Stopwatch.GetElapsedTime(captureStart).TotalMilliseconds);
        var diffStart = Stopwatch.GetTimestamp();
        differ.Diff(rgb, width, height);
        diffMs.Add(Stopwatch.GetElapsedTime(diffStart).TotalMilliseconds);
        await Task.Delay(83);
    }

    captureMs.Sort();
    diffMs.Sort();

    using var started = await api.PostAsJsonAsync($"/api/devices/{deviceId}/remote-session", new { mode = RemoteModes.Control });
    started.EnsureSuccessStatusCode();
    var sessionId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    using var viewer = new ClientWebSocket();
    viewer.Options.SetRequestHeader("Authorization", new AuthenticationHeaderValue("Bearer", options.GetValueOrDefault("api-key") ?? ApiKey(api)).ToString());
    await viewer.ConnectAsync(new Uri($"ws://{server.Address.Authority}/api/devices/{deviceId}/remote-session/{sessionId}/stream"), CancellationToken.None);

    var frames = new List<(double At, int Bytes, int Copies)>();
    var clock = Stopwatch.StartNew();
    var probeColour = 0x2040C0u;
    var expected = (uint?)null;
    var probeSeen = new SemaphoreSlim(0);
    var receiving = Task.Run(async () =>
    {
        var buffer = new byte[512 * 1024];
        while (viewer.State == WebSocketState.Open)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await viewer.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                length += result.Count;
            }
            while (!result.EndOfMessage);
            if (result.MessageType != WebSocketMessageType.Binary)
            {
                continue;
            }

            RemoteScreenFrame.TryDecode(buffer.AsSpan(0, length), out _, out _, out _, out _, out _, out var copyCount);
            lock (frames)
            {
                frames.Add((clock.Elapsed.TotalSeconds, length, copyCount));
            }

            if (expected is { } colour && ShowsColour(buffer.AsMemory(0, length), ProbeX + (ProbeSize / 2), ProbeY + (ProbeSize / 2), colour))
            {
                expected = null;
                probeSeen.Release();
            }
        }
    });

    // Streaming: fps, bandwidth and server CPU over `seconds`, with the pointer moving now and then as a technician's would.
    await Task.Delay(2000); // the first full screen
    int firstCount;
    long firstBytes;
    lock (frames)
    {
        (firstCount, firstBytes) = (frames.Count, frames.Sum(f => (long)f.Bytes));
    }

    var cpuBefore = server.CpuTime();
    var changesBefore = Interlocked.Read(ref changes.Value);
    var measureStart = clock.Elapsed.TotalSeconds;
    for (var second = 0; second < seconds; second++)
    {
        await SendAsync(viewer, new { type = "input", events = new[] { new { kind = "move", x = 200 + ((second * 10) % 600), y = 400 } } });
        await Task.Delay(1000);
    }

    var measured = clock.Elapsed.TotalSeconds - measureStart;
    var changesPerSecond = (Interlocked.Read(ref changes.Value) - changesBefore) / measured;
    var sessionCpu = (server.CpuTime() - cpuBefore).TotalSeconds / measured * 100;
    List<(double At, int Bytes, int Copies)> window;
    lock (frames)
    {
        window = [.. frames.Skip(firstCount)];
    }

    // Latency probes: pointer to the probe, the probe reacts, the tile with its new colour reaches the viewer.
    var latencies = new List<double>();
    for (var i = 0; i < probes; i++)
    {
        await SendAsync(viewer, new { type = "input", events = new[] { new { kind = "move", x = 40, y = 700 } } });
        await Task.Delay(300);
        probeColour = probeColour == 0x2040C0u ? 0x20C040u : 0x2040C0u;
        expected = probeColour;
        var sent = Stopwatch.GetTimestamp();
        await SendAsync(viewer, new { type = "input", events = new[] { new { kind = "move", x = ProbeX + (ProbeSize / 2), y = ProbeY + (ProbeSize / 2) } } });
        var reacted = false;
        while (Stopwatch.GetElapsedTime(sent) < TimeSpan.FromSeconds(3) && !reacted)
        {
            var (x, y) = await desktop.PointerAsync();
            if (x >= ProbeX && x < ProbeX + ProbeSize && y >= ProbeY && y < ProbeY + ProbeSize)
            {
                await desktop.FillAsync(probe, 0, 0, ProbeSize, ProbeSize, probeColour);
                reacted = true;
            }
            else
            {
                await Task.Delay(1);
            }
        }

        if (reacted && await probeSeen.WaitAsync(TimeSpan.FromSeconds(3)))
        {
            latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
        }

        expected = null;
        await Task.Delay(200);
    }

    using (var stop = await api.DeleteAsync($"/api/devices/{deviceId}/remote-session"))
    {
        stop.EnsureSuccessStatusCode();
    }

    await receiving.WaitAsync(TimeSpan.FromSeconds(10));
    // The server's CPU with the same desktop changing and nobody watching (measured after the session, once start-up work is long done).
    await Task.Delay(2000);
    var idleCpu = await CpuPercentAsync(server, TimeSpan.FromSeconds(Math.Min(seconds, 15)));
    await typing.CancelAsync();
    await content;
    var record = (await api.GetFromJsonAsync<JsonElement>($"/api/devices/{deviceId}/remote-session")).GetProperty("recent")[0];
    latencies.Sort();
    var fps = window.Count / measured;
    var mbit = window.Sum(f => (double)f.Bytes) * 8 / measured / 1_000_000;
    var p50 = Percentile1(latencies, 50);
    var p95 = Percentile1(latencies, 95);
    var perSession = sessionCpu - idleCpu;
    var results = new Dictionary<string, object>
    {
        ["machine"] = BenchReport.Machine(),
        ["when"] = BenchReport.Now(),
        ["screen"] = "1366x768x24 (Xvfb): a text page typed into (a character every 100 ms, blinking cursor) and a scrolling region",
        ["seconds measured"] = Math.Round(measured, 1),
        ["first full screen (bytes)"] = firstBytes,
        ["desktop changes per second (the animation's steps)"] = Math.Round(changesPerSecond, 1),
        ["screen updates per second"] = Math.Round(fps, 1),
        ["updates with copies (scrolled regions) / copies"] = $"{window.Count(f => f.Copies > 0)} / {window.Sum(f => f.Copies)}",
        ["capture of the root window p50 / max (ms)"] = $"{Percentile1(captureMs, 50):F1} / {captureMs[^1]:F1}",
        ["tile diff with move detection p50 / max (ms)"] = $"{Percentile1(diffMs, 50):F1} / {diffMs[^1]:F1}",
        ["bandwidth (Mbit/s)"] = Math.Round(mbit, 3),
        ["update size p50 (bytes)"] = Percentile1([.. window.Select(f => (double)f.Bytes).Order()], 50),
        ["input-to-screen latency p50 / p95 / max (ms)"] = $"{p50:F0} / {p95:F0} / {(latencies.Count == 0 ? 0 : latencies[^1]):F0}",
        ["latency probes answered"] = $"{latencies.Count} of {probes}",
        ["server CPU idle / in session / per session (% of a core)"] = $"{idleCpu:F1} / {sessionCpu:F1} / {perSession:F1}",
        ["bytes relayed (server's record)"] = record.GetProperty("bytesSent").GetInt64(),
        ["targets met (fps, bandwidth, latency, CPU)"] = $"{fps >= TargetFps}, {mbit <= TargetMbit}, {latencies.Count > 0 && p95 <= TargetLatencyMs}, {perSession < TargetCpuPercent}",
    };
    await BenchReport.WriteAsync(results, options.GetValueOrDefault("results", "bench/results"), "remote-session");
}
finally
{
    foreach (var process in processes)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    xvfb.Kill();
    await xvfb.WaitForExitAsync();
    Directory.Delete(state, recursive: true);
}

static Process Start(string agentDll, params string[] arguments)
{
    var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
    start.ArgumentList.Add(agentDll);
    foreach (var argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    start.Environment["Logging__LogLevel__Default"] = "Warning";
    var process = Process.Start(start)!;
    process.OutputDataReceived += (_, _) => { };
    process.ErrorDataReceived += (_, e) =>
    {
        if (e.Data is not null)
        {
            Console.Error.WriteLine("[agent] " + e.Data);
        }
    };
    process.BeginOutputReadLine();
    process.BeginErrorReadLine();
    return process;
}

static string ApiKey(HttpClient api) => api.DefaultRequestHeaders.Authorization!.Parameter!;

static Task SendAsync(ClientWebSocket socket, object message) =>
    socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, CancellationToken.None);

// Whether an update carries the tile over (x, y), showing about `colour` there.
static bool ShowsColour(ReadOnlyMemory<byte> frame, int x, int y, uint colour)
{
    if (!RemoteScreenFrame.TryDecode(frame.Span, out _, out _, out _, out _, out _))
    {
        return false;
    }

    foreach (var tile in RemoteScreenFrame.ReadTiles(frame))
    {
        if (x >= tile.X && x < tile.X + tile.Width && y >= tile.Y && y < tile.Y + tile.Height)
        {
            using var image = Image.Load<Rgb24>(tile.Jpeg.Span);
            var pixel = image[x - tile.X, y - tile.Y];
            return Math.Abs(pixel.R - (int)((colour >> 16) & 0xFF)) < 40 && Math.Abs(pixel.G - (int)((colour >> 8) & 0xFF)) < 40 && Math.Abs(pixel.B - (int)(colour & 0xFF)) < 40;
        }
    }

    return false;
}

// A text page being typed into, line by line, with a blinking cursor, and a region of stripes scrolling up.
static async Task AnimateAsync(X11Session desktop, nuint page, StrongBox<long> steps, CancellationToken cancellationToken)
{
    const int Left = 60, Top = 80, CharWidth = 9, LineHeight = 22, Columns = 70, Lines = 24;
    const int ScrollX = 760, ScrollY = 300, ScrollWidth = 360, ScrollHeight = 300;
    var random = new Random(21);
    var (column, line, tick) = (0, 0, 0);
    // Steps on a fixed 100 ms schedule (drawing time does not stretch it), so the desktop changes 10 times a second.
    using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
    try
    {
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            var x = Left + (column * CharWidth);
            var y = Top + (line * LineHeight);
            if (random.Next(6) > 0)
            {
                await desktop.FillAsync(page, x, y, CharWidth - 2, 14, 0x202020); // a character
            }

            await desktop.FillAsync(page, x + CharWidth, y, 2, 16, tick % 10 < 5 ? 0x000000u : 0xFFFFFFu); // the cursor
            if (++column == Columns)
            {
                await desktop.FillAsync(page, x + CharWidth, y, 2, 16, 0xFFFFFF);
                (column, line) = (0, (line + 1) % Lines);
                if (line == 0)
                {
                    await desktop.FillAsync(page, Left, Top, (Columns * CharWidth) + 10, Lines * LineHeight, 0xFFFFFF);
                }
            }

            // The scrolling region: 12-pixel stripes moved up 4 pixels a step.
            var offset = (tick * 4) % 24;
            for (var stripe = -1; stripe < (ScrollHeight / 12) + 1; stripe++)
            {
                var top = (stripe * 12) - offset;
                var clipped = Math.Max(0, top);
                var height = Math.Min(ScrollHeight, top + 12) - clipped;
                if (height > 0)
                {
                    await desktop.FillAsync(page, ScrollX, ScrollY + clipped, ScrollWidth, height, (stripe + (tick * 4 / 24)) % 2 == 0 ? 0xDDE6F0u : 0x8899AAu);
                }
            }

            tick++;
            Interlocked.Increment(ref steps.Value);
        }
    }
    catch (OperationCanceledException)
    {
    }
}

static async Task<double> CpuPercentAsync(ServerProcess server, TimeSpan span)
{
    var before = server.CpuTime();
    var watch = Stopwatch.StartNew();
    await Task.Delay(span);
    return (server.CpuTime() - before).TotalSeconds / watch.Elapsed.TotalSeconds * 100;
}

static double Percentile1(List<double> sorted, int percentile) => Math.Round(BenchReport.Percentile(sorted, percentile), 1);
