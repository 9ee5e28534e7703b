namespace Homeroom.Simulator.Fleet;

/// <summary>Runs a whole virtual fleet against one server.</summary>
public sealed class Fleet : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _running = [];

    public Fleet(FleetOptions options, TimeProvider? time = null)
    {
        Options = options;
        var clockTime = time ?? TimeProvider.System;
        var zone = TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone);
        Clock = new SimulatedClock(clockTime, options.Speed, options.StartAt ?? clockTime.GetUtcNow(), zone);
        Credentials = new CredentialStore(options.StateFile);
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Math.Max(4, options.ConnectConcurrency) }) { Timeout = options.RequestTimeout };
        var context = new FleetContext(options, Clock, Credentials, Metrics, _http, clockTime);
        Devices = FleetProfile.Create(options.Devices, options.Seed, options.Campus).Select(spec => new VirtualDevice(spec, context)).ToList();
    }

    public FleetOptions Options { get; }
    public SimulatedClock Clock { get; }
    public CredentialStore Credentials { get; }
    public FleetMetrics Metrics { get; } = new();
    public IReadOnlyList<VirtualDevice> Devices { get; }

    public void Start()
    {
        foreach (var device in Devices)
        {
            _running.Add(Task.Run(() => device.RunAsync(_stop.Token)));
        }
    }

    /// <summary>Waits until <paramref name="count"/> devices are connected (or the timeout passes).</summary>
    public async Task<bool> WaitForConnectedAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Metrics.Connected < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_running).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(static _ => { }, TaskScheduler.Default);
        await Credentials.SaveAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
        _http.Dispose();
    }
}
