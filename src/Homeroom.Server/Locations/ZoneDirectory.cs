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

/// <summary>A device inside a zone, with its student's name when it has one.</summary>
public sealed record ZoneDeviceDto(Guid Id, string Name, string? StudentName);

/// <summary>
/// A device's state in one zone: <c>inside</c>, <c>outside</c> or <c>unknown</c>, since when, which signal
/// decided (<c>gps</c> or <c>network</c>) and why, and the zone's network range it matches now (if any).
/// </summary>
public sealed record DeviceZoneDto(Guid ZoneId, string ZoneName, string Kind, string State, DateTimeOffset? ChangedAt, string? Signal, string? Explanation, string? NetworkMatch);

/// <summary>
/// Zones as GeoJSON, for the API and the console. A zone is a Feature whose geometry is a Polygon or
/// MultiPolygon (holes allowed), or a Point with <c>properties.radius</c> in meters; its other
/// properties are <c>name</c>, <c>kind</c> (campus, home, district, other), optionally <c>schoolId</c>, and
/// optionally the networks that also define it: <c>publicRanges</c> (CIDRs of the school's internet
/// connections, matched against the address the server sees) and <c>localRanges</c> (CIDRs matched
/// against the local address a device reports), each at most <see cref="NetworkRanges.MaxRanges"/>.
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

    /// <summary>
    /// Imports zones from a GeoJSON FeatureCollection (or one Feature), all or nothing: every feature is
    /// checked (geometry by <see cref="GeoJsonZoneCollection"/>, then name, kind and school) before any is
    /// stored, and they are stored in one transaction. A feature whose <c>id</c> names a zone the scope may
    /// change replaces it (so an export, edited, imports back); any other feature becomes a new zone.
    /// </summary>
    /// <returns>The imported zones as a FeatureCollection, in the order of the import.</returns>
    public async Task<JsonObject> ImportAsync(StaffScope scope, JsonElement collection, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageZones);
        var parsed = GeoJsonZoneCollection.Parse(collection);
        if (!parsed.IsValid)
        {
            throw new RequestValidationException(new() { ["features"] = [.. parsed.Errors] });
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var imported = new List<Zone>();
        foreach (var item in parsed.Features)
        {
            var existing = FeatureId(item.Feature) is { } id && await scope.ManageableZones(db).AnyAsync(z => z.Id == id, cancellationToken)
                ? await db.Zones.FirstAsync(z => z.Id == id, cancellationToken)
                : null;
            var zone = existing ?? new Zone { Id = Guid.CreateVersion7(), Name = "", Kind = "", GeometryJson = "", CreatedAt = now };
            var oldSchool = zone.SchoolId;
            try
            {
                var (school, schoolGiven) = await ApplyAsync(zone, item.Feature, db, cancellationToken);
                zone.SchoolId = schoolGiven ? school : existing is not null ? oldSchool : scope.IsDistrictWide ? null : scope.SchoolId;
            }
            catch (RequestValidationException invalid)
            {
                foreach (var (key, messages) in invalid.Errors)
                {
                    errors[Invariant($"features[{item.Index}].{key}")] = messages;
                }

                continue;
            }

            var field = Invariant($"features[{item.Index}].properties.schoolId");
            if (existing is not null && zone.SchoolId != oldSchool)
            {
                scope.EnsureIncludesSchool(oldSchool, field);
            }

            scope.EnsureIncludesSchool(zone.SchoolId, field);
            zone.UpdatedAt = now;
            if (existing is null)
            {
                db.Zones.Add(zone);
            }

            audit.Record(db, existing is null ? "zone.create" : "zone.update", "zone", zone.Id.ToString(), $"{zone.Kind} {zone.Name} (imported)", zone.SchoolId);
            imported.Add(zone);
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        await db.SaveChangesAsync(cancellationToken);
        await membership.ReloadAsync(cancellationToken);
        distributor.RequestAll();
        return new JsonObject { ["type"] = "FeatureCollection", ["features"] = new JsonArray([.. imported.Select(Feature)]) };
    }

    /// <summary>
    /// The devices of the scope that are inside a zone now (as <see cref="ZoneMembership"/> last confirmed
    /// them, by name): where devices are is location data. Null when there is no such zone.
    /// </summary>
    public async Task<IReadOnlyList<ZoneDeviceDto>?> DevicesInsideAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadLocations);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Zones.AnyAsync(z => z.Id == id, cancellationToken))
        {
            return null;
        }

        var inside = membership.DevicesInside(id);
        var devices = new List<ZoneDeviceDto>();
        foreach (var chunk in inside.Chunk(500))
        {
            devices.AddRange(await (
                from d in scope.Devices(db).Where(d => chunk.Contains(d.Id))
                join p in db.People on d.AssignedPersonId equals p.Id into people
                from p in people.DefaultIfEmpty()
                select new ZoneDeviceDto(d.Id, d.Name, p == null ? null : p.GivenName + " " + p.FamilyName)).ToListAsync(cancellationToken));
            if (devices.Count >= MaxDevicesInside)
            {
                break;
            }
        }

        return [.. devices.OrderBy(d => d.Name, StringComparer.OrdinalIgnoreCase).Take(MaxDevicesInside)];
    }

    /// <summary>
    /// A device of the scope's state in each zone, as <see cref="ZoneMembership"/> holds it now, with the
    /// signal that decided each state. Location data: audited. Null when the device is not in the scope.
    /// </summary>
    public async Task<IReadOnlyList<DeviceZoneDto>?> DeviceZonesAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadLocations);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await scope.Devices(db).Where(d => d.Id == deviceId).Select(d => new { d.SchoolId }).FirstOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return null;
        }

        var states = membership.StatesOf(deviceId).Select(s => new DeviceZoneDto(
            s.ZoneId, s.ZoneName, s.Kind, s.State.ToString().ToLowerInvariant(), s.LastChange?.At,
            s.LastChange?.Signal.ToString().ToLowerInvariant(), s.LastChange?.Explanation, s.NetworkMatch)).ToList();
        audit.Record(db, "device.zones.read", "device", deviceId.ToString(), $"{states.Count} zones", device.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return states;
    }

    /// <summary>Most devices <see cref="DevicesInsideAsync"/> lists.</summary>
    public const int MaxDevicesInside = 500;

    private static Guid? FeatureId(JsonElement feature) =>
        feature.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && Guid.TryParse(id.GetString(), out var parsed) ? parsed : null;

    private static string Invariant(FormattableString text) => text.ToString(System.Globalization.CultureInfo.InvariantCulture);

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

        var publicRanges = ReadRanges(properties, "publicRanges", validation);
        var localRanges = ReadRanges(properties, "localRanges", validation);
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
        zone.PublicRangesJson = publicRanges is { IsEmpty: false } ? JsonSerializer.Serialize(publicRanges.Entries) : null;
        zone.LocalRangesJson = localRanges is { IsEmpty: false } ? JsonSerializer.Serialize(localRanges.Entries) : null;
        return (schoolId, school is not null);
    }

    // properties.publicRanges / localRanges: arrays of CIDRs (absent or null: none), checked by NetworkRanges.
    private static NetworkRanges? ReadRanges(JsonElement properties, string name, Validation validation)
    {
        var field = "properties." + name;
        if (properties.ValueKind != JsonValueKind.Object || !properties.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return NetworkRanges.Empty;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > NetworkRanges.MaxRanges || value.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            validation.Add(field, $"A list of at most {NetworkRanges.MaxRanges} networks like 203.0.113.0/24.");
            return null;
        }

        var ranges = NetworkRanges.Parse([.. value.EnumerateArray().Select(e => e.GetString())], out var errors);
        if (errors.Count > 0)
        {
            validation.Errors[field] = [.. errors];
        }

        return ranges;
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
        properties["publicRanges"] = new JsonArray([.. ZoneMembership.Ranges(zone.PublicRangesJson).Entries.Select(e => (JsonNode)JsonValue.Create(e))]);
        properties["localRanges"] = new JsonArray([.. ZoneMembership.Ranges(zone.LocalRangesJson).Entries.Select(e => (JsonNode)JsonValue.Create(e))]);
        return feature;
    }
}
