using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Safety;

/// <summary>
/// A safety alert and its case: one per device, category and matched phrase while repeats keep coming
/// within the group window (<see cref="SafetyOptions.GroupWindow"/>). Only safety leads and district
/// administrators read it, and every read is audited.
/// </summary>
public sealed class SafetyAlert
{
    public Guid Id { get; set; }
    public Guid DeviceId { get; set; }
    /// <summary>The student the device was assigned to when the alert was raised.</summary>
    public Guid? PersonId { get; set; }
    public Guid? SchoolId { get; set; }
    /// <summary>The category's JSON name (<c>selfHarm</c>, <c>bullying</c>, ...).</summary>
    public required string Category { get; set; }
    /// <summary>The lexicon phrase that matched (the grouping key with device and category).</summary>
    public required string Phrase { get; set; }
    /// <summary>The highest severity seen (<c>low</c> ... <c>imminent</c>).</summary>
    public required string Severity { get; set; }
    /// <summary>The severity as a number, for ordering and filtering (0 none ... 4 imminent).</summary>
    public int SeverityRank { get; set; }
    /// <summary>The highest category score seen.</summary>
    public double Score { get; set; }
    /// <summary>See <see cref="SafetyStatuses"/>.</summary>
    public required string Status { get; set; }
    /// <summary>How many matching signals were grouped into it.</summary>
    public int Count { get; set; }
    public DateTime FirstSeenAt { get; set; }
    public DateTime LastSeenAt { get; set; }
    public Guid? AssignedToId { get; set; }
    public string? AssignedToName { get; set; }
    public DateTime? EscalatedAt { get; set; }
    /// <summary>How many steps of the escalation chain were told (0: none yet).</summary>
    public int EscalationStep { get; set; }
    /// <summary>When the last step of the chain was told; the next waits the school's delay from here.</summary>
    public DateTime? LastEscalatedAt { get; set; }
    /// <summary>When a person first changed its status or assigned it: escalation stops.</summary>
    public DateTime? AcknowledgedAt { get; set; }
    /// <summary>Set while the alert's e-mail and webhook wait for the end of its school's quiet hours.</summary>
    public DateTime? QuietHeldAt { get; set; }
    /// <summary>When it was resolved or marked a false positive (retention counts from here).</summary>
    public DateTime? ClosedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>One matched signal kept as evidence: the matched text in context, never a whole page.</summary>
public sealed class SafetyEvidence
{
    public Guid Id { get; set; }
    public Guid AlertId { get; set; }
    public DateTime OccurredAt { get; set; }
    public DateTime ReceivedAt { get; set; }
    public required string Source { get; set; }
    public string? Url { get; set; }
    /// <summary>At most <see cref="SafetyIngestion.MaxExcerptLength"/> characters around the matches.</summary>
    public required string Excerpt { get; set; }
    /// <summary>Where the excerpt starts in the signal's text; the explanation's offsets are the signal's.</summary>
    public int ExcerptStart { get; set; }
    public required string Severity { get; set; }
    public double Score { get; set; }
    /// <summary>The verdict (scores, matches with offsets, context rules applied) as JSON.</summary>
    public required string ExplanationJson { get; set; }
    public Guid? CaptureId { get; set; }
}

/// <summary>A screenshot the device took for an alert (<c>safetyCapture</c>), stored undecoded.</summary>
public sealed class SafetyScreenshot
{
    /// <summary>The capture id the server sent.</summary>
    public Guid Id { get; set; }
    public Guid AlertId { get; set; }
    public Guid? EvidenceId { get; set; }
    public DateTime CapturedAt { get; set; }
    public DateTime ReceivedAt { get; set; }
    /// <summary>1 JPEG, 2 WebP, 3 PNG.</summary>
    public int Format { get; set; }
    public required byte[] Content { get; set; }
}

/// <summary>One step of a case's history: raised, grew, assigned, status changed, note, escalated.</summary>
public sealed class SafetyCaseEvent
{
    public Guid Id { get; set; }
    public Guid AlertId { get; set; }
    public DateTime At { get; set; }
    public required string Actor { get; set; }
    /// <summary>created, grew, assigned, status, note, escalated.</summary>
    public required string Kind { get; set; }
    public string? Status { get; set; }
    public string? Text { get; set; }
}

/// <summary>One of the district's changes to the built-in lexicon.</summary>
public sealed class SafetyLexiconAdjustment
{
    public Guid Id { get; set; }
    /// <summary>See <see cref="AdjustmentKinds"/>.</summary>
    public required string Kind { get; set; }
    public required string Phrase { get; set; }
    public string? Category { get; set; }
    public string? Language { get; set; }
    public double? Weight { get; set; }
    /// <summary>The context phrase of a demotion.</summary>
    public string? Context { get; set; }
    public double? Factor { get; set; }
    /// <summary>The alert a false-positive demotion came from.</summary>
    public Guid? AlertId { get; set; }
    public DateTime CreatedAt { get; set; }
    public required string CreatedBy { get; set; }
}

/// <summary>The statuses of a safety case.</summary>
public static class SafetyStatuses
{
    public const string New = "new";
    public const string InReview = "inReview";
    public const string Escalated = "escalated";
    public const string Resolved = "resolved";
    public const string FalsePositive = "falsePositive";

