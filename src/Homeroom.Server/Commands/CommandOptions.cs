using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Commands;

/// <summary>Command delivery settings (configuration section <c>Homeroom:Commands</c>).</summary>
public sealed class CommandOptions : IValidatableObject
{
    public const string Section = "Homeroom:Commands";

    /// <summary>Time to live when the request does not give one.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "366.00:00:00")]
    public TimeSpan DefaultTimeToLive { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The longest time to live a request may ask for.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "366.00:00:00")]
    public TimeSpan MaxTimeToLive { get; set; } = TimeSpan.FromDays(14);

    /// <summary>Finished commands older than this are deleted with their per-device statuses.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often expiry and retention run.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Most devices one command may target.</summary>
    [Range(1, 1_000_000)]
    public int MaxTargets { get; set; } = 100_000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DefaultTimeToLive > MaxTimeToLive)
        {
            yield return new ValidationResult("The default time to live must be at most the maximum.", [nameof(DefaultTimeToLive)]);
        }
    }
}

/// <summary>Validates <see cref="CommandOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class CommandOptionsValidator : IValidateOptions<CommandOptions>;
