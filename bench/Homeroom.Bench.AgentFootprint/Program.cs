// Desktop agent footprint (issue 17): resident memory and CPU of the agent service while idle, connected to a
// real server with the default 30 s heartbeat. A real server runs in this process (Kestrel on loopback, a fresh
// SQLite database); the agent runs as its own process (`homeroom-agent enroll`, then `homeroom-agent run`, as the
// service runs), so its memory and CPU are its own, read from /proc. After it connects and a settling time, the
// idle window is sampled once a second: VmRSS, and utime + stime for CPU.
//   bench/agent-footprint/run.sh [--settle-seconds 30] [--seconds 120] [--agent PATH_TO_SINGLE_FILE]
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Server;

var options = BenchReport.ParseArguments(args);
var settle = options.Int("settle-seconds", 30);
var seconds = options.Int("seconds", 120);
var agentBinary = options.GetValueOrDefault("agent");
const string ApiKey = "hrk_footprint-benchmark-key-0000000000000";
const int Port = 5095;

var work = Path.Combine(Path.GetTempPath(), "homeroom-bench-footprint-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(work);
var app = await HomeroomApp.CreateAsync(
[
    $"--urls=http://127.0.0.1:{Port}",
    $"--HOMEROOM_BOOTSTRAP_API_KEY={ApiKey}",
    "--HOMEROOM_ADMIN_PASSWORD=benchmark admin passphrase",
    $"--Homeroom:DataDirectory={Path.Combine(work, "server")}",
    "--Logging:LogLevel:Default=Warning",
]);
await app.StartAsync();
using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}") };
api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
var token = (await (await api.PostAsJsonAsync("/api/enrollment-tokens", new { name = "footprint", maxUses = 1 })).Content.ReadFromJsonAsync<JsonElement>())
    .GetProperty("token").GetString()!;

var state = Path.Combine(work, "agent");
var enroll = Agent(["enroll", "--server", $"http://127.0.0.1:{Port}", "--token", token, "--state", state]);
await enroll.WaitForExitAsync();
if (enroll.ExitCode != 0)
{
    throw new InvalidOperationException($"enroll exited {enroll.ExitCode}: {await enroll.StandardError.ReadToEndAsync()}");
}

using var agent = Agent(["run", "--state", state, "--session-socket", $"homeroom-bench/{Guid.NewGuid():N}"]);
agent.BeginOutputReadLine();
agent.BeginErrorReadLine();
var deadline = DateTime.UtcNow.AddSeconds(60);
while ((await api.GetFromJsonAsync<JsonElement>("/api/devices?online=true")).GetProperty("total").GetInt32() == 0)
{
    if (DateTime.UtcNow > deadline || agent.HasExited)
    {
        throw new InvalidOperationException("the agent did not connect");
    }

    await Task.Delay(200);
}

var connectedRss = Rss(agent.Id);
await Task.Delay(TimeSpan.FromSeconds(settle));
var samples = new List<double>();
var cpuStart = CpuTicks(agent.Id);
var clock = Stopwatch.StartNew();
while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
{
    samples.Add(Rss(agent.Id));
    await Task.Delay(1000);
}

var cpuTicks = CpuTicks(agent.Id) - cpuStart;
var window = clock.Elapsed.TotalSeconds;
var cpuPercent = cpuTicks / 100.0 / window * 100; // Linux counts CPU time in 1/100 s.
var online = (await api.GetFromJsonAsync<JsonElement>("/api/devices?online=true")).GetProperty("total").GetInt32();
samples.Sort();
var results = new Dictionary<string, object>
{
    ["machine"] = BenchReport.Machine(),
    ["when"] = BenchReport.Now(),
    ["agent"] = agentBinary ?? "homeroom-agent.dll through dotnet (framework-dependent)",
    ["heartbeat (s)"] = 30,
    ["settle / idle window (s)"] = $"{settle} / {window:F0}",
    ["RSS after connecting (MB)"] = connectedRss,
    ["RSS idle p50 / max (MB)"] = $"{samples[samples.Count / 2]:F1} / {samples[^1]:F1}",
    ["RSS at most 40 MB"] = samples[^1] <= 40 ? "yes" : "no",
    ["CPU idle (% of one core)"] = Math.Round(cpuPercent, 3),
    ["CPU under 1 %"] = cpuPercent < 1 ? "yes" : "no",
    ["still connected at the end"] = online == 1 ? "yes" : "no",
};
await BenchReport.WriteAsync(results, Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "results"), "agent-footprint");

agent.Kill();
await agent.WaitForExitAsync();
await app.StopAsync();
try
{
    Directory.Delete(work, recursive: true);
}
catch (IOException)
{
}

Process Agent(string[] arguments)
{
    var start = agentBinary is null
        // The agent's own build output, with its own dependency list (this benchmark's output resolves them from ASP.NET Core's framework).
        ? new ProcessStartInfo("dotnet") { ArgumentList = { Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "Homeroom.Agent", "bin", "Release", "net10.0", "homeroom-agent.dll")) } }
        : new ProcessStartInfo(agentBinary);
    start.UseShellExecute = false;
    start.RedirectStandardOutput = true;
    start.RedirectStandardError = true;
    foreach (var argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    return Process.Start(start)!;
}

static double Rss(int processId)
{
    var line = File.ReadAllLines($"/proc/{processId}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return Math.Round(double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024, 1);
}

static long CpuTicks(int processId)
{
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is the 12th, stime the 13th.
    var stat = File.ReadAllText($"/proc/{processId}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
}
