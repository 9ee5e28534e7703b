using Homeroom.Server.Commands;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Scripts;

/// <summary>A script of the district's library; what it says is in its versions (<see cref="ScriptVersion"/>).</summary>
public sealed class Script
{
    public Guid Id { get; set; }
    /// <summary>The newest version: the only one that may run, once approved.</summary>
    public int LatestVersion { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; }
}

/// <summary>One version of a script. Never changed once written, except by its approval (who, when, and the signature).</summary>
public sealed class ScriptVersion
{
    public Guid ScriptId { get; set; }
    public int Version { get; set; }
    public required string Name { get; set; }
    public required string Description { get; set; }
    /// <summary><see cref="Contracts.Agents.ScriptPlatforms"/>.</summary>
    public required string Platform { get; set; }
    public required string Body { get; set; }
    /// <summary>The body's SHA-256 (UTF-8), lower-case hex.</summary>
    public required string Sha256 { get; set; }
    public int TimeLimitSeconds { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAt { get; set; }
    public string? ApprovedBy { get; set; }
    public DateTime? ApprovedAt { get; set; }
    /// <summary>The server's signature of <see cref="Contracts.Agents.ScriptSigning.Payload"/>, base64; set on approval.</summary>
    public string? Signature { get; set; }
}

/// <summary>What one device answered to one <c>runScript</c> command.</summary>
public sealed class ScriptResult : ICommandAnswer
{
    public Guid Id { get; set; }
    public Guid DeviceId { get; set; }
    public Guid CommandId { get; set; }
    public Guid ScriptId { get; set; }
    public int Version { get; set; }
    public required string ScriptName { get; set; }
    public required string RequestedBy { get; set; }
    public DateTime RequestedAt { get; set; }
    public DateTime ReceivedAt { get; set; }
    public int? ExitCode { get; set; }
    public bool TimedOut { get; set; }
    public int Milliseconds { get; set; }
    public required string Stdout { get; set; }
    public required string Stderr { get; set; }
    public bool OutputTruncated { get; set; }
}

internal sealed class ScriptConfiguration : IEntityTypeConfiguration<Script>
{
    public void Configure(EntityTypeBuilder<Script> builder) => builder.ToTable("scripts");
}

internal sealed class ScriptVersionConfiguration : IEntityTypeConfiguration<ScriptVersion>
{
    public void Configure(EntityTypeBuilder<ScriptVersion> builder)
    {
        builder.ToTable("script_versions");
        builder.HasKey(v => new { v.ScriptId, v.Version });
        // Known to EF so a new script's row is inserted before its first version's.
        builder.HasOne<Script>().WithMany().HasForeignKey(v => v.ScriptId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class ScriptResultConfiguration : IEntityTypeConfiguration<ScriptResult>
{
    public void Configure(EntityTypeBuilder<ScriptResult> builder) => builder.ToTable("script_results");
}
