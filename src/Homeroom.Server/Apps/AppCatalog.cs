using Homeroom.Rules.Apps;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apps;

/// <summary>A catalog entry as written: a name, a category and at least one platform identity.</summary>
/// <param name="Name">Shown in the console (unique).</param>
/// <param name="Category">One of <see cref="AppCatalog.Categories"/>.</param>
/// <param name="IconUrl">An https image URL, optional.</param>
/// <param name="ChromeExtensionId">32 letters a–p.</param>
/// <param name="WebAppUrl">An https URL, for a web app on Chromebooks.</param>
/// <param name="AppleAdamId">The App Store id (digits), with <paramref name="AppleBundleId"/>.</param>
/// <param name="AppleBundleId">The bundle id (reverse DNS), with <paramref name="AppleAdamId"/>.</param>
/// <param name="WindowsPackageId">A winget id, Store product id or package family name.</param>
/// <param name="AndroidPackage">The Android package name (recorded for later).</param>
/// <param name="LicensesPurchased">Licences bought; none for a free app.</param>
/// <param name="LinuxPackage">A Debian package name, which the desktop agent installs with apt on Linux.</param>
/// <param name="WindowsExecutables">
/// The file names of the Windows package's programs (<c>steam.exe</c>), which the desktop agent stops from starting while
/// the app is blocked; with <paramref name="WindowsPackageId"/>, at most <see cref="AppIdentity.MaxWindowsExecutables"/>.
/// </param>
/// <param name="MacPackage">The Mac package the desktop agent installs on Macs that run it (App Store apps stay with Apple MDM).</param>
public sealed record AppRequest(
    string? Name, string? Category, string? IconUrl, string? ChromeExtensionId, string? WebAppUrl,
    string? AppleAdamId, string? AppleBundleId, string? WindowsPackageId, string? AndroidPackage, int? LicensesPurchased, string? LinuxPackage = null,
    IReadOnlyList<string?>? WindowsExecutables = null, MacPackageIdentity? MacPackage = null);

/// <summary>
/// A catalog entry's Mac package: a flat <c>.pkg</c> the desktop agent downloads over https, checks against its SHA-256 and
/// installs with <c>installer</c>, and removes by moving its app bundle away and forgetting its receipt.
/// </summary>
/// <param name="PackageId">The receipt id <c>pkgutil --pkgs</c> lists once it is installed (<c>com.example.app.pkg</c>).</param>
/// <param name="Url">The https URL the package is downloaded from.</param>
/// <param name="Sha256">The package's SHA-256, 64 hex characters.</param>
/// <param name="AppPath">Optional: the app bundle the package installs (<c>/Applications/Foo.app</c>).</param>
/// <param name="BundleId">Optional: that bundle's id, checked before the bundle is moved away.</param>
public sealed record MacPackageIdentity(string? PackageId, string? Url, string? Sha256, string? AppPath = null, string? BundleId = null);

/// <summary>
/// A catalog entry. <c>ChromeForceInstall</c> is the ExtensionInstallForcelist line for Google Admin, when it is a Chrome extension;
/// <c>Status</c> counts its devices by status (among the devices you may see) and its licences in use.
/// </summary>
public sealed record AppDto(
    Guid Id, string Name, string Category, string? IconUrl, string? ChromeExtensionId, string? WebAppUrl,
    string? AppleAdamId, string? AppleBundleId, string? WindowsPackageId, string? AndroidPackage, int? LicensesPurchased,
    string? ChromeForceInstall, int Assignments, DateTime CreatedAt, DateTime UpdatedAt, AppStatusCounts Status, string? LinuxPackage,
    IReadOnlyList<string> WindowsExecutables, MacPackageIdentity? MacPackage = null);

