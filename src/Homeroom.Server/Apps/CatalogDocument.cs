using System.Text.Json.Nodes;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apps;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apps;

/// <summary>
/// The catalog part of a device's policy document (docs/agent-protocol.md, <c>catalog</c>). A Chromebook's:
/// the Chrome extension ids its effective apps block, disable or require. A supervised iPad's or iPhone's
/// (managed through MDM): the bundle ids its effective apps block or disable (<c>blockedAppBundleIds</c>),
/// which its policy profile's restrictions carry (<see cref="Rules.Apple.PolicyProfiles"/>); since they are
/// part of the document, a change of the blocked set (or of supervision) changes the document's hash, so
/// the distributor queues the profile again. A Windows, Linux or Mac desktop's (a Mac that runs the desktop agent,
/// not one managed through MDM): the package identities for its platform that its effective apps block
/// (<c>blockedPackages</c>), which the desktop agent keeps from running; on Windows the programs the catalog names
/// for them (<c>blockedExecutables</c>: package id → file names), since a winget package does not say which programs
/// it installs; on a Mac the app bundle the catalog names for a package (<c>blockedAppBundles</c>: package id → one
/// path), whose programs the agent reads from the bundle itself (installs and removals go through commands,
/// <see cref="AppInstallReconciler"/>). Loaded once per distribution
/// pass; a device of another platform, an unsupervised one, or one no catalog app reaches, gets no <c>catalog</c>
/// (so documents without catalog apps are exactly as before).
/// </summary>
public sealed class CatalogDocument
{
    private readonly AppAssignmentIndex _index;
    private readonly Dictionary<Guid, string> _extensionIds;
    private readonly Dictionary<Guid, string> _bundleIds;
    private readonly Dictionary<Guid, AppIdentities> _packages;
    private readonly Dictionary<Guid, IReadOnlyList<string>> _windowsExecutables;
    private readonly Dictionary<Guid, string> _macAppPaths;
    private readonly HashSet<Guid> _chromebooks;
    private readonly HashSet<Guid> _supervisedApple;
    private readonly Dictionary<Guid, DevicePlatform> _desktops;

    private CatalogDocument(
        AppAssignmentIndex index, Dictionary<Guid, string> extensionIds, Dictionary<Guid, string> bundleIds, Dictionary<Guid, AppIdentities> packages,
        Dictionary<Guid, IReadOnlyList<string>> windowsExecutables, Dictionary<Guid, string> macAppPaths, HashSet<Guid> chromebooks, HashSet<Guid> supervisedApple,
        Dictionary<Guid, DevicePlatform> desktops) =>
        (_index, _extensionIds, _bundleIds, _packages, _windowsExecutables, _macAppPaths, _chromebooks, _supervisedApple, _desktops) =
            (index, extensionIds, bundleIds, packages, windowsExecutables, macAppPaths, chromebooks, supervisedApple, desktops);

    private static CatalogDocument Empty => new(new AppAssignmentIndex([]), [], [], [], [], [], [], [], []);

    /// <summary>
    /// Reads the assignments of catalog extensions, App Store apps and desktop packages, and which of the devices (all when null)
    /// are Chromebooks, supervised MDM iPads and iPhones, or Windows, Linux and agent-managed Mac desktops.
    /// </summary>
    public static async Task<CatalogDocument> LoadAsync(HomeroomDbContext db, IReadOnlyCollection<Guid>? deviceIds, CancellationToken cancellationToken)
    {
        var apps = await db.Set<CatalogApp>().AsNoTracking()
            .Where(a => a.ChromeExtensionId != null || a.AppleBundleId != null || a.WindowsPackageId != null || a.LinuxPackage != null || a.MacPackageId != null)
            .ToListAsync(cancellationToken);
        if (apps.Count == 0)
        {
            return Empty;
        }

        var ids = apps.Select(a => a.Id).ToList();
        var assignments = (await db.Set<AppAssignmentRecord>().AsNoTracking().Where(a => ids.Contains(a.AppId)).ToListAsync(cancellationToken))
            .Select(r => new AppAssignment(r.Id, r.AppId, r.Intent, r.Level, r.ScopeKey)).ToList();
        if (assignments.Count == 0)
        {
            return Empty;
        }

        var extensionIds = apps.Where(a => a.ChromeExtensionId is not null).ToDictionary(a => a.Id, a => a.ChromeExtensionId!);
        var bundleIds = apps.Where(a => a.AppleBundleId is not null).ToDictionary(a => a.Id, a => a.AppleBundleId!);
        var packages = apps.Where(a => a.WindowsPackageId is not null || a.LinuxPackage is not null || a.MacPackageId is not null).ToDictionary(a => a.Id, a => a.Identities);
        var windowsExecutables = apps.Where(a => a.WindowsPackageId is not null && a.WindowsExecutables is not null).ToDictionary(a => a.Id, a => a.WindowsExecutableList);
        var macAppPaths = apps.Where(a => a.MacPackageId is not null && a.MacAppPath is not null).ToDictionary(a => a.Id, a => a.MacAppPath!);
        var devices = db.Devices.AsNoTracking();
        var appleDevices = db.AppleDevices.AsNoTracking();
        if (deviceIds is not null)
        {
            devices = devices.Where(d => deviceIds.Contains(d.Id));
            appleDevices = appleDevices.Where(a => deviceIds.Contains(a.DeviceId));
        }

        HashSet<Guid> chromebooks = extensionIds.Count == 0 ? [] : [.. await devices.Where(d => d.Platform == DevicePlatform.ChromeOS).Select(d => d.Id).ToListAsync(cancellationToken)];
        HashSet<Guid> supervised = bundleIds.Count == 0 ? [] : [.. await (
            from a in appleDevices
            join d in db.Devices.AsNoTracking() on a.DeviceId equals d.Id
            where a.CheckedOutAt == null && a.Supervised && (d.Platform == DevicePlatform.IPadOS || d.Platform == DevicePlatform.IOS)
            select a.DeviceId).ToListAsync(cancellationToken)];
        // Desktops carry only blocked packages, so they are read only when a package is blocked somewhere. A Mac is a desktop
        // of the agent's unless Apple MDM manages it (its policy then goes as a profile, and App Store apps through MDM).
        var desktops = !assignments.Any(a => a.Intent == AppIntent.Blocked && packages.ContainsKey(a.AppId)) ? [] : await devices
            .Where(d => d.Platform == DevicePlatform.Windows || d.Platform == DevicePlatform.Linux
                || (d.Platform == DevicePlatform.MacOS && !db.AppleDevices.Any(a => a.DeviceId == d.Id && a.CheckedOutAt == null)))
            .Select(d => new { d.Id, d.Platform }).ToDictionaryAsync(d => d.Id, d => d.Platform, cancellationToken);
        return new CatalogDocument(new AppAssignmentIndex(assignments), extensionIds, bundleIds, packages, windowsExecutables, macAppPaths, chromebooks, supervised, desktops);
    }

