using System.ComponentModel.DataAnnotations;

namespace Homeroom.Server.Scripts;

/// <summary>Remote scripts (configuration section <c>Homeroom:Scripts</c>).</summary>
public sealed class ScriptOptions
{
    public const string Section = "Homeroom:Scripts";

    /// <summary>Results are deleted this long after they came.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Results kept per device, newest first; an older one goes when a new one comes.</summary>
    [Range(1, 200)]
    public int KeepPerDevice { get; set; } = 20;

    /// <summary>How long a run waits for an offline device before it expires.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan TimeToLive { get; set; } = TimeSpan.FromHours(1);
}
