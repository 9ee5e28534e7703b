using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Commands;

internal sealed class CommandConfiguration : IEntityTypeConfiguration<Command>
{
    public void Configure(EntityTypeBuilder<Command> builder) => builder.ToTable("commands");
}

internal sealed class CommandDeliveryConfiguration : IEntityTypeConfiguration<CommandDelivery>
{
    public void Configure(EntityTypeBuilder<CommandDelivery> builder)
    {
        builder.ToTable("command_deliveries");
        builder.HasKey(d => new { d.CommandId, d.DeviceId });
        builder.Property(d => d.Status).HasConversion<short>();
    }
}
