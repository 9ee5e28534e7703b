using System.ComponentModel.DataAnnotations;

namespace Homeroom.Server.SelfUpdates;

/// <summary>Desktop agent self-updates (configuration section <c>Homeroom:AgentUpdates</c>).</summary>
public sealed class AgentUpdateOptions
{
    public const string Section = "Homeroom:AgentUpdates";

    /// <summary>Largest build accepted for upload, in bytes (at most <see cref="Contracts.Agents.AgentUpdates.MaxPackageBytes"/>, 150 MB).</summary>
    [Range(1024L, Contracts.Agents.AgentUpdates.MaxPackageBytes)]
    public long MaxPackageBytes { get; set; } = Contracts.Agents.AgentUpdates.MaxPackageBytes;

    /// <summary>How long an <c>agentUpdate</c> command waits for its device.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "7.00:00:00")]
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromDays(1);

    /// <summary>After a device refused or rolled back a build, how long before it is offered the same build again.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// When more than this share (percent) of a pilot's devices that were offered its build failed (refused or rolled it
    /// back), promoting the build asks for confirmation with the figures.
    /// </summary>
    [Range(0, 100)]
    public int PilotHoldPercent { get; set; } = 10;
}
