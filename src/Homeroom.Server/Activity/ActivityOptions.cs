using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Activity;

/// <summary>Activity events: retention and each device's budget (configuration section <c>Homeroom:Activity</c>).</summary>
public sealed class ActivityOptions
{
    public const string Section = "Homeroom:Activity";

    /// <summary>Activity events older than this are deleted.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Events one device may store per minute, sustained (see <see cref="ActivityBudget"/>).</summary>
    [Range(1, 1_000_000)]
    public int EventsPerMinute { get; set; } = 120;

    /// <summary>Events one device may store at once above the sustained rate: more than an agent keeps while offline (5,000).</summary>
    [Range(1, 10_000_000)]
    public int EventBurst { get; set; } = 6_000;

    /// <summary>Events one device may store per day (a rolling day), whatever its bursts.</summary>
    [Range(1, 100_000_000)]
    public int EventsPerDay { get; set; } = 20_000;
}

/// <summary>Validates <see cref="ActivityOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class ActivityOptionsValidator : IValidateOptions<ActivityOptions>;
