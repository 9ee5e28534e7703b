using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// One server node as a process of its own: the built server (<c>src/Homeroom.Server/bin/…/Homeroom.Server.dll</c>, as
/// scripts/cluster.sh runs it) on a free loopback port, with its own data directory, on a shared PostgreSQL database,
/// signed in to by a bootstrap API key. Its output goes
/// to <see cref="LogPath"/>. <see cref="Kill"/> sends SIGKILL; disposing kills it too if it still runs.
/// Also compiled into bench/Homeroom.Bench.ClusterKill.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private NodeProcess(string name, int port, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        Port = port;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string Name { get; }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    public int ProcessId => _process.Id;

    public string LogPath { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// The built server next to this code's own build (same configuration), found by walking up to the repository
    /// (the folder with Homeroom.slnx). The test command builds the whole solution first.
    /// </summary>
    public static string FindServerDll()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.Combine(RepositoryRoot(), "src", "Homeroom.Server", "bin", configuration, "net10.0", "Homeroom.Server.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"The built server is missing: build Homeroom.slnx -c {configuration} first.", dll);
    }

    /// <summary>Copies what <paramref name="process"/> writes (both streams, line by line) to <paramref name="logPath"/>; the caller disposes the writer.</summary>
    public static StreamWriter CopyOutput(Process process, string logPath)
    {
        var log = new StreamWriter(logPath, append: true, Encoding.UTF8) { AutoFlush = true };
        void Write(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (log)
                {
                    log.WriteLine(e.Data);
                }
            }
        }

        process.OutputDataReceived += Write;
        process.ErrorDataReceived += Write;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return log;
    }

    /// <summary>The checkout this program was built in: the nearest folder above it that holds Homeroom.slnx.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Homeroom.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException("No Homeroom.slnx above " + AppContext.BaseDirectory);
    }

    /// <summary>A loopback port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Gives a node about to start for the first time the cluster key of a node already started (on PostgreSQL every node
    /// seals and opens the shared keys with it; docs/operations.md, "shared keys and secrets").
    /// </summary>
    public static void CopyClusterKey(string fromDataDirectory, string toDataDirectory)
    {
        // data/keys/cluster.key (Homeroom.Server.Data.ClusterKey); named here because the benchmark that shares this file does not reference the server.
        var keys = Path.Combine(toDataDirectory, "keys");
        Directory.CreateDirectory(keys);
        File.Copy(Path.Combine(fromDataDirectory, "keys", "cluster.key"), Path.Combine(keys, "cluster.key"));
    }

    /// <summary>Starts a node; <see cref="WaitReadyAsync"/> waits until its <c>/readyz</c> answers 200.</summary>
    public static NodeProcess Start(string serverDll, string name, string dataDirectory, string postgres, string apiKey, IReadOnlyDictionary<string, string>? settings = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet", [serverDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(serverDll)!,
        };
        start.Environment["Urls"] = $"http://127.0.0.1:{port}";
        start.Environment["ConnectionStrings__Postgres"] = postgres;
        start.Environment["Homeroom__DataDirectory"] = dataDirectory;
        start.Environment["Homeroom__Cluster__NodeName"] = name;
        start.Environment["HOMEROOM_BOOTSTRAP_API_KEY"] = apiKey;
        start.Environment["HOMEROOM_ADMIN_PASSWORD"] = "cluster-" + Guid.NewGuid().ToString("N");
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        // Every simulated device enrolls from 127.0.0.1 (the balancer passes the address on).
        start.Environment["Homeroom__Agents__EnrollmentsPerMinutePerAddress"] = "100000";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var logPath = Path.Combine(dataDirectory, "node.log");
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        return new NodeProcess(name, port, process, CopyOutput(process, logPath), logPath);
    }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(Address, "/readyz"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (_process.HasExited || deadline.Elapsed > timeout)
            {
                throw new InvalidOperationException(
                    $"Node {Name} was not ready within {timeout.TotalSeconds:0} s{(_process.HasExited ? $" (it exited with {_process.ExitCode})" : "")}. Its log ends:\n{LogTail()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// SIGKILL: the process ends at once, nothing flushed, nothing released, its sockets closed by the kernel. Returns
    /// once it is gone (a request sent in the instant between the signal and the end may still reach it, and fail).
    /// </summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }

    public string LogTail(int lines = 40)
    {
        lock (_log)
        {
            try
            {
                using var reader = new StreamReader(new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                var all = reader.ReadToEnd().Split('\n');
                return string.Join('\n', all.TakeLast(lines));
            }
            catch (IOException)
            {
                return "(no log)";
            }
        }
    }

    /// <summary>Resident memory in bytes (0 once it exited).</summary>
    public long ResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{ProcessId}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone.
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        finally
        {
            _process.Dispose();
            lock (_log)
            {
                _log.Dispose();
            }
        }
    }
}

/// <summary>
/// A real HAProxy (Debian's package) in front of the nodes, with a configuration written here: WebSocket-aware
/// (<c>timeout tunnel</c>), <c>balance leastconn</c> (a browser kept on its node by a cookie; agents and API clients
/// send none), a health check on every node's <c>/readyz</c> each second, retries
/// that send a refused connection to another node (<c>option redispatch</c>), and a stats page on loopback whose CSV
/// <see cref="ServersAsync"/> reads, from the template scripts/cluster.sh fills in too (scripts/haproxy.cfg.in). Runs in the foreground
/// (<c>-db</c>), so it is this process's child; disposing kills it.
/// </summary>
public sealed class HaproxyProcess : IAsyncDisposable
{
    public const string Backend = "nodes"; // the backend of scripts/haproxy.cfg.in

    /// <summary>Connections HAProxy accepts at most: within an open-file limit of 20,000 (this machine's hard limit).</summary>
    public const int DefaultMaxConnections = 9_000;

    private readonly Process _process;
    private readonly StreamWriter _log;

    private HaproxyProcess(Process process, int port, int statsPort, string configPath, StreamWriter log, string logPath)
    {
        _process = process;
        _log = log;
        LogPath = logPath;
        Port = port;
        StatsPort = statsPort;
        ConfigPath = configPath;
    }

    public int Port { get; }

    public int StatsPort { get; }

    public string ConfigPath { get; }

    /// <summary>HAProxy's own messages and one line per request or connection (<c>option httplog</c>).</summary>
    public string LogPath { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    /// <summary>The last lines of the log, without the agents' connections unless <paramref name="agents"/>.</summary>
    public string LogTail(int lines = 40, bool agents = false)
    {
        lock (_log)
        {
            using var reader = new StreamReader(new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            return string.Join('\n', reader.ReadToEnd().Split('\n').Where(line => agents || !line.Contains(" /agent/v1 ", StringComparison.Ordinal)).TakeLast(lines));
        }
    }

    /// <summary>The haproxy executable, or null when it is not installed (scripts/ensure-haproxy.sh installs it).</summary>
    public static string? Find()
    {
        if (File.Exists("/usr/sbin/haproxy"))
        {
            return "/usr/sbin/haproxy";
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "haproxy"))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// The configuration: <paramref name="nodes"/> are the nodes' names and loopback ports; HAProxy holds two file
    /// descriptors per connection, so <paramref name="maxConnections"/> must stay under half the open-file limit.
    /// </summary>
    public static string Config(int port, int statsPort, IEnumerable<(string Name, int Port)> nodes, int maxConnections = DefaultMaxConnections)
    {
        // The template scripts/cluster.sh fills in too, so the test runs what the script starts.
        var template = File.ReadAllText(Path.Combine(NodeProcess.RepositoryRoot(), "scripts", "haproxy.cfg.in"));
        var servers = string.Join('\n', nodes.Select(n => $"    server {n.Name} 127.0.0.1:{n.Port.ToString(CultureInfo.InvariantCulture)} cookie {n.Name}"));
        return template
            .Replace("@SERVERS@", servers, StringComparison.Ordinal)
            .Replace("@MAXCONN@", maxConnections.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("@STATS_PORT@", statsPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("@PORT@", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    /// <summary>Writes the configuration into <paramref name="directory"/>, starts HAProxy and waits until it accepts connections.</summary>
    public static async Task<HaproxyProcess> StartAsync(string executable, string directory, IEnumerable<(string Name, int Port)> nodes, int maxConnections = DefaultMaxConnections)
    {
        Directory.CreateDirectory(directory);
        var port = NodeProcess.FreePort();
        var statsPort = NodeProcess.FreePort();
        var configPath = Path.Combine(directory, "haproxy.cfg");
        await File.WriteAllTextAsync(configPath, Config(port, statsPort, nodes, maxConnections));
        var start = new ProcessStartInfo(executable, ["-db", "-f", configPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("haproxy did not start");
        var logPath = Path.Combine(directory, "haproxy.log");
        var haproxy = new HaproxyProcess(process, port, statsPort, configPath, NodeProcess.CopyOutput(process, logPath), logPath);
        var waited = Stopwatch.StartNew();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (true)
        {
            try
            {
                using var stats = await http.GetAsync(haproxy.StatsCsv);
                if (stats.IsSuccessStatusCode)
                {
                    return haproxy;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (process.HasExited || waited.Elapsed > TimeSpan.FromSeconds(15))
            {
                await haproxy.DisposeAsync();
                throw new InvalidOperationException($"haproxy did not start: {haproxy.LogTail()}");
            }

            await Task.Delay(50);
        }
    }

    public Uri StatsCsv => new($"http://127.0.0.1:{StatsPort}/stats;csv");

    /// <summary>Each node as HAProxy sees it now: its check status (UP, DOWN, …) and its current sessions.</summary>
    public async Task<IReadOnlyDictionary<string, (string Status, int Sessions)>> ServersAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var csv = await http.GetStringAsync(StatsCsv);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].TrimStart('#', ' ').Split(',');
        int Column(string name) => Array.IndexOf(header, name);
        var (proxy, server, status, current) = (Column("pxname"), Column("svname"), Column("status"), Column("scur"));
        var servers = new Dictionary<string, (string, int)>();
        foreach (var fields in lines.Skip(1).Select(line => line.Split(',')))
        {
            if (fields[proxy] == Backend && fields[server] is not ("FRONTEND" or "BACKEND"))
            {
                servers[fields[server]] = (fields[status], int.Parse(fields[current], CultureInfo.InvariantCulture));
            }
        }

        return servers;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        finally
        {
            _process.Dispose();
            lock (_log)
            {
                _log.Dispose();
            }
        }
    }
}
