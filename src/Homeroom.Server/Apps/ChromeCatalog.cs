using System.Text.Json.Nodes;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apps;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apps;

/// <summary>
/// The catalog part of a Chromebook's policy document (docs/agent-protocol.md, <c>catalog</c>): the
/// Chrome extension ids its effective apps block, disable or require. Loaded once per distribution
/// pass; a device of another platform, or one no catalog extension reaches, gets no <c>catalog</c>
/// (so documents without catalog apps are exactly as before).
/// </summary>
public sealed class ChromeCatalog
{
    private readonly AppAssignmentIndex _index;
    private readonly Dictionary<Guid, string> _extensionIds;
    private readonly HashSet<Guid> _chromebooks;

    private ChromeCatalog(AppAssignmentIndex index, Dictionary<Guid, string> extensionIds, HashSet<Guid> chromebooks) =>
        (_index, _extensionIds, _chromebooks) = (index, extensionIds, chromebooks);

    /// <summary>Reads the assignments of catalog extensions and which of the devices (all when null) are Chromebooks.</summary>
    public static async Task<ChromeCatalog> LoadAsync(HomeroomDbContext db, IReadOnlyCollection<Guid>? deviceIds, CancellationToken cancellationToken)
    {
        var extensionIds = await db.Set<CatalogApp>().AsNoTracking().Where(a => a.ChromeExtensionId != null)
            .ToDictionaryAsync(a => a.Id, a => a.ChromeExtensionId!, cancellationToken);
        if (extensionIds.Count == 0)
        {
            return new ChromeCatalog(new AppAssignmentIndex([]), extensionIds, []);
        }

        var ids = extensionIds.Keys.ToList();
        var assignments = (await db.Set<AppAssignmentRecord>().AsNoTracking().Where(a => ids.Contains(a.AppId)).ToListAsync(cancellationToken))
            .Select(r => new AppAssignment(r.Id, r.AppId, r.Intent, r.Level, r.ScopeKey)).ToList();
        if (assignments.Count == 0)
        {
            return new ChromeCatalog(new AppAssignmentIndex([]), extensionIds, []);
        }

        var chromebooks = db.Devices.AsNoTracking().Where(d => d.Platform == DevicePlatform.ChromeOS);
        if (deviceIds is not null)
        {
            chromebooks = chromebooks.Where(d => deviceIds.Contains(d.Id));
        }

        return new ChromeCatalog(new AppAssignmentIndex(assignments), extensionIds, [.. await chromebooks.Select(d => d.Id).ToListAsync(cancellationToken)]);
    }

    /// <summary>The device's <c>catalog</c> object, or null when it is not a Chromebook or no catalog extension reaches it.</summary>
    public JsonObject? For(DeviceScope device)
    {
        if (!_chromebooks.Contains(device.DeviceId))
        {
            return null;
        }

        var effective = _index.Resolve(device);
        if (effective.Count == 0)
        {
            return null;
        }

        JsonArray Ids(AppIntent intent) => new([.. effective.Values.Where(e => e.Intent == intent && _extensionIds.ContainsKey(e.AppId))
            .Select(e => _extensionIds[e.AppId]).Order(StringComparer.Ordinal).Select(id => (JsonNode)JsonValue.Create(id))]);
        return new JsonObject
        {
            ["blockedExtensions"] = Ids(AppIntent.Blocked),
            ["disabledExtensions"] = Ids(AppIntent.Disabled),
            ["requiredExtensions"] = Ids(AppIntent.Required),
        };
    }
}
