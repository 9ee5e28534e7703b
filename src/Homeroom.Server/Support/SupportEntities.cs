using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Support;

/// <summary>
/// A student's request for help from their device: with the teacher of the class in session when it
/// came (<see cref="GroupId"/>), or in the school's IT queue. Statuses are <see cref="Contracts.Agents.HelpStatuses"/>.
/// </summary>
public sealed class HelpRequest
{
    public Guid Id { get; set; }
    public Guid DeviceId { get; set; }
    /// <summary>The agent's own id for the request (a resend of the same frame is stored once).</summary>
    public Guid ClientId { get; set; }
    /// <summary>The student the device was assigned to when they asked.</summary>
    public Guid? PersonId { get; set; }
    public Guid? SchoolId { get; set; }
    /// <summary>The class in session it was routed to; null when it went straight to the IT queue.</summary>
    public Guid? GroupId { get; set; }
    public string? Note { get; set; }
    public bool HasScreenshot { get; set; }
    public required string Status { get; set; }
    public Guid? AssignedToId { get; set; }
    public string? AssignedToName { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
    /// <summary>When it was resolved (retention counts from here).</summary>
    public DateTime? ResolvedAt { get; set; }
}

/// <summary>The JPEG a student chose to attach, kept apart so lists never read it.</summary>
public sealed class HelpScreenshot
{
    public Guid RequestId { get; set; }
    public required byte[] Content { get; set; }
}

/// <summary>One entry of a request's thread: created, assigned, escalated, resolved, or a note.</summary>
public sealed class HelpRequestEvent
{
    public Guid Id { get; set; }
    public Guid RequestId { get; set; }
    public DateTime At { get; set; }
    public required string Actor { get; set; }
    /// <summary>created, assigned, escalated, resolved, note.</summary>
    public required string Kind { get; set; }
    public string? Status { get; set; }
    public string? Text { get; set; }
}

internal sealed class HelpRequestConfiguration : IEntityTypeConfiguration<HelpRequest>
{
    public void Configure(EntityTypeBuilder<HelpRequest> builder) => builder.ToTable("help_requests");
}

internal sealed class HelpScreenshotConfiguration : IEntityTypeConfiguration<HelpScreenshot>
{
    public void Configure(EntityTypeBuilder<HelpScreenshot> builder)
    {
        builder.ToTable("help_screenshots");
        builder.HasKey(s => s.RequestId);

        // Declared so that EF inserts the request before its screenshot.
        builder.HasOne<HelpRequest>().WithOne().HasForeignKey<HelpScreenshot>(s => s.RequestId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class HelpRequestEventConfiguration : IEntityTypeConfiguration<HelpRequestEvent>
{
    public void Configure(EntityTypeBuilder<HelpRequestEvent> builder)
    {
        builder.ToTable("help_request_events");

        // Declared so that EF inserts the request before its thread.
        builder.HasOne<HelpRequest>().WithMany().HasForeignKey(e => e.RequestId).OnDelete(DeleteBehavior.Cascade);
    }
}
