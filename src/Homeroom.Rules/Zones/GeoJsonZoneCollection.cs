using System.Text.Json;

namespace Homeroom.Rules.Zones;

/// <summary>One feature of an import: where it was, the feature itself (for its properties and id) and its zone.</summary>
/// <param name="Index">Its position in <c>features</c> (0 for a single Feature).</param>
/// <param name="Feature">The Feature object as read.</param>
/// <param name="Shape">Its zone, validated.</param>
public sealed record ZoneImportFeature(int Index, JsonElement Feature, ZoneShape Shape);

/// <summary>The outcome of <see cref="GeoJsonZoneCollection.Parse"/>: every feature's zone, or every reason there are none.</summary>
/// <param name="Features">The features, in order; empty when there are errors.</param>
/// <param name="Errors">What is wrong, each naming where (for example <c>features[2].geometry.coordinates[0]</c>).</param>
public sealed record ZoneImportResult(IReadOnlyList<ZoneImportFeature> Features, IReadOnlyList<string> Errors)
{
    /// <summary>True when every feature is a valid zone.</summary>
    public bool IsValid => Errors.Count == 0;
}

/// <summary>
/// Reads zones for an import: a GeoJSON <c>FeatureCollection</c> of zone features, or one <c>Feature</c>.
/// Each feature is read by <see cref="GeoJsonZones.Parse"/> (a Polygon or MultiPolygon, or a Point with
/// <c>properties.radius</c> in meters for a circle). All or nothing: one bad feature makes the whole import
/// invalid, so a caller never saves half of a file.
/// </summary>
public static class GeoJsonZoneCollection
{
    /// <summary>Most features in one import.</summary>
    public const int MaxFeatures = 200;

    /// <summary>Most positions over all features of one import.</summary>
    public const int MaxTotalPositions = 50_000;

    /// <summary>Reads and validates every feature.</summary>
    public static ZoneImportResult Parse(JsonElement root)
    {
        var errors = new List<string>();
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Fail($"(root): expected a GeoJSON FeatureCollection or Feature, got {Kind(root)}");
        }

        if (!root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return Fail("type: missing; expected FeatureCollection or Feature");
        }

        switch (type.GetString())
        {
            case "Feature":
                var single = GeoJsonZones.Parse(root);
                return single.IsValid
                    ? new ZoneImportResult([new ZoneImportFeature(0, root, single.Shape)], [])
                    : new ZoneImportResult([], single.Errors);
            case "FeatureCollection":
                break;
            case "Polygon" or "MultiPolygon" or "Point":
                return Fail($"type: a bare {type.GetString()} geometry has no name; wrap it in a Feature with properties.name");
            default:
                return Fail($"type: '{type.GetString()}' is not supported; expected FeatureCollection or Feature");
        }

        if (!root.TryGetProperty("features", out var features) || features.ValueKind != JsonValueKind.Array)
        {
            return Fail("features: expected an array of Features");
        }

        var count = features.GetArrayLength();
        if (count == 0)
        {
            return Fail("features: the collection is empty; nothing to import");
        }

        if (count > MaxFeatures)
        {
            return Fail(GeoJsonZones.Invariant($"features: {count} features; at most {MaxFeatures} may be imported at once"));
        }

        var positions = CountPositions(features);
        if (positions > MaxTotalPositions)
        {
            return Fail(GeoJsonZones.Invariant($"features: {positions} positions; at most {MaxTotalPositions} may be imported at once"));
        }

        var parsed = new List<ZoneImportFeature>(count);
        var index = 0;
        foreach (var feature in features.EnumerateArray())
        {
            var prefix = GeoJsonZones.Invariant($"features[{index}]");
            if (feature.ValueKind != JsonValueKind.Object
                || !feature.TryGetProperty("type", out var featureType)
                || featureType.ValueKind != JsonValueKind.String
                || featureType.GetString() != "Feature")
            {
                errors.Add($"{prefix}: expected a Feature");
            }
            else
            {
                var result = GeoJsonZones.Parse(feature);
                if (result.IsValid)
                {
                    parsed.Add(new ZoneImportFeature(index, feature, result.Shape));
                }
                else
                {
                    errors.AddRange(result.Errors.Select(e => $"{prefix}.{e}"));
                }
            }

            if (errors.Count >= GeoJsonZones.MaxErrors)
            {
                errors.Add("... and possibly more errors");
                break;
            }

            index++;
        }

        return errors.Count == 0 ? new ZoneImportResult(parsed, []) : new ZoneImportResult([], errors);
    }

    private static ZoneImportResult Fail(string error) => new([], [error]);

    // Counted before anything is read, so an oversized file costs no more than this walk.
    private static int CountPositions(JsonElement features)
    {
        var count = 0;
        foreach (var feature in features.EnumerateArray())
        {
            if (feature.ValueKind == JsonValueKind.Object
                && feature.TryGetProperty("geometry", out var geometry)
                && geometry.ValueKind == JsonValueKind.Object
                && geometry.TryGetProperty("coordinates", out var coordinates))
            {
                count += Count(coordinates, 0);
            }
        }

        return count;
    }

    // Positions are arrays of numbers; rings, polygons and multipolygons nest at most three deeper.
    private static int Count(JsonElement element, int depth)
    {
        if (element.ValueKind != JsonValueKind.Array || depth > 3)
        {
            return 0;
        }

        var total = 0;
        foreach (var child in element.EnumerateArray())
        {
            total += child.ValueKind == JsonValueKind.Array ? Count(child, depth + 1) : 0;
        }

        return element.GetArrayLength() > 0 && element[0].ValueKind != JsonValueKind.Array ? 1 : total;
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
