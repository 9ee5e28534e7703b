using System.Net;

namespace Homeroom.Simulator.Fleet;

/// <summary>How the fleet runs; set from the command line or by the load benchmark.</summary>
public sealed class FleetOptions
{
    public required Uri Server { get; init; }
    public string? EnrollToken { get; init; }
    public int Devices { get; init; } = 100;
    public int Seed { get; init; } = 1;

    /// <summary>How much faster than real time the simulated school day runs (1 = real time, 480 = a day in 3 minutes).</summary>
    public double Speed { get; init; } = 1;

    public DateTimeOffset? StartAt { get; init; }
    public string TimeZone { get; init; } = "America/Chicago";
    public GeoPoint Campus { get; init; } = new(41.8781, -87.6298);

    /// <summary>Where credentials are kept between runs; null keeps them in memory only.</summary>
    public string? StateFile { get; init; }

    /// <summary>Loopback source addresses to spread connections over (each has about 28,000 ephemeral ports).</summary>
    public IReadOnlyList<IPAddress> SourceAddresses { get; init; } = [];

    /// <summary>How often (real time) a device sends its accumulated activity.</summary>
    public TimeSpan ActivityInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>When set, every device sends this many activity events per real second, ignoring the school-day model (load benchmark).</summary>
    public double? FixedEventsPerSecond { get; init; }

    /// <summary>When true, devices stay online around the clock (load benchmark); otherwise they go offline at night and sometimes by day.</summary>
    public bool AlwaysOnline { get; init; }

    /// <summary>How many devices may enroll or connect at the same moment.</summary>
    public int ConnectConcurrency { get; init; } = 64;

    /// <summary>How long an HTTP request (an enrollment) may take before the device gives up on it and tries again later.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When true, the few students <see cref="SafetyScript"/> picks send safety signals (concerning ones
    /// and harmless look-alikes) at their times of the school day, while the policy's monitoring.safety is on.
    /// </summary>
    public bool SafetySignals { get; init; } = true;

    /// <summary>When true, the few Chromebook students <see cref="HelpScript"/> picks ask for help once each school day.</summary>
    public bool HelpRequests { get; init; } = true;

    /// <summary>Chance that a device answers a command only after a short delay, as a busy device would.</summary>
    public double SlowAnswerChance { get; init; } = 0.05;

    /// <summary>
    /// Chance that a desktop's <c>installPackage</c> or <c>removePackage</c> fails with its platform's words (winget, apt-get,
    /// installer), as a download or a package tool sometimes does; retried by the server after its back-off.
    /// </summary>
    public double PackageFailureChance { get; init; } = 0.03;

    /// <summary>How long a desktop takes to install or remove a package (download and tool), at most: each takes a random share of it.</summary>
    public TimeSpan PackageWork { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>
    /// The ChromeOS version Google Admin pins for the fleet (its "Target version"), or none. Chromebooks below it
    /// take it over simulated days as <see cref="OsUpdates"/> plans: most report it, a few fail, a few go quiet.
    /// </summary>
    public string? ChromeOsTarget { get; init; }

    /// <summary>When (simulated time) the pin was set; the fleet's start when not given.</summary>
    public DateTimeOffset? ChromeOsTargetSince { get; init; }

    /// <summary>
    /// When given, only these Chromebooks (by serial) have the pin, each since its time (a ring's organisational unit
    /// gets it when the ring starts); the others stay on their version.
    /// </summary>
    public IReadOnlyDictionary<string, DateTimeOffset>? ChromeOsTargetBySerial { get; init; }
}
