using System.Text.Json;
using System.Text.Json.Nodes;
using Homeroom.Rules.Zones;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Locations;

/// <summary>
/// Zones in and out as GeoJSON. A zone is a Feature whose geometry is a Polygon or MultiPolygon
/// (holes allowed), or a Point with <c>properties.radius</c> in meters; its other properties are
/// <c>name</c>, <c>kind</c> (campus, home, district, other) and optionally <c>schoolId</c>.
/// The list is a FeatureCollection.
/// </summary>
public static class ZoneEndpoints
{
    public static readonly IReadOnlySet<string> Kinds = new HashSet<string>(StringComparer.Ordinal) { "campus", "home", "district", "other" };

    public static IEndpointRouteBuilder MapZoneEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/zones").WithTags("Locations");
        group.MapGet("/", ListAsync).WithDescription("Every zone as a GeoJSON FeatureCollection.");
        group.MapGet("/{id:guid}", GetAsync);
        group.MapPost("/", CreateAsync).WithDescription("Creates a zone from a GeoJSON Feature.");
        group.MapPut("/{id:guid}", UpdateAsync);
        group.MapDelete("/{id:guid}", DeleteAsync);
        return app;
    }

    private static async Task<IResult> ListAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var zones = await db.Zones.AsNoTracking().OrderBy(z => z.Name).ToListAsync(cancellationToken);
        var collection = new JsonObject { ["type"] = "FeatureCollection", ["features"] = new JsonArray([.. zones.Select(Feature)]) };
        return Results.Text(collection.ToJsonString(), "application/geo+json");
    }

    private static async Task<IResult> GetAsync(Guid id, HomeroomDbContext db, CancellationToken cancellationToken) =>
        await db.Zones.AsNoTracking().FirstOrDefaultAsync(z => z.Id == id, cancellationToken) is { } zone
            ? Results.Text(Feature(zone).ToJsonString(), "application/geo+json")
            : TypedResults.NotFound();

    private static async Task<IResult> CreateAsync(JsonElement feature, HomeroomDbContext db, AuditTrail audit, ZoneMembership membership, PolicyDistributor distributor, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var zone = new Zone { Id = Guid.CreateVersion7(), Name = "", Kind = "", GeometryJson = "", CreatedAt = now, UpdatedAt = now };
        if (await ApplyAsync(zone, feature, db, cancellationToken) is { } problem)
        {
            return problem;
        }

        db.Zones.Add(zone);
        audit.Record(db, "zone.create", "zone", zone.Id.ToString(), $"{zone.Kind} {zone.Name}");
        await db.SaveChangesAsync(cancellationToken);
        await membership.ReloadAsync(cancellationToken);
        distributor.RequestAll();
        return Results.Text(Feature(zone).ToJsonString(), "application/geo+json", statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> UpdateAsync(Guid id, JsonElement feature, HomeroomDbContext db, AuditTrail audit, ZoneMembership membership, PolicyDistributor distributor, TimeProvider time, CancellationToken cancellationToken)
    {
        var zone = await db.Zones.FirstOrDefaultAsync(z => z.Id == id, cancellationToken);
        if (zone is null)
        {
            return TypedResults.NotFound();
        }

        if (await ApplyAsync(zone, feature, db, cancellationToken) is { } problem)
        {
            return problem;
        }

        zone.UpdatedAt = time.GetUtcNow().UtcDateTime;
        audit.Record(db, "zone.update", "zone", id.ToString(), $"{zone.Kind} {zone.Name}");
        await db.SaveChangesAsync(cancellationToken);
        await membership.ReloadAsync(cancellationToken);
        distributor.RequestAll();
        return Results.Text(Feature(zone).ToJsonString(), "application/geo+json");
    }

    private static async Task<IResult> DeleteAsync(Guid id, HomeroomDbContext db, AuditTrail audit, ZoneMembership membership, PolicyDistributor distributor, CancellationToken cancellationToken)
    {
        var zone = await db.Zones.FirstOrDefaultAsync(z => z.Id == id, cancellationToken);
        if (zone is null)
        {
            return TypedResults.NotFound();
        }

        var text = id.ToString();
        var usedBy = (await db.PolicyAssignments.Where(a => a.ConditionJson != null).Select(a => a.ConditionJson!).ToListAsync(cancellationToken)).Count(c => c.Contains(text, StringComparison.OrdinalIgnoreCase))
            + (await db.Profiles.Select(p => p.SettingsJson).ToListAsync(cancellationToken)).Count(s => s.Contains(text, StringComparison.OrdinalIgnoreCase));
        if (usedBy > 0)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Zone in use", detail: $"{usedBy} profiles or assignments name this zone; change them first.");
        }

        db.Zones.Remove(zone);
        audit.Record(db, "zone.delete", "zone", text, zone.Name);
        await db.SaveChangesAsync(cancellationToken);
        await membership.ReloadAsync(cancellationToken);
        distributor.RequestAll();
        return TypedResults.NoContent();
    }

    // Reads a Feature into the zone; a ValidationProblem when anything is wrong (nothing is changed then).
    private static async Task<IResult?> ApplyAsync(Zone zone, JsonElement feature, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        if (feature.ValueKind != JsonValueKind.Object || !feature.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "Feature")
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["type"] = ["A zone is a GeoJSON Feature."] });
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
            return TypedResults.ValidationProblem(validation.Errors);
        }

        zone.Name = name!.Trim();
        zone.Kind = kind!;
        zone.SchoolId = schoolId;
        zone.GeometryJson = Write(result.Shape!);
        return null;
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
        JsonObject feature;
        if (stored["type"]?.GetValue<string>() == "Feature")
        {
            feature = stored;
        }
        else
        {
            feature = new JsonObject { ["type"] = "Feature", ["geometry"] = stored };
        }

        var properties = feature["properties"] as JsonObject ?? [];
        feature["properties"] = properties;
        feature["id"] = zone.Id.ToString();
        properties["name"] = zone.Name;
        properties["kind"] = zone.Kind;
        properties["schoolId"] = zone.SchoolId?.ToString();
        return feature;
    }
}
