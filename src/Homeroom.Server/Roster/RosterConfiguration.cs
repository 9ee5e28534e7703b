using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Roster;

internal sealed class DistrictConfiguration : IEntityTypeConfiguration<District>
{
    public void Configure(EntityTypeBuilder<District> builder) => builder.ToTable("district");
}

internal sealed class DistrictSettingConfiguration : IEntityTypeConfiguration<DistrictSetting>
{
    public void Configure(EntityTypeBuilder<DistrictSetting> builder)
    {
        builder.ToTable("district_settings");
        builder.HasKey(s => s.Name);
    }
}

internal sealed class SchoolConfiguration : IEntityTypeConfiguration<School>
{
    public void Configure(EntityTypeBuilder<School> builder) => builder.ToTable("schools");
}

internal sealed class GroupConfiguration : IEntityTypeConfiguration<Group>
{
    public void Configure(EntityTypeBuilder<Group> builder)
    {
        builder.ToTable("groups");
        builder.Property(g => g.Kind).HasConversion<LowerCaseEnumConverter<GroupKind>>();
    }
}

internal sealed class PersonConfiguration : IEntityTypeConfiguration<Person>
{
    public void Configure(EntityTypeBuilder<Person> builder)
    {
        builder.ToTable("people");
        builder.Property(p => p.Kind).HasConversion<LowerCaseEnumConverter<PersonKind>>();
    }
}

internal sealed class GroupMemberConfiguration : IEntityTypeConfiguration<GroupMember>
{
    public void Configure(EntityTypeBuilder<GroupMember> builder)
    {
        builder.ToTable("group_members");
        builder.HasKey(m => new { m.GroupId, m.PersonId });
    }
}

internal sealed class GroupDeviceConfiguration : IEntityTypeConfiguration<GroupDevice>
{
    public void Configure(EntityTypeBuilder<GroupDevice> builder)
    {
        builder.ToTable("group_devices");
        builder.HasKey(m => new { m.GroupId, m.DeviceId });
    }
}
