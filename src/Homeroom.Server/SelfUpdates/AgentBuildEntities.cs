using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.SelfUpdates;

/// <summary>
/// One uploaded build of the desktop agent for one runtime: its program file is kept under the data directory by its
/// SHA-256 (<c>data/agent-updates/&lt;sha256&gt;</c>), and its manifest is signed once, at upload.
/// </summary>
public sealed class AgentBuild
{
    public Guid Id { get; set; }
    /// <summary>One of <see cref="Contracts.Agents.AgentUpdates.Runtimes"/>.</summary>
    public required string Rid { get; set; }
    /// <summary>MAJOR.MINOR.PATCH.</summary>
    public required string Version { get; set; }
    /// <summary>The program file's SHA-256, lower-case hex.</summary>
    public required string Sha256 { get; set; }
    public long Size { get; set; }
    /// <summary>The server's signature of <see cref="Contracts.Agents.AgentUpdates.Payload"/>, base64.</summary>
    public required string Signature { get; set; }
    /// <summary>Whether devices of this runtime are offered this build (at most one per runtime).</summary>
    public bool IsCurrent { get; set; }
    public required string UploadedBy { get; set; }
    public DateTime UploadedAt { get; set; }
}

internal sealed class AgentBuildConfiguration : IEntityTypeConfiguration<AgentBuild>
{
    public void Configure(EntityTypeBuilder<AgentBuild> builder) => builder.ToTable("agent_builds");
}

/// <summary>
/// A build offered to one group's devices before the district (at most one per runtime; never the current build): the
/// group's devices of the runtime's platform are offered it instead of the current build until it is promoted (made
/// current) or withdrawn.
/// </summary>
public sealed class AgentPilot
{
    public required string Rid { get; set; }
    public Guid BuildId { get; set; }

    /// <summary>The group whose devices (in the sense of <c>DeviceQueries.InGroup</c>) are the pilot, read again at each offer.</summary>
    public Guid GroupId { get; set; }

    /// <summary>The group's name when the pilot started (for the audit trail and the page).</summary>
    public required string GroupName { get; set; }
    public required string StartedBy { get; set; }
    public DateTime StartedAt { get; set; }
}

internal sealed class AgentPilotConfiguration : IEntityTypeConfiguration<AgentPilot>
{
    public void Configure(EntityTypeBuilder<AgentPilot> builder)
    {
        builder.ToTable("agent_pilots");
        builder.HasKey(p => p.Rid);
    }
}