    /// <summary>The device's <c>catalog</c> object, or null when nothing of the catalog applies to it.</summary>
    public JsonObject? For(DeviceScope device)
    {
        if (_desktops.TryGetValue(device.DeviceId, out var platform))
        {
            // The whole assignment set decides (a class may require what the district blocks); only blocked packages are listed.
            var blocked = _index.Resolve(device).Values
                .Where(e => e.Intent == AppIntent.Blocked && _packages.ContainsKey(e.AppId))
                .Select(e => (e.AppId, Package: AgentPackages.For(platform, _packages[e.AppId])))
                .Where(b => b.Package is not null)
                .OrderBy(b => b.Package, StringComparer.Ordinal)
                .ToList();
            if (blocked.Count == 0)
            {
                return null;
            }

            var catalog = new JsonObject { ["blockedPackages"] = new JsonArray([.. blocked.Select(b => (JsonNode)JsonValue.Create(b.Package!))]) };
            var named = platform == DevicePlatform.Windows
                ? blocked.Where(b => _windowsExecutables.ContainsKey(b.AppId)).DistinctBy(b => b.Package).ToList()
                : [];
            if (named.Count > 0)
            {
                catalog["blockedExecutables"] = new JsonObject(named.Select(b => KeyValuePair.Create(b.Package!,
                    (JsonNode?)new JsonArray([.. _windowsExecutables[b.AppId].Select(e => (JsonNode)JsonValue.Create(e))]))));
            }

            var bundles = platform == DevicePlatform.MacOS
                ? blocked.Where(b => _macAppPaths.ContainsKey(b.AppId)).DistinctBy(b => b.Package).ToList()
                : [];
            if (bundles.Count > 0)
            {
                // An object of lists, as blockedExecutables, so agents read both the same way.
                catalog["blockedAppBundles"] = new JsonObject(bundles.Select(b => KeyValuePair.Create(b.Package!,
                    (JsonNode?)new JsonArray(JsonValue.Create(_macAppPaths[b.AppId])))));
            }

            return catalog;
        }

        var chromebook = _chromebooks.Contains(device.DeviceId);
        var apple = _supervisedApple.Contains(device.DeviceId);
        if (!chromebook && !apple)
        {
            return null;
        }

        var effective = _index.Resolve(device);
        if (effective.Count == 0)
        {
            return null;
        }

        static JsonArray Array(IEnumerable<string> ids) => new([.. ids.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(id => (JsonNode)JsonValue.Create(id))]);
        if (apple)
        {
            // Blocked and disabled alike: Apple's restriction hides the app and stops it launching, installed or not.
            var blocked = effective.Values.Where(e => e.Intent is AppIntent.Blocked or AppIntent.Disabled && _bundleIds.ContainsKey(e.AppId)).Select(e => _bundleIds[e.AppId]).ToList();
            return blocked.Count == 0 ? null : new JsonObject { ["blockedAppBundleIds"] = Array(blocked) };
        }

        if (!effective.Values.Any(e => _extensionIds.ContainsKey(e.AppId)))
        {
            return null;
        }

        JsonArray Ids(AppIntent intent) => Array(effective.Values.Where(e => e.Intent == intent && _extensionIds.ContainsKey(e.AppId)).Select(e => _extensionIds[e.AppId]));
        return new JsonObject
        {
            ["blockedExtensions"] = Ids(AppIntent.Blocked),
            ["disabledExtensions"] = Ids(AppIntent.Disabled),
            ["requiredExtensions"] = Ids(AppIntent.Required),
        };
    }
}
