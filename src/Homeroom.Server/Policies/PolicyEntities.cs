using Homeroom.Rules.Policies;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Policies;

/// <summary>A named bundle of settings, stored as the grouped JSON document.</summary>
public sealed class Profile
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public required string SettingsJson { get; set; }

    /// <summary>The school whose administrators own it; null for a district profile.</summary>
    public Guid? SchoolId { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>A profile assigned to a scope, optionally on a schedule or by zone.</summary>
public sealed class PolicyAssignmentRecord
{
    public Guid Id { get; set; }
    public Guid ProfileId { get; set; }
    public ScopeLevel Level { get; set; }
    public string? ScopeKey { get; set; }
    public int Priority { get; set; }
    public string? ConditionJson { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>The policy version a device was last given, and what it reported back.</summary>
public sealed class DevicePolicy
{
    public Guid DeviceId { get; set; }
    public long Version { get; set; }
    public required string Hash { get; set; }
    public DateTime ComputedAt { get; set; }
    public long ReportedVersion { get; set; }
    public bool? ReportedApplied { get; set; }
    public string? ReportedFailures { get; set; }
    public DateTime? ReportedAt { get; set; }
}

internal sealed class ProfileConfiguration : IEntityTypeConfiguration<Profile>
{
    public void Configure(EntityTypeBuilder<Profile> builder) => builder.ToTable("profiles");
}

internal sealed class PolicyAssignmentConfiguration : IEntityTypeConfiguration<PolicyAssignmentRecord>
{
    public void Configure(EntityTypeBuilder<PolicyAssignmentRecord> builder)
    {
        builder.ToTable("policy_assignments");
        builder.Property(a => a.Level).HasConversion<int>();
    }
}

internal sealed class DevicePolicyConfiguration : IEntityTypeConfiguration<DevicePolicy>
{
    public void Configure(EntityTypeBuilder<DevicePolicy> builder)
    {
        builder.ToTable("device_policies");
        builder.HasKey(p => p.DeviceId);
    }
}
