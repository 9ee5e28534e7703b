using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Updates;

/// <summary>The OS update rollouts' job (configuration section <c>Homeroom:Updates</c>).</summary>
public sealed class UpdateOptions
{
    public const string Section = "Homeroom:Updates";

    /// <summary>How often active rollouts are evaluated (promoted or paused).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a stopped or finished rollout is kept (its audit entries follow the audit log's own retention).</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan FinishedRetention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>The longest baseline a device's failed commands are compared with (the same length of time before its ring started, at most this).</summary>
    [Range(typeof(TimeSpan), "01:00:00", "30.00:00:00")]
    public TimeSpan ErrorBaseline { get; set; } = TimeSpan.FromDays(7);

    /// <summary>At most this many OS update commands a pass (ScheduleOSUpdate to Apple devices past their ring's deadline, installOsUpdates to desktop agents); the rest go in later passes.</summary>
    [Range(1, 100_000)]
    public int MaxUpdateCommandsPerPass { get; set; } = 5_000;

    /// <summary>After a desktop agent's failed <c>installOsUpdates</c>, the wait before the next one; it doubles with each failure in the ring.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan InstallRetryBase { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The longest wait between a desktop agent's failed install and the next.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan InstallRetryMax { get; set; } = TimeSpan.FromDays(1);

    /// <summary>At most this many distinct versions are read when checking a new rollout's target against its rings' devices.</summary>
    [Range(10, 100_000)]
    public int MaxDistinctVersions { get; set; } = 5_000;
}

/// <summary>Validates <see cref="UpdateOptions"/>' ranges at start.</summary>
[OptionsValidator]
public sealed partial class UpdateOptionsValidator : IValidateOptions<UpdateOptions>;
