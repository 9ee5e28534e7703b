using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Accounts;

internal sealed class StaffAccountConfiguration : IEntityTypeConfiguration<StaffAccount>
{
    public void Configure(EntityTypeBuilder<StaffAccount> builder)
    {
        builder.ToTable("staff_accounts");
        builder.Property(a => a.Role).HasConversion(
            role => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(role.ToString()),
            text => Enum.Parse<StaffRole>(text, true));
    }
}

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder) => builder.ToTable("api_keys");
}

internal sealed class StaffSessionConfiguration : IEntityTypeConfiguration<StaffSession>
{
    public void Configure(EntityTypeBuilder<StaffSession> builder) => builder.ToTable("staff_sessions");
}

internal sealed class StaffRecoveryCodeConfiguration : IEntityTypeConfiguration<StaffRecoveryCode>
{
    public void Configure(EntityTypeBuilder<StaffRecoveryCode> builder) => builder.ToTable("staff_recovery_codes");
}

internal sealed class StaffSecurityKeyConfiguration : IEntityTypeConfiguration<StaffSecurityKey>
{
    public void Configure(EntityTypeBuilder<StaffSecurityKey> builder) => builder.ToTable("staff_security_keys");
}

internal sealed class StaffSecurityKeyChallengeConfiguration : IEntityTypeConfiguration<StaffSecurityKeyChallenge>
{
    public void Configure(EntityTypeBuilder<StaffSecurityKeyChallenge> builder) => builder.ToTable("staff_security_key_challenges");
}
