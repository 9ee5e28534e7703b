using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>The reports' thresholds and the scheduled reports (configuration section <c>Homeroom:Insights:Reports</c>).</summary>
public sealed class InsightsReportOptions
{
    public const string Section = "Homeroom:Insights:Reports";

    /// <summary>
    /// The OS version each platform should run, by platform name (chromeos, ipados, ios, macos, windows,
    /// android, linux); a platform without one is measured against the newest version any of its devices reports.
    /// </summary>
    public Dictionary<string, string> TargetOsVersions { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A battery below this level (percent), not charging, counts as low.</summary>
    [Range(1, 100)]
    public int LowBatteryPercent { get; set; } = 20;

    /// <summary>Storage with less free space than this share of it (percent) counts as nearly full.</summary>
    [Range(1, 100)]
    public int StorageNearlyFullPercent { get; set; } = 10;

    /// <summary>How long classroom use per class and day is kept (at least the longest report range, 400 days).</summary>
    [Range(typeof(TimeSpan), "400.00:00:00", "3650.00:00:00")]
    public TimeSpan ClassUsageRetention { get; set; } = TimeSpan.FromDays(730);

    /// <summary>How often the scheduler looks for reports that are due.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ScheduleCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Scheduled reports the district may keep.</summary>
    [Range(1, 1000)]
    public int MaxSchedules { get; set; } = 100;

    /// <summary>The largest CSV attached to a scheduled e-mail; a larger report is cut there and says so.</summary>
    [Range(1024, 50 * 1024 * 1024)]
    public int MaxAttachmentBytes { get; set; } = 10 * 1024 * 1024;
}

/// <summary>Validates <see cref="InsightsReportOptions"/>' ranges at start.</summary>
[OptionsValidator]
public sealed partial class InsightsReportOptionsValidator : IValidateOptions<InsightsReportOptions>;

/// <summary>The checks attributes cannot state: target versions only for known platforms.</summary>
public sealed class InsightsReportOptionsRules : IValidateOptions<InsightsReportOptions>
{
    public ValidateOptionsResult Validate(string? name, InsightsReportOptions options)
    {
        var unknown = options.TargetOsVersions.Keys.Where(k => ReportFilters.ParsePlatform(k) is null).ToList();
        var tooLong = options.TargetOsVersions.Where(kv => kv.Value is null || kv.Value.Length > 64).Select(kv => kv.Key).ToList();
        var errors = new List<string>();
        if (unknown.Count > 0)
        {
            errors.Add($"{InsightsReportOptions.Section}:TargetOsVersions names unknown platforms ({string.Join(", ", unknown)}); use {string.Join(", ", ReportFilters.PlatformNames)}.");
        }

        if (tooLong.Count > 0)
        {
            errors.Add($"{InsightsReportOptions.Section}:TargetOsVersions: a version of 1 to 64 characters for {string.Join(", ", tooLong)}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
