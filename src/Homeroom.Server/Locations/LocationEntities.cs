using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Locations;

/// <summary>A named area: a campus, a home area, the district boundary.</summary>
public sealed class Zone
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    /// <summary>campus, home, district or other.</summary>
    public required string Kind { get; set; }
    public Guid? SchoolId { get; set; }
    /// <summary>The GeoJSON geometry (Polygon or MultiPolygon) or a circle Feature, as validated.</summary>
    public required string GeometryJson { get; set; }
    /// <summary>Public ranges of the school's internet connections (JSON array of CIDRs), matched against the address the server sees; null for none.</summary>
    public string? PublicRangesJson { get; set; }
    /// <summary>Local ranges (JSON array of CIDRs), matched against the local address a device reports; null for none.</summary>
    public string? LocalRangesJson { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>One reported location fix, kept for the track on the map until retention removes it.</summary>
public sealed class DeviceLocation
{
    public long Id { get; set; }
    public Guid DeviceId { get; set; }
    public DateTime At { get; set; }
    public double Latitude { get; set; }
    public double Longitude { get; set; }
    public double AccuracyMeters { get; set; }
}

/// <summary>Something staff should look at, such as a device out of bounds.</summary>
public sealed class Alert
{
    public Guid Id { get; set; }
    public required string Kind { get; set; }
    public Guid DeviceId { get; set; }
    public DateTime RaisedAt { get; set; }
    /// <summary>When the condition ended on its own (the device came back in bounds).</summary>
    public DateTime? ClearedAt { get; set; }
    public double? Latitude { get; set; }
    public double? Longitude { get; set; }
    public string? Details { get; set; }
    public string? AcknowledgedBy { get; set; }
    public DateTime? AcknowledgedAt { get; set; }
    /// <summary>What the acknowledging staff member wrote (what they did about it); at most <see cref="AlertDirectory.MaxNoteLength"/> characters.</summary>
    public string? AcknowledgementNote { get; set; }
}

internal sealed class ZoneConfiguration : IEntityTypeConfiguration<Zone>
{
    public void Configure(EntityTypeBuilder<Zone> builder) => builder.ToTable("zones");
}

internal sealed class DeviceLocationConfiguration : IEntityTypeConfiguration<DeviceLocation>
{
    public void Configure(EntityTypeBuilder<DeviceLocation> builder) => builder.ToTable("device_locations");
}

internal sealed class AlertConfiguration : IEntityTypeConfiguration<Alert>
{
    public void Configure(EntityTypeBuilder<Alert> builder) => builder.ToTable("alerts");
}
