using System.ComponentModel.DataAnnotations;

namespace Homeroom.Server.Commands;

/// <summary>Command delivery settings (configuration section <c>Homeroom:Commands</c>).</summary>
public sealed class CommandOptions
{
    public const string Section = "Homeroom:Commands";

    /// <summary>Time to live when the request does not give one.</summary>
    public TimeSpan DefaultTimeToLive { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The longest time to live a request may ask for.</summary>
    public TimeSpan MaxTimeToLive { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Finished commands older than this are deleted with their per-device statuses.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often expiry and retention run.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Most devices one command may target.</summary>
    [Range(1, 1_000_000)]
    public int MaxTargets { get; set; } = 100_000;
}
