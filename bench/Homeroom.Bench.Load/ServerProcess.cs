using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;

namespace Homeroom.Bench.Load;

/// <summary>The Homeroom server under test, as a separate process, with its memory and CPU read from /proc.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dataDirectory;
    private readonly string _apiKey;

    private ServerProcess(Process process, Uri address, string apiKey, string dataDirectory)
    {
        _process = process;
        Address = address;
        _apiKey = apiKey;
        _dataDirectory = dataDirectory;
    }

    private const string MetricsToken = "bench-metrics-token-0123456789abcdef";

    public Uri Address { get; }

    public int Id => _process.Id;

    /// <summary>
    /// Starts the server a benchmark's <c>--server-dll</c> option names (its run.sh passes the built one) on
    /// <paramref name="port"/>, with a new data directory that is deleted when the server is disposed and a
    /// bootstrap API key that <see cref="ApiClient"/> uses.
    /// </summary>
    public static Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string> options, int port, string? postgres = null)
    {
        var serverDll = options.GetValueOrDefault("server-dll") ?? throw new ArgumentException("--server-dll is required (the benchmark's run.sh passes it)");
        var dataDirectory = Directory.CreateTempSubdirectory("homeroom-bench-").FullName;
        // --server-env NAME=VALUE[,NAME=VALUE]: runtime settings for the server alone (a GC setting tried), not the simulator.
        var environment = options.GetValueOrDefault("server-env") is { Length: > 0 } pairs
            ? pairs.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal)
            : [];
        if (options.ContainsKey("second-wave"))
        {
            // The second wave's storm gets its own post-storm collection, however soon after the first's it ends.
            environment.TryAdd("Homeroom__Agents__CompactAtMostEverySeconds", "1");
        }

        return StartAsync(serverDll, dataDirectory, "hrk_bench-" + Guid.NewGuid().ToString("N"), postgres, port, environment);
    }

    private static async Task<ServerProcess> StartAsync(string serverDll, string dataDirectory, string apiKey, string? postgres, int port, Dictionary<string, string> environment)
    {
        serverDll = Path.GetFullPath(serverDll);
        var start = new ProcessStartInfo("dotnet", [serverDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(serverDll)!,
        };
        start.Environment["Urls"] = $"http://127.0.0.1:{port}";
        start.Environment["Homeroom__DataDirectory"] = dataDirectory;
        start.Environment["HOMEROOM_BOOTSTRAP_API_KEY"] = apiKey;
        start.Environment["HOMEROOM_ADMIN_PASSWORD"] = "bench-" + Guid.NewGuid().ToString("N");
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        // The runtime's own figures (GC heap, committed memory) come from the server's Prometheus endpoint.
        start.Environment["Homeroom__Metrics__ScrapeToken"] = MetricsToken;
        start.Environment["Homeroom__Agents__EnrollmentsPerMinutePerAddress"] = "100000";
        // The activity phase measures storage throughput with a few devices sending far more than a
        // real one would; the per-device activity budget would drop most of it.
        start.Environment["Homeroom__Activity__EventsPerMinute"] = "1000000";
        start.Environment["Homeroom__Activity__EventBurst"] = "10000000";
        start.Environment["Homeroom__Activity__EventsPerDay"] = "100000000";
        if (postgres is not null)
        {
            start.Environment["ConnectionStrings__Postgres"] = postgres;
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine("[server] " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}"), apiKey, dataDirectory);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await http.GetAsync(new Uri(server.Address, "/healthz"))).IsSuccessStatusCode)
                {
                    // For a profiler attached from outside (dotnet-trace, dotnet-counters).
                    Console.WriteLine($"server process {process.Id}" + string.Concat(environment.Select(e => $", {e.Key}={e.Value}")));
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline || process.HasExited)
            {
                throw new InvalidOperationException("The server did not start.");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>A client for the server's API, signed in with the bootstrap API key.</summary>
    public HttpClient ApiClient(TimeSpan timeout)
    {
        var api = new HttpClient { BaseAddress = Address, Timeout = timeout };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        return api;
    }

    /// <summary>
    /// The runtime's memory figures from the server's <c>/metrics</c>, each summed over its series (generations): the
    /// managed heap after the last collection, its fragmentation, the memory the GC holds committed, all the process has
    /// allocated so far, and the full collections so far.
    /// </summary>
    public async Task<Dictionary<string, double>> RuntimeMemoryAsync()
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsToken);
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var wanted = new Dictionary<string, string>
        {
            ["gc_heap_mb"] = "dotnet_gc_last_collection_heap_size_bytes",
            ["gc_fragmentation_mb"] = "dotnet_gc_last_collection_heap_fragmentation_size_bytes",
            ["gc_committed_mb"] = "dotnet_gc_last_collection_memory_committed_size_bytes",
            // Everything the process allocated since start (garbage included): the difference between two readings is
            // what a phase allocated.
            ["gc_allocated_mb"] = "dotnet_gc_heap_total_allocated_bytes_total",
        };
        var figures = new Dictionary<string, double>();
        foreach (var (key, metric) in wanted)
        {
            var sum = text.Split('\n')
                .Where(l => l.StartsWith(metric, StringComparison.Ordinal) && (l.Length == metric.Length || l[metric.Length] is '{' or ' '))
                .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
            figures[key] = Math.Round(sum / 1048576.0, 1);
        }

        // Full (gen2) collections so far: garbage that reached gen2 is freed only by one of these.
        figures["gc_gen2_collections"] = text.Split('\n')
            .Where(l => l.StartsWith("dotnet_gc_collections_total{", StringComparison.Ordinal) && l.Contains("gc_heap_generation=\"gen2\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        return figures;
    }

    /// <summary>A counter from the server's <c>/metrics</c>, by the value of one label (series without it are left out).</summary>
    public async Task<Dictionary<string, double>> CounterAsync(string metric, string label)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsToken);
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var counts = new Dictionary<string, double>();
        foreach (var line in text.Split('\n').Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal)))
        {
            var start = line.IndexOf(label + "=\"", StringComparison.Ordinal);
            if (start < 0)
            {
                continue;
            }

            start += label.Length + 2;
            var value = line[start..line.IndexOf('"', start)];
            counts[value] = counts.GetValueOrDefault(value) + double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }

        return counts;
    }

    /// <summary>Resident memory in bytes.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    /// <summary>CPU time used so far (user + system).</summary>
    public TimeSpan CpuTime()
    {
        var stat = File.ReadAllText($"/proc/{Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_dataDirectory, recursive: true);
    }
}
