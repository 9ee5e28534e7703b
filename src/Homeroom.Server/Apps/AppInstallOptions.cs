using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apps;

/// <summary>The per-device app status job (configuration section <c>Homeroom:Apps</c>).</summary>
public sealed class AppInstallOptions
{
    public const string Section = "Homeroom:Apps";

    /// <summary>How often every device's app status is brought in line with its effective apps (an assignment change also starts a pass at once).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The wait before the first retry of a failed install, removal or licence request; each next wait doubles.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FirstRetry { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The longest wait between retries.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan MaxRetry { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How long after an accepted install or removal the device's app list is asked for again while it still disagrees.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan AppListInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an install, removal or app-list command waits for an offline device.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "14.00:00:00")]
    public TimeSpan CommandTimeToLive { get; set; } = TimeSpan.FromDays(3);

    /// <summary>At most this many devices are asked to install or remove apps in one pass; the rest in later passes.</summary>
    [Range(1, 100_000)]
    public int MaxCommandsPerPass { get; set; } = 20_000;
}

/// <summary>Validates <see cref="AppInstallOptions"/>' ranges at start.</summary>
[OptionsValidator]
public sealed partial class AppInstallOptionsValidator : IValidateOptions<AppInstallOptions>;
