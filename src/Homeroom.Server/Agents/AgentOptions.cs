using System.ComponentModel.DataAnnotations;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Agents;

/// <summary>Limits and timings of agent connections (configuration section <c>Homeroom:Agents</c>).</summary>
public sealed class AgentOptions
{
    public const string Section = "Homeroom:Agents";

    [Range(5, 3600)]
    public int HeartbeatIntervalSeconds { get; set; } = 30;

    /// <summary>How long a new connection may take to send its <c>auth</c> frame.</summary>
    [Range(1, 120)]
    public int AuthTimeoutSeconds { get; set; } = 10;

    [Range(1024, ProtocolLimits.MaxTextFrameBytes)]
    public int MaxTextFrameBytes { get; set; } = ProtocolLimits.MaxTextFrameBytes;

    [Range(1024, ProtocolLimits.MaxBinaryFrameBytes)]
    public int MaxBinaryFrameBytes { get; set; } = ProtocolLimits.MaxBinaryFrameBytes;

    /// <summary>Sustained frames per second one connection may send.</summary>
    [Range(1, 10_000)]
    public int MessagesPerSecond { get; set; } = 20;

    /// <summary>Frames one connection may send in a burst above the sustained rate.</summary>
    [Range(1, 100_000)]
    public int MessageBurst { get; set; } = 200;

    /// <summary>A send that takes longer than this closes the connection (4430): a stuck client must not hold server memory.</summary>
    [Range(1, 300)]
    public int SendTimeoutSeconds { get; set; } = 15;

    /// <summary>Enrollment requests per minute from one address.</summary>
    [Range(1, 100_000)]
    public int EnrollmentsPerMinutePerAddress { get; set; } = 600;

    /// <summary>
    /// Enrollments this node works on at once, from all addresses together. More wait for a turn (up to
    /// <see cref="EnrollmentWaitSeconds"/>), so a fleet enrolling all at once (an extension pushed to every
    /// Chromebook) cannot take every database connection from the devices already connected and from staff.
    /// </summary>
    [Range(1, 10_000)]
    public int ConcurrentEnrollments { get; set; } = 16;

    /// <summary>How long an enrollment waits for its turn before it is answered 503 with <c>Retry-After</c>.</summary>
    [Range(1, 600)]
    public int EnrollmentWaitSeconds { get; set; } = 10;

    /// <summary>
    /// How long a desktop agent that said it was stopped (while its computer kept running) may stay away
    /// before an alert is raised: an upgrade or an administrator's restart comes back well within it.
    /// </summary>
    [Range(1, 86_400)]
    public int StoppedAlertGraceSeconds { get; set; } = 120;

    /// <summary>
    /// How long a desktop agent whose connection dropped without a word may stay silent while the same
    /// computer is seen through another channel (an MDM check-in with its serial number) before an alert is raised.
    /// </summary>
    [Range(1, 86_400)]
    public int SilentAlertSeconds { get; set; } = 1800;

    /// <summary>How often the agent watch looks at the agents it is waiting for.</summary>
    [Range(1, 300)]
    public int WatchIntervalSeconds { get; set; } = 15;

    /// <summary>How long a desktop's companion credential lets its browser extension enroll (the agent asks for a new one at half of it).</summary>
    [Range(1, 365)]
    public int CompanionCredentialDays { get; set; } = 30;

    /// <summary>Most browser extensions (browser profiles) one desktop may have as companions; one more is refused (403).</summary>
    [Range(1, 64)]
    public int MaxCompanionsPerDevice { get; set; } = 8;

    /// <summary>
    /// After at least this many agents connected and the connecting stopped (a morning, a restart, a network outage
    /// ending), the node runs one full, compacting collection that hands free memory back to the operating system
    /// (<see cref="ConnectStormCompaction"/>); 0 turns it off.
    /// </summary>
    [Range(0, 10_000_000)]
    public int CompactAfterConnects { get; set; } = 1_000;

    /// <summary>How often the node counts the agents that connected, to tell when a connect storm has ended.</summary>
    [Range(1, 3600)]
    public int CompactCheckSeconds { get; set; } = 2;

    /// <summary>The connecting has stopped when fewer agents than this connected since the last check.</summary>
    [Range(1, 100_000)]
    public int CompactWhenFewerConnects { get; set; } = 20;

    /// <summary>The least time between two such collections, so a fleet that keeps reconnecting does not pay for one often.</summary>
    [Range(1, 86_400)]
    public int CompactAtMostEverySeconds { get; set; } = 600;
}

/// <summary>Validates <see cref="AgentOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class AgentOptionsValidator : IValidateOptions<AgentOptions>;
