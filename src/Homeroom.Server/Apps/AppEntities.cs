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

    /// <summary>A Debian package name (the desktop agent on Linux).</summary>
    public string? LinuxPackage { get; set; }

    /// <summary>The receipt id of the catalog's Mac package (<c>com.example.app.pkg</c>), which the desktop agent installs on Macs; with <see cref="MacPackageUrl"/> and <see cref="MacPackageSha256"/>.</summary>
    public string? MacPackageId { get; set; }

    /// <summary>The https URL the Mac package is downloaded from.</summary>
    public string? MacPackageUrl { get; set; }

    /// <summary>The Mac package's SHA-256 (64 lower-case hex characters), checked before anything is run.</summary>
    public string? MacPackageSha256 { get; set; }

    /// <summary>The app bundle the Mac package installs (<c>/Applications/Foo.app</c>), moved away on removal and whose programs are blocked; optional.</summary>
    public string? MacAppPath { get; set; }

    /// <summary>That bundle's id (CFBundleIdentifier), checked before the bundle is moved away; optional.</summary>
    public string? MacAppBundleId { get; set; }

    /// <summary>The Windows programs (<c>steam.exe</c>) the desktop agent stops from starting when the app is blocked, one per line, lower case.</summary>
    public string? WindowsExecutables { get; set; }

    /// <summary><see cref="WindowsExecutables"/> as a list.</summary>
    public IReadOnlyList<string> WindowsExecutableList => WindowsExecutables?.Split('\n', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>Licences bought; null for a free or unlicensed app.</summary>
    public int? LicensesPurchased { get; set; }

    /// <summary>Licences devices hold (<see cref="AppLicenceLedger"/>): never negative, never raised past <see cref="LicensesPurchased"/>.</summary>
    public int LicensesInUse { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    public AppIdentities Identities => new(ChromeExtensionId, WebAppUrl, AppleAdamId, AppleBundleId, WindowsPackageId, AndroidPackage, LinuxPackage, MacPackageId);
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

/// <summary>Where one app stands on one device (<see cref="AppInstallReconciler"/> keeps these in line with the device's effective apps).</summary>
public sealed class AppDeviceStatus
{
    public Guid DeviceId { get; set; }
    public Guid AppId { get; set; }

    /// <summary>The effective intent the row follows (required or blocked).</summary>
    public AppIntent Intent { get; set; }
    public AppInstallState State { get; set; }

    /// <summary>The platform's reason for a failure, or why nothing can act; in words an admin can act on.</summary>
    public string? Reason { get; set; }

    /// <summary>Whether the device holds one of the app's licences (counted in <see cref="CatalogApp.LicensesInUse"/>).</summary>
    public bool HoldsLicence { get; set; }

    /// <summary>Failed attempts since the last success; the back-off grows with it.</summary>
    public int Attempts { get; set; }

    /// <summary>Not retried before this time.</summary>
    public DateTime? NextAttemptAt { get; set; }

    /// <summary>
    /// Whether MDM manages the app on the device (an iPad's ManagedApplicationList, or Homeroom's own install
    /// confirmed); null while unknown. An unsupervised iPad lets MDM remove only the apps it manages.
    /// </summary>
    public bool? Managed { get; set; }

    /// <summary>The MDM command (install, remove or app list) the row is waiting for.</summary>
    public Guid? CommandId { get; set; }

    /// <summary>A Mac package's SHA-256 as the row's last install command carried it (the catalog's at the time it was sent); null for other apps.</summary>
    public string? PackageSha256 { get; set; }

    /// <summary>
    /// The Mac package's SHA-256 the device confirmed installing (<see cref="PackageSha256"/> once installed). A required Mac
    /// package whose catalog hash differs is installed again: the catalog's URL or package changed.
    /// </summary>
    public string? InstalledSha256 { get; set; }
    public DateTime UpdatedAt { get; set; }
}

internal sealed class AppDeviceStatusConfiguration : IEntityTypeConfiguration<AppDeviceStatus>
{
    public void Configure(EntityTypeBuilder<AppDeviceStatus> builder)
    {
        builder.ToTable("app_device_status");
        builder.HasKey(s => new { s.DeviceId, s.AppId });
        builder.Property(s => s.Intent).HasConversion<LowerCaseEnumConverter<AppIntent>>();
        builder.Property(s => s.State).HasConversion(s => AppInstallStates.Name(s), s => AppInstallStates.Parse(s));
    }
}
