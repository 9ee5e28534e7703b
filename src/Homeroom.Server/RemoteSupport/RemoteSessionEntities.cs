using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.RemoteSupport;

/// <summary>One remote support session: who, which device, how, whether the student consented, how long and how much.</summary>
public sealed class RemoteSessionRecord
{
    public Guid Id { get; set; }
    public Guid DeviceId { get; set; }
    public Guid? SchoolId { get; set; }
    public Guid? AccountId { get; set; }
    public required string TechnicianName { get; set; }
    /// <summary><c>view</c> or <c>control</c>.</summary>
    public required string Mode { get; set; }
    public bool ConsentRequired { get; set; }
    /// <summary><c>pending</c>, <c>accepted</c>, <c>declined</c> or <c>notice</c> (no consent was asked; the student was told).</summary>
    public required string Consent { get; set; }
    public DateTime StartedAt { get; set; }
    public DateTime? AnsweredAt { get; set; }
    public DateTime? EndedAt { get; set; }
    public string? EndReason { get; set; }
    /// <summary>Screen update bytes relayed to the technician.</summary>
    public long BytesSent { get; set; }
    public long FramesSent { get; set; }
    public long InputEvents { get; set; }
}

internal sealed class RemoteSessionConfiguration : IEntityTypeConfiguration<RemoteSessionRecord>
{
    public void Configure(EntityTypeBuilder<RemoteSessionRecord> builder) => builder.ToTable("remote_sessions");
}