    public static readonly IReadOnlyList<string> All = [New, InReview, Escalated, Resolved, FalsePositive];

    /// <summary>Whether the case is closed (retention counts from its closing).</summary>
    public static bool IsClosed(string status) => status is Resolved or FalsePositive;
}

/// <summary>The kinds of lexicon adjustment.</summary>
public static class AdjustmentKinds
{
    /// <summary>A new entry (phrase, category, weight, language).</summary>
    public const string Add = "add";
    /// <summary>A built-in phrase removed.</summary>
    public const string Remove = "remove";
    /// <summary>A phrase re-weighted.</summary>
    public const string Weight = "weight";
    /// <summary>A false-positive demotion: the phrase near the context phrase is multiplied by the factor.</summary>
    public const string Demotion = "demotion";

    public static readonly IReadOnlyList<string> All = [Add, Remove, Weight, Demotion];
}

internal sealed class SafetyAlertConfiguration : IEntityTypeConfiguration<SafetyAlert>
{
    public void Configure(EntityTypeBuilder<SafetyAlert> builder) => builder.ToTable("safety_alerts");
}

internal sealed class SafetyEvidenceConfiguration : IEntityTypeConfiguration<SafetyEvidence>
{
    public void Configure(EntityTypeBuilder<SafetyEvidence> builder) => builder.ToTable("safety_evidence");
}

internal sealed class SafetyScreenshotConfiguration : IEntityTypeConfiguration<SafetyScreenshot>
{
    public void Configure(EntityTypeBuilder<SafetyScreenshot> builder) => builder.ToTable("safety_screenshots");
}

internal sealed class SafetyCaseEventConfiguration : IEntityTypeConfiguration<SafetyCaseEvent>
{
    public void Configure(EntityTypeBuilder<SafetyCaseEvent> builder) => builder.ToTable("safety_case_events");
}

internal sealed class SafetyLexiconAdjustmentConfiguration : IEntityTypeConfiguration<SafetyLexiconAdjustment>
{
    public void Configure(EntityTypeBuilder<SafetyLexiconAdjustment> builder) => builder.ToTable("safety_lexicon_adjustments");
}

/// <summary>The safety tables of the one context (kept here so the feature stays in its folder).</summary>
internal static class SafetySets
{
    public static DbSet<SafetyAlert> SafetyAlerts(this HomeroomDbContext db) => db.Set<SafetyAlert>();
    public static DbSet<SafetyEvidence> SafetyEvidence(this HomeroomDbContext db) => db.Set<SafetyEvidence>();
    public static DbSet<SafetyScreenshot> SafetyScreenshots(this HomeroomDbContext db) => db.Set<SafetyScreenshot>();
    public static DbSet<SafetyCaseEvent> SafetyCaseEvents(this HomeroomDbContext db) => db.Set<SafetyCaseEvent>();
    public static DbSet<SafetyLexiconAdjustment> SafetyLexiconAdjustments(this HomeroomDbContext db) => db.Set<SafetyLexiconAdjustment>();
}
