using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Classroom;

/// <summary>A class group's weekly schedule and term, as JSON (<see cref="ClassScheduleDto"/>).</summary>
public sealed class ClassScheduleRecord
{
    public Guid GroupId { get; set; }
    public required string ScheduleJson { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>An ad-hoc session a teacher started; ending it early moves <see cref="EndsAt"/> to then.</summary>
public sealed class ClassSessionRecord
{
    public Guid Id { get; set; }
    public Guid GroupId { get; set; }
    public DateTime StartsAt { get; set; }
    public DateTime EndsAt { get; set; }
    public required string StartedBy { get; set; }
}

internal sealed class ClassScheduleConfiguration : IEntityTypeConfiguration<ClassScheduleRecord>
{
    public void Configure(EntityTypeBuilder<ClassScheduleRecord> builder)
    {
        builder.ToTable("class_schedules");
        builder.HasKey(s => s.GroupId);
    }
}

internal sealed class ClassSessionConfiguration : IEntityTypeConfiguration<ClassSessionRecord>
{
    public void Configure(EntityTypeBuilder<ClassSessionRecord> builder) => builder.ToTable("class_sessions");
}
