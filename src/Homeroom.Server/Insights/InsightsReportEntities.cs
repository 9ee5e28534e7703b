using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Insights;

/// <summary>A class's use of the classroom on one UTC day: seconds of screen viewing and commands sent.</summary>
public sealed class ClassUsageDay
{
    public Guid GroupId { get; set; }
    public DateOnly Day { get; set; }
    public long ViewedSeconds { get; set; }
    public int Commands { get; set; }
}

/// <summary>
/// The reports a schedule can send. The rollup reports and classroom use cover the seven days before
/// each sending; fleet health and app adoption are a picture of the sending's moment.
/// </summary>
public enum ScheduledReportKind
{
    Fleet,
    Classroom,
    BlockedSites,
    BlockedCategories,
    TopSites,
    TopApps,
    AppAdoption,
}

/// <summary>A report e-mailed weekly (the district's time zone) as a CSV attachment.</summary>
public sealed class ReportSchedule
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public ScheduledReportKind Report { get; set; }

    /// <summary>The report's filters (<see cref="ReportRequest"/> without dates) as JSON.</summary>
    public required string FiltersJson { get; set; }

    /// <summary>0 Sunday to 6 Saturday, as <see cref="System.DayOfWeek"/>.</summary>
    public int DayOfWeek { get; set; }

    /// <summary>The hour (0 to 23) in the district's time zone.</summary>
    public int Hour { get; set; }

    /// <summary>The addresses, one a line.</summary>
    public required string Recipients { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    /// <summary>The due time last claimed for sending: a due time at or before it is never sent again.</summary>
    public DateTime? LastDueAt { get; set; }
    public DateTime? LastSentAt { get; set; }
    public bool? LastSucceeded { get; set; }
    public string? LastResult { get; set; }
}

internal sealed class ClassUsageDayConfiguration : IEntityTypeConfiguration<ClassUsageDay>
{
    public void Configure(EntityTypeBuilder<ClassUsageDay> builder)
    {
        builder.ToTable("class_usage_days");
        builder.HasKey(u => new { u.GroupId, u.Day });
    }
}

internal sealed class ReportScheduleConfiguration : IEntityTypeConfiguration<ReportSchedule>
{
    public void Configure(EntityTypeBuilder<ReportSchedule> builder)
    {
        builder.ToTable("report_schedules");
        builder.Property(s => s.Report).HasConversion<LowerCaseEnumConverter<ScheduledReportKind>>();
    }
}
