using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Devices;

internal sealed class DeviceConfiguration : IEntityTypeConfiguration<Device>
{
    public void Configure(EntityTypeBuilder<Device> builder)
    {
        builder.ToTable("devices");
        builder.Property(d => d.Platform).HasConversion<LowerCaseEnumConverter<DevicePlatform>>();
        builder.Property(d => d.State).HasConversion<LowerCaseEnumConverter<DeviceState>>();
    }
}

internal sealed class DeviceAppConfiguration : IEntityTypeConfiguration<DeviceApp>
{
    public void Configure(EntityTypeBuilder<DeviceApp> builder)
    {
        builder.ToTable("device_apps");
        builder.HasKey(a => new { a.DeviceId, a.Source, a.AppId });
    }
}

internal sealed class DeviceRepairConfiguration : IEntityTypeConfiguration<DeviceRepair>
{
    public void Configure(EntityTypeBuilder<DeviceRepair> builder) => builder.ToTable("device_repairs");
}
