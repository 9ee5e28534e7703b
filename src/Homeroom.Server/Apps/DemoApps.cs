using Homeroom.Rules.Apps;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apps;

/// <summary>
/// The demo district's app catalog: a few entries across platforms (names end in " (demo)"), with
/// district assignments of each intent, so the Apps pages and each device's assigned apps show something.
/// </summary>
public static class DemoApps
{
    private const string Suffix = " (demo)";

    private static readonly (string Name, string Category, AppIdentities Ids, int? Licenses, AppIntent Intent)[] Catalog =
    [
        ("Annotation extension", "education", new("ecnphlgnajanjnkcmbpancdjoidceilk", null, null, null, null, null), 900, AppIntent.Required),
        ("Reading support", "accessibility", new("inoeonmfapjbbkmdafoankkfajkcphgd", null, "1156311547", "com.example.readingsupport", null, null), 250, AppIntent.Available),
        ("Classroom web app", "education", new(null, "https://classroom.example.org/", null, null, null, "org.example.classroom"), null, AppIntent.Available),
        ("Pages", "productivity", new(null, null, "361309726", "com.apple.Pages", null, null), null, AppIntent.Required),
        ("Proxy switcher", "utilities", new("bihmplhobchoageeokmgbdihknkjbknd", null, null, null, null, null), null, AppIntent.Blocked),
        ("Arcade games", "games", new("aapocclcgogkmnckokdopfmhonfmgoek", null, "1000000001", "com.example.arcade", "Example.Arcade", null), null, AppIntent.Disabled),
    ];

    /// <summary>Adds the catalog and its district assignments (saved by the caller).</summary>
    public static void Seed(HomeroomDbContext db, DateTime now)
    {
        foreach (var (name, category, ids, licenses, intent) in Catalog)
        {
            var app = new CatalogApp
            {
                Id = Guid.CreateVersion7(), Name = name + Suffix, Category = category, ChromeExtensionId = ids.ChromeExtensionId, WebAppUrl = ids.WebAppUrl,
                AppleAdamId = ids.AppleAdamId, AppleBundleId = ids.AppleBundleId, WindowsPackageId = ids.WindowsPackageId, AndroidPackage = ids.AndroidPackage,
                LicensesPurchased = licenses, CreatedAt = now, UpdatedAt = now,
            };
            db.Add(app);
            db.Add(new AppAssignmentRecord { Id = Guid.CreateVersion7(), AppId = app.Id, Intent = intent, Level = ScopeLevel.District, CreatedAt = now });
        }
    }

    /// <summary>Deletes the demo's catalog entries (and with them their assignments).</summary>
    public static async Task<int> RemoveAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var ids = await db.Set<CatalogApp>().Where(a => a.Name.EndsWith(Suffix)).Select(a => a.Id).ToListAsync(cancellationToken);
        return await db.Set<AppAssignmentRecord>().Where(a => ids.Contains(a.AppId)).ExecuteDeleteAsync(cancellationToken)
            + await db.Set<CatalogApp>().Where(a => ids.Contains(a.Id)).ExecuteDeleteAsync(cancellationToken);
    }
}
