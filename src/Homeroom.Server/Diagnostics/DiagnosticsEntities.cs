using Homeroom.Server.Commands;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Diagnostics;

/// <summary>One diagnostics report a device answered to a <c>diagnose</c> command.</summary>
public sealed class DeviceDiagnosticsRecord : ICommandAnswer
{
    public Guid Id { get; set; }
    public Guid DeviceId { get; set; }
    public Guid CommandId { get; set; }
    /// <summary><c>agent</c> (a diagnostics frame) or <c>apple</c> (a DeviceInformation answer).</summary>
    public required string Source { get; set; }
    public required string RequestedBy { get; set; }
    public DateTime RequestedAt { get; set; }
    public DateTime ReceivedAt { get; set; }
    /// <summary>How many of the report's checks failed (<see cref="DiagnosticsChecks"/>), for lists.</summary>
    public int FailedChecks { get; set; }
    /// <summary>The <see cref="Contracts.Agents.DiagnosticsReport"/> as JSON.</summary>
    public required string ReportJson { get; set; }
}

internal sealed class DeviceDiagnosticsConfiguration : IEntityTypeConfiguration<DeviceDiagnosticsRecord>
{
    public void Configure(EntityTypeBuilder<DeviceDiagnosticsRecord> builder) => builder.ToTable("device_diagnostics");
}
