using System.ComponentModel.DataAnnotations;
using Homeroom.Rules.Safety;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Safety;

/// <summary>Student safety: alert threshold, grouping, budgets, escalation and retention (configuration section <c>Homeroom:Safety</c>).</summary>
public sealed class SafetyOptions
{
    public const string Section = "Homeroom:Safety";

    /// <summary>The lowest verdict severity that raises an alert (a match below it is not stored).</summary>
    public SafetySeverity AlertThreshold { get; set; } = SafetySeverity.Medium;

    /// <summary>Repeats of the same device, category and phrase within this window grow the same alert.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan GroupWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Evidence items kept per alert; later repeats only count.</summary>
    [Range(1, 1000)]
    public int MaxEvidencePerAlert { get; set; } = 20;

    /// <summary>Signals one device may have scanned per minute, sustained.</summary>
    [Range(1, 100_000)]
    public int SignalsPerMinute { get; set; } = 60;

    /// <summary>Signals one device may have scanned at once above the sustained rate.</summary>
    [Range(1, 1_000_000)]
    public int SignalBurst { get; set; } = 600;

    /// <summary>An imminent alert still new after this long is escalated to the district's contacts.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan EscalateAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a screenshot may take to arrive after <c>safetyCapture</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:10:00")]
    public TimeSpan CaptureTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Resolved and false-positive cases (with evidence and screenshots) are deleted this long after closing.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan ClosedCaseRetention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Screenshots of any case are deleted this long after they arrived.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan ScreenshotRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Addresses told by e-mail when an imminent alert is escalated (the district's safety contacts).</summary>
    public List<string> EscalationContacts { get; set; } = [];
}

/// <summary>Validates <see cref="SafetyOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class SafetyOptionsValidator : IValidateOptions<SafetyOptions>;
