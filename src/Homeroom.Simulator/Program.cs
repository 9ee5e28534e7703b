using System.Globalization;
using System.Net;
using Homeroom.Simulator.Fleet;

// homeroom-simulator --server URL --enroll-token TOKEN --devices N --seed S [--speed X] [--state-file F]
//                    [--campus LAT,LON] [--source-addresses K] [--duration SECONDS] [--always-online] [--no-safety-signals]
//                    [--no-help-requests]
var arguments = ParseArguments(args);
if (arguments.ContainsKey("help") || !arguments.ContainsKey("server"))
{
    Console.WriteLine("""
        Homeroom fleet simulator: runs virtual devices against a Homeroom server over the real protocol.

          --server URL             Homeroom server, for example http://127.0.0.1:5080 (required)
          --enroll-token TOKEN     enrollment token for devices without a saved credential
          --devices N              number of devices (default 100)
          --seed S                 seed; the same seed gives the same fleet and behaviour (default 1)
          --speed X                simulated day speed: 1 = real time, 480 = a school day in about 3 minutes (default 1)
          --state-file FILE        where credentials are kept so a restart resumes (default: simulator-state.json)
          --campus LAT,LON         campus centre (default 41.8781,-87.6298)
          --source-addresses K     spread connections over 127.0.0.1..127.0.0.K (default 1)
          --duration SECONDS       stop after this long (default: run until Ctrl+C)
          --always-online          never go offline at night (load tests)
          --no-safety-signals      no safety signals: by default about one student in twenty searches or types
                                   something concerning and one in five a harmless look-alike (same for a seed)
          --no-help-requests       no help requests: by default about one Chromebook student in twelve presses
                                   the extension's help button once each school day
        """);
    return arguments.ContainsKey("help") ? 0 : 2;
}

var campus = arguments.TryGetValue("campus", out var c) ? c.Split(',') : ["41.8781", "-87.6298"];
var sourceCount = int.Parse(arguments.GetValueOrDefault("source-addresses", "1"), CultureInfo.InvariantCulture);
var options = new FleetOptions
{
    Server = new Uri(arguments["server"]),
    EnrollToken = arguments.GetValueOrDefault("enroll-token"),
    Devices = int.Parse(arguments.GetValueOrDefault("devices", "100"), CultureInfo.InvariantCulture),
    Seed = int.Parse(arguments.GetValueOrDefault("seed", "1"), CultureInfo.InvariantCulture),
    Speed = double.Parse(arguments.GetValueOrDefault("speed", "1"), CultureInfo.InvariantCulture),
    StateFile = arguments.GetValueOrDefault("state-file", "simulator-state.json"),
    Campus = new GeoPoint(double.Parse(campus[0], CultureInfo.InvariantCulture), double.Parse(campus[1], CultureInfo.InvariantCulture)),
    SourceAddresses = sourceCount > 1 ? Enumerable.Range(1, sourceCount).Select(i => IPAddress.Parse($"127.0.0.{i}")).ToList() : [],
    AlwaysOnline = arguments.ContainsKey("always-online"),
    SafetySignals = !arguments.ContainsKey("no-safety-signals"),
    HelpRequests = !arguments.ContainsKey("no-help-requests"),
};

await using var fleet = new Fleet(options);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
if (arguments.TryGetValue("duration", out var duration))
{
    stop.CancelAfter(TimeSpan.FromSeconds(double.Parse(duration, CultureInfo.InvariantCulture)));
}

Console.WriteLine($"Starting {options.Devices} devices against {options.Server} (seed {options.Seed}, speed {options.Speed}x)");
fleet.Start();
try
{
    while (!stop.IsCancellationRequested)
    {
        await Task.Delay(TimeSpan.FromSeconds(5), stop.Token);
        Console.WriteLine($"{fleet.Clock.Now.ToOffset(fleet.Clock.Zone.GetUtcOffset(fleet.Clock.Now)):yyyy-MM-dd HH:mm} simulated | {fleet.Metrics}");
    }
}
catch (OperationCanceledException)
{
    // Ctrl+C or --duration.
}

await fleet.StopAsync();
Console.WriteLine($"Stopped. {fleet.Metrics}");
return 0;

static Dictionary<string, string> ParseArguments(string[] args)
{
    var result = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal))
        {
            continue;
        }

        var name = args[i][2..];
        var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
        result[name] = hasValue ? args[++i] : "true";
    }

    return result;
}
