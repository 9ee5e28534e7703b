using System.Text.Json;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Homeroom.Server.Filtering;
using Homeroom.Server.Locations;

namespace Homeroom.Server.Policies;

/// <summary>Resolves one device's effective policy now (for explanations and declarative management).</summary>
public static class EffectivePolicies
{
    public static async Task<(EffectivePolicy Policy, DeviceScope Scope, TimeZoneInfo TimeZone)?> ResolveAsync(
        HomeroomDbContext db, Guid deviceId, ZoneMembership zones, TimeProvider time, CancellationToken cancellationToken)
    {
        var scopes = await DeviceScopes.LoadAsync(db, [deviceId], zones.InsideZones, cancellationToken);
        if (scopes.Count == 0)
        {
            return null;
        }

        var model = await PolicyModel.LoadAsync(db, cancellationToken);
        var scope = scopes[0].Scope;
        var timeZone = model.TimeZoneOf(scope.SchoolId);
        return (PolicyResolver.Resolve(model.Assignments, model.Profiles, scope, time.GetUtcNow(), timeZone), scope, timeZone);
    }

    /// <summary>The policy document the device would receive now, read as an agent reads it (defaults for an unknown device).</summary>
    public static async Task<PolicyDocument> DocumentAsync(
        HomeroomDbContext db, Guid deviceId, ZoneMembership zones, FilterListStore lists, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await ResolveAsync(db, deviceId, zones, time, cancellationToken) is not { } resolved)
        {
            return PolicyDocument.Read(default);
        }

        return PolicyDocument.Read(JsonSerializer.SerializeToElement(await DocumentAsync(db, deviceId, resolved, zones, lists, cancellationToken)));
    }

    /// <summary>The document a device with this resolved policy receives: its settings, location context and catalog part.</summary>
    public static async Task<System.Text.Json.Nodes.JsonObject> DocumentAsync(
        HomeroomDbContext db, Guid deviceId, (EffectivePolicy Policy, DeviceScope Scope, TimeZoneInfo TimeZone) resolved, ZoneMembership zones, FilterListStore lists,
        CancellationToken cancellationToken)
    {
        var document = PolicyDistributor.Document(resolved.Policy, lists.Version, PolicyDistributor.LocationContext(resolved.Policy, resolved.TimeZone, zones));
        // As the distributor adds it: an Apple device's profile carries the catalog's blocked apps, a desktop's its blocked packages.
        if ((await Apps.CatalogDocument.LoadAsync(db, [deviceId], cancellationToken)).For(resolved.Scope) is { } catalog)
        {
            document["catalog"] = catalog;
        }

        return document;
    }
}
