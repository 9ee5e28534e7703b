using Homeroom.Rules.Updates;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Updates;

/// <summary>
/// The platforms a rollout targets: <c>ios</c> covers iPhones and iPads (iPadOS shares iOS's versions);
/// <c>windows</c> and <c>linux</c> are updated by the desktop agent.
/// </summary>
public enum UpdatePlatform
{
    Ios,
    MacOS,
    ChromeOS,
    Windows,
    Linux,
}

/// <summary>An OS update rollout: one platform to a target version, ring by ring.</summary>
public sealed class UpdateRollout
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public UpdatePlatform Platform { get; set; }
    public required string TargetVersion { get; set; }
    public RolloutState State { get; set; }

    /// <summary>The position of the ring that is updating.</summary>
    public int CurrentRing { get; set; }

    /// <summary>Why it is paused or stopped, in words an administrator understands.</summary>
    public string? PauseReason { get; set; }

    /// <summary>What the last evaluation said about the current ring (waiting for what, soaking how long).</summary>
    public string? StatusText { get; set; }

    /// <summary>A device is reporting when it checked in within this many hours.</summary>
    public int CheckInHours { get; set; }
    public DateTime? ResumedAt { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    /// <summary>When the last evaluation pass claimed it (a conditional update: one server applies each pass).</summary>
    public DateTime? EvaluatedAt { get; set; }

    /// <summary>When it was stopped or done; retention counts from here.</summary>
    public DateTime? FinishedAt { get; set; }

    public List<UpdateRing> Rings { get; set; } = [];
}

/// <summary>One ring of a rollout: an existing group with its gate, its phase and the counts of its last evaluation.</summary>
public sealed class UpdateRing
{
    public Guid RolloutId { get; set; }
    public int Position { get; set; }

    /// <summary>The group whose devices (in the sense of <c>DeviceQueries.InGroup</c>) of the rollout's platform form the ring, at each evaluation.</summary>
    public Guid GroupId { get; set; }

    /// <summary>The ring's name (the group's when created), kept when the group is renamed or deleted.</summary>
    public required string Name { get; set; }
    public int RequiredPercent { get; set; }
    public int SoakMinutes { get; set; }
    public DateTime? Deadline { get; set; }
    public RingPhase Phase { get; set; }
    public DateTime? StartedAt { get; set; }
    public DateTime? SoakStartedAt { get; set; }
    public DateTime? PassedAt { get; set; }
    public int Devices { get; set; }
    public int AtTarget { get; set; }
    public int HealthyAtTarget { get; set; }
}

internal sealed class UpdateRolloutConfiguration : IEntityTypeConfiguration<UpdateRollout>
{
    public void Configure(EntityTypeBuilder<UpdateRollout> builder)
    {
        builder.ToTable("update_rollouts");
        builder.Property(r => r.Platform).HasConversion<LowerCaseEnumConverter<UpdatePlatform>>();
        builder.Property(r => r.State).HasConversion<LowerCaseEnumConverter<RolloutState>>();
        // An administrator's action and an evaluation pass never both write from the same reading: the later save fails.
        builder.Property(r => r.UpdatedAt).IsConcurrencyToken();
        builder.Property(r => r.EvaluatedAt).IsConcurrencyToken();
        builder.HasMany(r => r.Rings).WithOne().HasForeignKey(r => r.RolloutId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class UpdateRingConfiguration : IEntityTypeConfiguration<UpdateRing>
{
    public void Configure(EntityTypeBuilder<UpdateRing> builder)
    {
        builder.ToTable("update_rings");
        builder.HasKey(r => new { r.RolloutId, r.Position });
        builder.Property(r => r.Phase).HasConversion<LowerCaseEnumConverter<RingPhase>>();
    }
}
