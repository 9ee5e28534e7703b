using System.Text.Json.Nodes;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apps;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apps;

/// <summary>
/// The catalog part of a Windows or Linux desktop's policy document (docs/agent-protocol.md, <c>catalog</c>):
/// the package identities for the device's platform that its effective apps block, which the desktop agent
/// keeps from running. Installs and removals go through commands (<see cref="AppInstallReconciler"/>); this
/// is what the agent enforces between them. A device no blocked catalog package reaches gets no <c>catalog</c>.
/// </summary>
public sealed class DesktopCatalog
{
    private readonly AppAssignmentIndex _index;
    private readonly Dictionary<Guid, AppIdentities> _apps;
    private readonly Dictionary<Guid, DevicePlatform> _desktops;

    private DesktopCatalog(AppAssignmentIndex index, Dictionary<Guid, AppIdentities> apps, Dictionary<Guid, DevicePlatform> desktops) =>
        (_index, _apps, _desktops) = (index, apps, desktops);

    /// <summary>Reads the assignments of catalog packages and which of the devices (all when null) are Windows or Linux desktops.</summary>
    public static async Task<DesktopCatalog> LoadAsync(HomeroomDbContext db, IReadOnlyCollection<Guid>? deviceIds, CancellationToken cancellationToken)
    {
        var apps = (await db.Set<CatalogApp>().AsNoTracking().Where(a => a.WindowsPackageId != null || a.LinuxPackage != null).ToListAsync(cancellationToken))
            .ToDictionary(a => a.Id, a => a.Identities);
        if (apps.Count == 0)
        {
            return new DesktopCatalog(new AppAssignmentIndex([]), apps, []);
        }

        var ids = apps.Keys.ToList();
        var assignments = (await db.Set<AppAssignmentRecord>().AsNoTracking().Where(a => ids.Contains(a.AppId))
                .ToListAsync(cancellationToken))
            .Select(r => new AppAssignment(r.Id, r.AppId, r.Intent, r.Level, r.ScopeKey)).ToList();
        if (!assignments.Any(a => a.Intent == AppIntent.Blocked))
        {
            return new DesktopCatalog(new AppAssignmentIndex([]), apps, []);
        }

        var desktops = db.Devices.AsNoTracking().Where(d => d.Platform == DevicePlatform.Windows || d.Platform == DevicePlatform.Linux);
        if (deviceIds is not null)
        {
            desktops = desktops.Where(d => deviceIds.Contains(d.Id));
        }

        return new DesktopCatalog(new AppAssignmentIndex(assignments), apps,
            await desktops.Select(d => new { d.Id, d.Platform }).ToDictionaryAsync(d => d.Id, d => d.Platform, cancellationToken));
    }

    /// <summary>The device's <c>catalog</c> object, or null when it is not a desktop or no blocked catalog package reaches it.</summary>
    public JsonObject? For(DeviceScope device)
    {
        if (!_desktops.TryGetValue(device.DeviceId, out var platform))
        {
            return null;
        }

        // The whole assignment set decides (a class may require what the district blocks); only blocked packages are listed.
        var blocked = _index.Resolve(device).Values
            .Where(e => e.Intent == AppIntent.Blocked && _apps.ContainsKey(e.AppId))
            .Select(e => AgentPackages.For(platform, _apps[e.AppId]))
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToList();
        return blocked.Count == 0 ? null : new JsonObject { ["blockedPackages"] = new JsonArray([.. blocked.Select(p => (JsonNode)JsonValue.Create(p))]) };
    }
}
