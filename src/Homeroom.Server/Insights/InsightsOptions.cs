using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>Insight rollups and reports (configuration section <c>Homeroom:Insights</c>).</summary>
public sealed class InsightsOptions
{
    public const string Section = "Homeroom:Insights";

    /// <summary>Rollup rows older than this are deleted (raw events keep their own, shorter retention).</summary>
    [Range(typeof(TimeSpan), "400.00:00:00", "3660.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(3 * 366);

    /// <summary>How often the folder looks for newly stored events (reports trail raw events by about this much).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan FoldInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Raw events folded per transaction, live and in a rebuild.</summary>
    [Range(100, 1_000_000)]
    public int RebuildBatch { get; set; } = 20_000;
}

/// <summary>Validates <see cref="InsightsOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class InsightsOptionsValidator : IValidateOptions<InsightsOptions>;
