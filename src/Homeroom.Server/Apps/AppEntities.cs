using Homeroom.Rules.Apps;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Apps;

/// <summary>One app of the district's catalog, with its identity on each platform.</summary>
public sealed class CatalogApp
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string Category { get; set; }
    public string? IconUrl { get; set; }
    public string? ChromeExtensionId { get; set; }
    public string? WebAppUrl { get; set; }
    public string? AppleAdamId { get; set; }
    public string? AppleBundleId { get; set; }
    public string? WindowsPackageId { get; set; }
    public string? AndroidPackage { get; set; }

    /// <summary>Licences bought; null for a free or unlicensed app.</summary>
    public int? LicensesPurchased { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    public AppIdentities Identities => new(ChromeExtensionId, WebAppUrl, AppleAdamId, AppleBundleId, WindowsPackageId, AndroidPackage);
}

/// <summary>An app assigned to the district, a school, a grade, a group or a device.</summary>
public sealed class AppAssignmentRecord
{
    public Guid Id { get; set; }
    public Guid AppId { get; set; }
    public AppIntent Intent { get; set; }
    public ScopeLevel Level { get; set; }
    public string? ScopeKey { get; set; }
    public DateTime CreatedAt { get; set; }
}

internal sealed class CatalogAppConfiguration : IEntityTypeConfiguration<CatalogApp>
{
    public void Configure(EntityTypeBuilder<CatalogApp> builder)
    {
        builder.ToTable("apps");
        builder.Ignore(a => a.Identities);
    }
}

internal sealed class AppAssignmentConfiguration : IEntityTypeConfiguration<AppAssignmentRecord>
{
    public void Configure(EntityTypeBuilder<AppAssignmentRecord> builder)
    {
        builder.ToTable("app_assignments");
        // Known to EF so an entry is inserted before its assignments in one save (the demo's seed).
        builder.HasOne<CatalogApp>().WithMany().HasForeignKey(a => a.AppId).OnDelete(DeleteBehavior.Cascade);
        builder.Property(a => a.Level).HasConversion<int>();
        builder.Property(a => a.Intent).HasConversion<LowerCaseEnumConverter<AppIntent>>();
    }
}