/// <summary>
/// The district's app catalog. Everyone who reads policies reads it; only district administrators
/// (<see cref="Permission.ManageAppCatalog"/>) add, change and remove entries, each change audited.
/// Every identity is checked for its platform (<see cref="AppIdentity"/>) before anything is stored.
/// </summary>
public sealed class AppCatalog(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor distributor, TimeProvider time, AppInstallReconciler installs,
    IVolumePurchaseLicences volume, ILogger<AppCatalog> logger)
{
    public const int MaxNameLength = 100;

    /// <summary>The largest request body the catalog and assignment endpoints read (an entry is well under 8 KB).</summary>
    public const long MaxBodyBytes = 32 * 1024;

    /// <summary>The most licences an entry may record.</summary>
    public const int MaxLicenses = 1_000_000;

    /// <summary>The longest list answered at once.</summary>
    public const int MaxList = 1000;

    /// <summary>The categories an entry may have.</summary>
    public static readonly IReadOnlyList<string> Categories =
        ["education", "productivity", "reference", "creativity", "communication", "accessibility", "assessment", "utilities", "games", "other"];

    public async Task<List<AppDto>> ListAsync(StaffScope scope, string? search, string? category, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = db.Set<CatalogApp>().AsNoTracking();
        if (!string.IsNullOrWhiteSpace(search))
        {
            var text = search.Trim().ToLower();
            query = query.Where(a => a.Name.ToLower().Contains(text) || (a.AppleBundleId != null && a.AppleBundleId.ToLower().Contains(text))
                || (a.ChromeExtensionId != null && a.ChromeExtensionId.Contains(text)));
        }

        if (!string.IsNullOrWhiteSpace(category))
        {
            query = query.Where(a => a.Category == category);
        }

        var apps = await query.OrderBy(a => a.Name).Take(MaxList).ToListAsync(cancellationToken);
        var ids = apps.Select(a => a.Id).ToList();
        var counts = await db.Set<AppAssignmentRecord>().Where(a => ids.Contains(a.AppId)).GroupBy(a => a.AppId)
            .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        var status = await AppInstallStatuses.CountsAsync(scope, db, ids, cancellationToken);
        return apps.Select(a => ToDto(a, counts.GetValueOrDefault(a.Id), status.GetValueOrDefault(a.Id))).ToList();
    }

    /// <summary>One entry; null when there is none.</summary>
    public async Task<AppDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var app = await db.Set<CatalogApp>().AsNoTracking().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        return app is null
            ? null
            : ToDto(app, await db.Set<AppAssignmentRecord>().CountAsync(a => a.AppId == id, cancellationToken),
                (await AppInstallStatuses.CountsAsync(scope, db, [id], cancellationToken)).GetValueOrDefault(id));
    }

    public async Task<AppDto> CreateAsync(StaffScope scope, AppRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageAppCatalog);
        var now = time.GetUtcNow().UtcDateTime;
        var app = new CatalogApp { Id = Guid.CreateVersion7(), Name = "", Category = "", CreatedAt = now, UpdatedAt = now };
        Fill(app, request);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await EnsureUniqueAsync(db, app, cancellationToken);
        db.Add(app);
        audit.Record(db, "app.create", "app", app.Id.ToString(), Describe(app));
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        installs.Nudge();
        return ToDto(app, 0);
    }

    /// <summary>Changes an entry; null when there is none.</summary>
    public async Task<AppDto?> UpdateAsync(StaffScope scope, Guid id, AppRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageAppCatalog);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var app = await db.Set<CatalogApp>().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (app is null)
        {
            return null;
        }

        Fill(app, request);
        app.UpdatedAt = time.GetUtcNow().UtcDateTime;
        await EnsureUniqueAsync(db, app, cancellationToken);
        audit.Record(db, "app.update", "app", app.Id.ToString(), Describe(app));
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        installs.Nudge();
        return ToDto(app, await db.Set<AppAssignmentRecord>().CountAsync(a => a.AppId == id, cancellationToken));
    }

    /// <summary>Removes an entry and its assignments; false when there is none.</summary>
    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageAppCatalog);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var app = await db.Set<CatalogApp>().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (app is null)
        {
            return false;
        }

        var assignments = await db.Set<AppAssignmentRecord>().Where(a => a.AppId == id).ToListAsync(cancellationToken);
        // The devices holding its licences: the local count goes with the entry (and its status rows), Apple's below.
        var holders = app.AppleAdamId is null ? [] : await (
            from s in db.Set<AppDeviceStatus>()
            join d in db.Devices on s.DeviceId equals d.Id
            where s.AppId == id && s.HoldsLicence
            select d.Serial).ToListAsync(cancellationToken);
        db.RemoveRange(assignments);
        db.Remove(app);
        audit.Record(db, "app.delete", "app", id.ToString(), $"{app.Name} with {assignments.Count} assignment(s)");
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        installs.Nudge();
        foreach (var serial in holders)
        {
            // After the commit, so a slow or refusing Apple never keeps the entry; a refusal leaves Apple's assignment to its admins.
            var answer = await volume.ReleaseAsync(app.AppleAdamId!, serial, cancellationToken);
            if (answer.Outcome != VolumeLicenceOutcome.Done)
            {
                AppsLog.ReleaseRefused(logger, id, serial, answer.Outcome, answer.Reason);
            }
        }

        return true;
    }

    /// <summary>Checks a request and copies it onto the entry; refuses the whole request on any bad field.</summary>
    internal static void Fill(CatalogApp app, AppRequest request)
    {
        var name = request.Name?.Trim();
        var validation = new Validation().Required("name", name, MaxNameLength);
        var category = request.Category?.Trim().ToLowerInvariant();
        validation.Check(category is not null && Categories.Contains(category), "category", $"One of {string.Join(", ", Categories)}.");
        var mac = request.MacPackage is { } m
            ? new MacPackageIdentity(Blank(m.PackageId), Blank(m.Url), Blank(m.Sha256)?.ToLowerInvariant(), Blank(m.AppPath), Blank(m.BundleId))
            : null;
        mac = mac == new MacPackageIdentity(null, null, null) ? null : mac;
        var ids = new AppIdentities(Blank(request.ChromeExtensionId), Blank(request.WebAppUrl), Blank(request.AppleAdamId), Blank(request.AppleBundleId),
            Blank(request.WindowsPackageId), Blank(request.AndroidPackage), Blank(request.LinuxPackage), mac?.PackageId);
        var icon = Blank(request.IconUrl);
        var executables = (request.WindowsExecutables ?? []).Select(Blank).ToList();
        validation
            .Check(icon is null || AppIdentity.IsWebAppUrl(icon), "iconUrl", $"An https URL of at most {AppIdentity.MaxUrlLength} characters.")
            .Check(ids.ChromeExtensionId is null || AppIdentity.IsChromeExtensionId(ids.ChromeExtensionId), "chromeExtensionId",
                "A Chrome extension id is 32 lower-case letters from a to p (as in the Chrome Web Store address).")
            .Check(ids.WebAppUrl is null || AppIdentity.IsWebAppUrl(ids.WebAppUrl), "webAppUrl", $"An https URL of at most {AppIdentity.MaxUrlLength} characters.")
            .Check(ids.AppleAdamId is null || AppIdentity.IsAdamId(ids.AppleAdamId), "appleAdamId",
                $"The App Store id: digits only (the number after \"id\" in the App Store address), at most {AppIdentity.MaxAdamIdDigits}.")
            .Check(ids.AppleBundleId is null || AppIdentity.IsBundleId(ids.AppleBundleId), "appleBundleId",
                $"A bundle id in reverse-DNS form (com.example.App): letters, digits and hyphens between dots, at most {AppIdentity.MaxBundleIdLength} characters.")
            .Check((ids.AppleAdamId is null) == (ids.AppleBundleId is null), ids.AppleAdamId is null ? "appleAdamId" : "appleBundleId",
                "An App Store app needs both its App Store id (to install it) and its bundle id (to block it and read its status).")
            .Check(ids.WindowsPackageId is null || AppIdentity.IsWindowsPackageId(ids.WindowsPackageId), "windowsPackageId",
                $"A winget id, Store product id or package family name: letters, digits, dots, hyphens and underscores, at most {AppIdentity.MaxWindowsPackageIdLength}.")
            .Check(ids.AndroidPackage is null || AppIdentity.IsAndroidPackage(ids.AndroidPackage), "androidPackage",
                "An Android package name (com.example.app): parts starting with a letter, of letters, digits and underscores.")
            .Check(ids.LinuxPackage is null || AppIdentity.IsLinuxPackage(ids.LinuxPackage), "linuxPackage",
                $"A Debian package name: at least two lower-case letters, digits, '+', '-' and '.', starting with a letter or digit, at most {AppIdentity.MaxLinuxPackageLength}.")
            .Check(executables.Count <= AppIdentity.MaxWindowsExecutables && executables.All(AppIdentity.IsWindowsExecutable), "windowsExecutables",
                $"At most {AppIdentity.MaxWindowsExecutables} program file names such as steam.exe: letters, digits, spaces, dots, hyphens, underscores, brackets and '+', ending in .exe, at most {AppIdentity.MaxWindowsExecutableLength} characters, no folder.")
            .Check(executables.Count == 0 || ids.WindowsPackageId is not null, "windowsExecutables", "Windows programs belong to the app's Windows package: give its windowsPackageId too.")
            .Check(mac?.PackageId is null || AppIdentity.IsMacPackageId(mac.PackageId), "macPackage.packageId",
                $"The package id pkgutil --pkgs lists for it (com.example.app.pkg): letters, digits, hyphens and underscores between dots, at most {AppIdentity.MaxMacPackageIdLength}.")
            .Check(mac?.Url is null || AppIdentity.IsPackageUrl(mac.Url), "macPackage.url", $"An https URL of at most {AppIdentity.MaxUrlLength} characters.")
            .Check(mac?.Sha256 is null || AppIdentity.IsSha256(mac.Sha256), "macPackage.sha256", $"The package's SHA-256: {AppIdentity.Sha256HexLength} hex characters (shasum -a 256 prints it).")
            .Check(mac is null || (mac.PackageId is not null && mac.Url is not null && mac.Sha256 is not null), "macPackage",
                "A Mac package needs its package id, its https URL and its SHA-256.")
            .Check(mac?.AppPath is null || AppIdentity.IsMacAppPath(mac.AppPath), "macPackage.appPath",
                $"The app bundle it installs, under /Applications and ending in .app (/Applications/Foo.app), at most {AppIdentity.MaxMacAppPathLength} characters.")
            .Check(mac?.BundleId is null || AppIdentity.IsBundleId(mac.BundleId), "macPackage.bundleId",
                $"A bundle id in reverse-DNS form (com.example.App): letters, digits and hyphens between dots, at most {AppIdentity.MaxBundleIdLength} characters.")
            .Check(ids != new AppIdentities(null, null, null, null, null, null, null), "chromeExtensionId", "Give the app's identity on at least one platform.")
            .Range("licensesPurchased", request.LicensesPurchased, 0, MaxLicenses);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        app.Name = name!;
        app.Category = category!;
        app.IconUrl = icon;
        (app.ChromeExtensionId, app.WebAppUrl, app.AppleAdamId, app.AppleBundleId, app.WindowsPackageId, app.AndroidPackage, app.LinuxPackage) =
            (ids.ChromeExtensionId, ids.WebAppUrl, ids.AppleAdamId, ids.AppleBundleId, ids.WindowsPackageId, ids.AndroidPackage, ids.LinuxPackage);
        (app.MacPackageId, app.MacPackageUrl, app.MacPackageSha256, app.MacAppPath, app.MacAppBundleId) = (mac?.PackageId, mac?.Url, mac?.Sha256, mac?.AppPath, mac?.BundleId);
        app.LicensesPurchased = request.LicensesPurchased;
        var names = executables.Select(e => e!.ToLowerInvariant()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        app.WindowsExecutables = names.Count == 0 ? null : string.Join('\n', names);
    }

    // A clear 409 for the usual case; the unique indexes still settle two requests racing (409 too).
    private static async Task EnsureUniqueAsync(HomeroomDbContext db, CatalogApp app, CancellationToken cancellationToken)
    {
        var others = db.Set<CatalogApp>().Where(a => a.Id != app.Id);
        if (await others.AnyAsync(a => a.Name == app.Name, cancellationToken))
        {
            throw new ConflictException($"The catalog already has an app named \"{app.Name}\".");
        }

        if (app.ChromeExtensionId is { } chrome && await others.AnyAsync(a => a.ChromeExtensionId == chrome, cancellationToken))
        {
            throw new ConflictException("Another catalog entry has this Chrome extension id.");
        }

        if (app.AppleBundleId is { } bundle && await others.AnyAsync(a => a.AppleBundleId == bundle, cancellationToken))
        {
            throw new ConflictException("Another catalog entry has this bundle id.");
        }

        if (app.WindowsPackageId is { } windows && await others.AnyAsync(a => a.WindowsPackageId == windows, cancellationToken))
        {
            throw new ConflictException("Another catalog entry has this Windows package id.");
        }

        if (app.LinuxPackage is { } linux && await others.AnyAsync(a => a.LinuxPackage == linux, cancellationToken))
        {
            throw new ConflictException("Another catalog entry has this Debian package name.");
        }

        if (app.MacPackageId is { } mac && await others.AnyAsync(a => a.MacPackageId == mac, cancellationToken))
        {
            throw new ConflictException("Another catalog entry has this Mac package id.");
        }
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string Describe(CatalogApp a) =>
        $"{a.Name} ({a.Category}) chrome {a.ChromeExtensionId} web {a.WebAppUrl} apple {a.AppleAdamId}/{a.AppleBundleId} windows {a.WindowsPackageId} ({string.Join(", ", a.WindowsExecutableList)}) linux {a.LinuxPackage} mac {a.MacPackageId} {a.MacPackageUrl} {a.MacPackageSha256} {a.MacAppPath} {a.MacAppBundleId} android {a.AndroidPackage} licences {a.LicensesPurchased?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}";

    internal static AppDto ToDto(CatalogApp a, int assignments, AppStatusCounts? status = null) => new(
        a.Id, a.Name, a.Category, a.IconUrl, a.ChromeExtensionId, a.WebAppUrl, a.AppleAdamId, a.AppleBundleId, a.WindowsPackageId, a.AndroidPackage,
        a.LicensesPurchased, a.ChromeExtensionId is { } id ? AppIdentity.ChromeForceInstallLine(id) : null, assignments, a.CreatedAt, a.UpdatedAt, status ?? AppStatusCounts.None, a.LinuxPackage,
        a.WindowsExecutableList, MacPackageOf(a));

    /// <summary>The entry's Mac package, or null when it has none.</summary>
    internal static MacPackageIdentity? MacPackageOf(CatalogApp a) =>
        a.MacPackageId is null ? null : new(a.MacPackageId, a.MacPackageUrl, a.MacPackageSha256, a.MacAppPath, a.MacAppBundleId);
}
