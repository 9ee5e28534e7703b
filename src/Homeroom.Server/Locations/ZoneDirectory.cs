using System.Text.Json;
using System.Text.Json.Nodes;
using Homeroom.Rules.Zones;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Locations;

/// <summary>
/// Zones as GeoJSON, for the API and the console. A zone is a Feature whose geometry is a Polygon or
/// MultiPolygon (holes allowed), or a Point with <c>properties.radius</c> in meters; its other
/// properties are <c>name</c>, <c>kind</c> (campus, home, district, other) and optionally <c>schoolId</c>.
/// Staff who read policies read every zone; a school's administrators change their school's zones
/// (a zone they create belongs to their school), district administrators every zone.
/// </summary>
public sealed class ZoneDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, ZoneMembership membership, PolicyDistributor distributor, TimeProvider time)
{
    public static readonly IReadOnlySet<string> Kinds = new HashSet<string>(StringComparer.Ordinal) { "campus", "home", "district", "other" };

    /// <summary>Every zone as a FeatureCollection.</summary>
    public async Task<JsonObject> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var zones = await db.Zones.AsNoTracking().OrderBy(z => z.Name).ToListAsync(cancellationToken);
        return new JsonObject { ["type"] = "FeatureCollection", ["features"] = new JsonArray([.. zones.Select(Feature)]) };
    }

    public async Task<JsonObject?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Zones.AsNoTracking().FirstOrDefaultAsync(z => z.Id == id, cancellationToken) is { } zone ? Feature(zone) : null;
    }

    public async Task<JsonObject> CreateAsync(StaffScope scope, JsonElement feature, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageZones);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var zone = new Zone { Id = Guid.CreateVersion7(), Name = "", Kind = "", GeometryJson = "", CreatedAt = now, UpdatedAt = now };
        var (school, schoolGiven) = await ApplyAsync(zone, feature, db, cancellationToken);
        zone.SchoolId = schoolGiven ? school : scope.IsDistrictWide ? null : scope.SchoolId;
        scope.EnsureIncludesSchool(zone.SchoolId, "properties.schoolId");
        db.Zones.Add(zone);
        audit.Record(db, "zone.create", "zone", zone.Id.ToString(), $"{zone.Kind} {zone.Name}", zone.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        await membership.ReloadAsync(cancellationToken);
        distributor.RequestAll();
        return Feature(zone);
    }

    /// <summary>Changes a zone the scope may change; null when there is none.</summary>
    public async Task<JsonObject?> UpdateAsync(StaffScope scope, Guid id, JsonElement feature, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageZones);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.ManageableZones(db).AnyAsync(z => z.Id == id, cancellationToken))
        {
            return null;
        }

        var zone = await db.Zones.FirstAsync(z => z.Id == id, cancellationToken);
        var oldSchool = zone.SchoolId;
        var (school, schoolGiven) = await ApplyAsync(zone, feature, db, cancellationToken);
        zone.SchoolId = schoolGiven ? school : oldSchool;
        if (zone.SchoolId != oldSchool)
        {
            scope.EnsureIncludesSchool(oldSchool, "properties.schoolId");
            scope.EnsureIncludesSchool(zone.SchoolId, "properties.schoolId");
        }

        zone.UpdatedAt = time.GetUtcNow().UtcDateTime;
        audit.Record(db, "zone.update", "zone", id.ToString(), $"{zone.Kind} {zone.Name}", zone.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        await membership.ReloadAsync(cancellationToken);
        distributor.RequestAll();
        return Feature(zone);
    }

    /// <summary>Deletes a zone the scope may change; false when there is none; 409 while profiles or assignments name it.</summary>
    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageZones);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.ManageableZones(db).AnyAsync(z => z.Id == id, cancellationToken))
        {
            return false;
        }

        var zone = await db.Zones.FirstAsync(z => z.Id == id, cancellationToken);
        var text = id.ToString();
        var usedBy = (await db.PolicyAssignments.Where(a => a.ConditionJson != null).Select(a => a.ConditionJson!).ToListAsync(cancellationToken)).Count(c => c.Contains(text, StringComparison.OrdinalIgnoreCase))
            + (await db.Profiles.Select(p => p.SettingsJson).ToListAsync(cancellationToken)).Count(s => s.Contains(text, StringComparison.OrdinalIgnoreCase));
        if (usedBy > 0)
        {
            throw new ConflictException($"{usedBy} profiles or assignments name this zone; change them first.");
        }

        db.Zones.Remove(zone);
        audit.Record(db, "zone.delete", "zone", text, zone.Name, zone.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        await membership.ReloadAsync(cancellationToken);
        distributor.RequestAll();
        return true;
    }

    // Reads a Feature into the zone (not its school: returned, with whether the feature named one); a
    // validation error when anything is wrong (nothing is changed then).
    private static async Task<(Guid? School, bool SchoolGiven)> ApplyAsync(Zone zone, JsonElement feature, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        if (feature.ValueKind != JsonValueKind.Object || !feature.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "Feature")
        {
            throw new RequestValidationException(new() { ["type"] = ["A zone is a GeoJSON Feature."] });
        }

        var properties = feature.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var name = Text(properties, "name");
        var kind = Text(properties, "kind");
        var school = Text(properties, "schoolId");
        validation.Required("properties.name", name, 200);
        validation.Check(kind is not null && Kinds.Contains(kind), "properties.kind", "One of campus, home, district, other.");
        Guid? schoolId = null;
        if (school is not null)
        {
            if (Guid.TryParse(school, out var parsed) && await db.Schools.AnyAsync(s => s.Id == parsed, cancellationToken))
            {
                schoolId = parsed;
            }
            else
            {
                validation.Add("properties.schoolId", "No such school.");
            }
        }

        var result = GeoJsonZones.Parse(feature);
        if (!result.IsValid)
        {
            validation.Errors["geometry"] = [.. result.Errors];
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        zone.Name = name!.Trim();
        zone.Kind = kind!;
        zone.GeometryJson = Write(result.Shape!);
        return (schoolId, school is not null);
    }

    private static string? Text(JsonElement properties, string name) =>
        properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Write(ZoneShape shape)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            GeoJsonZones.Write(writer, shape);
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    // The stored shape as a Feature with the zone's properties (a circle is already a Feature).
    private static JsonObject Feature(Zone zone)
    {
        var stored = JsonNode.Parse(zone.GeometryJson)!.AsObject();
        var feature = stored["type"]?.GetValue<string>() == "Feature" ? stored : new JsonObject { ["type"] = "Feature", ["geometry"] = stored };
        var properties = feature["properties"] as JsonObject ?? [];
        feature["properties"] = properties;
        feature["id"] = zone.Id.ToString();
        properties["name"] = zone.Name;
        properties["kind"] = zone.Kind;
        properties["schoolId"] = zone.SchoolId?.ToString();
        return feature;
    }
}
