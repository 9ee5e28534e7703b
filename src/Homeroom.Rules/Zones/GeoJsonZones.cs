using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;

namespace Homeroom.Rules.Zones;

/// <summary>The outcome of <see cref="GeoJsonZones.Parse"/>: a zone, or the reasons there is none.</summary>
/// <param name="Shape">The zone; null when there are errors.</param>
/// <param name="Errors">What is wrong, each naming where (for example <c>coordinates[0][3]</c>); empty on success.</param>
public sealed record ZoneParseResult(ZoneShape? Shape, IReadOnlyList<string> Errors)
{
    /// <summary>True when the zone parsed without errors.</summary>
    [MemberNotNullWhen(true, nameof(Shape))]
    public bool IsValid => Shape is not null;
}

/// <summary>
/// Reads and writes zones as GeoJSON (RFC 7946: positions are [longitude, latitude], an optional altitude
/// is ignored). Accepted: a <c>Polygon</c> or <c>MultiPolygon</c> geometry, a <c>Feature</c> with one of
/// those, or a <c>Feature</c> with a <c>Point</c> geometry and <c>properties.radius</c> in meters (a circle).
/// </summary>
/// <remarks>
/// Rings must have at least 4 positions, be closed, repeat no position twice in a row and be simple (no
/// edge meets another except where neighbours share a position, and no edge folds back along the one
/// before). Holes must lie inside their outer ring without touching it or each other, and not inside
/// another hole. Ring orientation is not enforced. Polygons of a multipolygon may overlap (a point in
/// either is inside).
/// </remarks>
public static class GeoJsonZones
{
    /// <summary>Most positions in one zone, over all its rings.</summary>
    public const int MaxPositions = 10_000;

    /// <summary>Most polygons in one multipolygon.</summary>
    public const int MaxPolygons = 100;

    /// <summary>Largest circle radius in meters.</summary>
    public const double MaxRadiusMeters = 100_000;

    /// <summary>Errors reported before giving up on listing more.</summary>
    public const int MaxErrors = 20;

    /// <summary>Reads a zone from a GeoJSON geometry or feature, validating it.</summary>
    public static ZoneParseResult Parse(JsonElement geometry)
    {
        var errors = new ErrorList();
        var shape = ParseRoot(geometry, errors);
        return errors.Count == 0 && shape is not null
            ? new ZoneParseResult(shape, [])
            : new ZoneParseResult(null, errors.ToArray());
    }

    /// <summary>
    /// Writes a zone as GeoJSON: a multipolygon of one polygon as a <c>Polygon</c> geometry, of more as a
    /// <c>MultiPolygon</c>, and a circle as a <c>Feature</c> with a <c>Point</c> geometry and
    /// <c>properties.radius</c>. <see cref="Parse"/> reads the output back to an equal zone.
    /// </summary>
    public static void Write(Utf8JsonWriter writer, ZoneShape shape)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(shape);
        switch (shape)
        {
            case CircleZone circle:
                writer.WriteStartObject();
                writer.WriteString("type", "Feature");
                writer.WriteStartObject("geometry");
                writer.WriteString("type", "Point");
                writer.WritePropertyName("coordinates");
                WritePosition(writer, circle.Center);
                writer.WriteEndObject();
                writer.WriteStartObject("properties");
                writer.WriteNumber("radius", circle.RadiusMeters);
                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
            case PolygonZone { Polygons: [var single] }:
                writer.WriteStartObject();
                writer.WriteString("type", "Polygon");
                writer.WritePropertyName("coordinates");
                WritePolygon(writer, single);
                writer.WriteEndObject();
                break;
            case PolygonZone multi:
                writer.WriteStartObject();
                writer.WriteString("type", "MultiPolygon");
                writer.WriteStartArray("coordinates");
                foreach (var polygon in multi.Polygons)
                {
                    WritePolygon(writer, polygon);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
                break;
            default:
                throw new ArgumentException($"Unknown zone shape {shape.GetType().Name}.", nameof(shape));
        }
    }

    private static void WritePolygon(Utf8JsonWriter writer, ZonePolygon polygon)
    {
        writer.WriteStartArray();
        WriteRing(writer, polygon.Outer);
        foreach (var hole in polygon.Holes)
        {
            WriteRing(writer, hole);
        }

        writer.WriteEndArray();
    }

    private static void WriteRing(Utf8JsonWriter writer, IReadOnlyList<GeoPoint> ring)
    {
        writer.WriteStartArray();
        foreach (var p in ring)
        {
            WritePosition(writer, p);
        }

        writer.WriteEndArray();
    }

    private static void WritePosition(Utf8JsonWriter writer, GeoPoint p)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(p.Longitude);
        writer.WriteNumberValue(p.Latitude);
        writer.WriteEndArray();
    }

    private static ZoneShape? ParseRoot(JsonElement root, ErrorList errors)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"(root): expected a GeoJSON object, got {Describe(root)}");
            return null;
        }

        var type = ReadType(root, "", errors);
        switch (type)
        {
            case null:
                return null;
            case "Polygon" or "MultiPolygon":
                return ParsePolygonal(root, type, "", errors);
            case "Feature":
                return ParseFeature(root, errors);
            default:
                errors.Add($"type: '{type}' is not supported; expected Polygon, MultiPolygon or Feature");
                return null;
        }
    }

    private static ZoneShape? ParseFeature(JsonElement feature, ErrorList errors)
    {
        if (!feature.TryGetProperty("geometry", out var geometry) || geometry.ValueKind == JsonValueKind.Null)
        {
            errors.Add("geometry: missing; a Feature zone needs a Polygon, MultiPolygon or Point geometry");
            return null;
        }

        if (geometry.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"geometry: expected a GeoJSON object, got {Describe(geometry)}");
            return null;
        }

        var type = ReadType(geometry, "geometry.", errors);
        switch (type)
        {
            case null:
                return null;
            case "Polygon" or "MultiPolygon":
                return ParsePolygonal(geometry, type, "geometry.", errors);
            case "Point":
                return ParseCircle(feature, geometry, errors);
            default:
                errors.Add($"geometry.type: '{type}' is not supported; expected Polygon, MultiPolygon or Point");
                return null;
        }
    }

    private static string? ReadType(JsonElement element, string prefix, ErrorList errors)
    {
        if (!element.TryGetProperty("type", out var type))
        {
            errors.Add($"{prefix}type: missing");
            return null;
        }

        if (type.ValueKind != JsonValueKind.String)
        {
            errors.Add($"{prefix}type: expected a string, got {Describe(type)}");
            return null;
        }

        return type.GetString();
    }

    private static CircleZone? ParseCircle(JsonElement feature, JsonElement point, ErrorList errors)
    {
        GeoPoint? center = null;
        if (!point.TryGetProperty("coordinates", out var coordinates))
        {
            errors.Add("geometry.coordinates: missing");
        }
        else
        {
            center = ParsePosition(coordinates, "geometry.coordinates", errors);
        }

        double? radius = null;
        if (!feature.TryGetProperty("properties", out var properties)
            || properties.ValueKind != JsonValueKind.Object
            || !properties.TryGetProperty("radius", out var radiusElement))
        {
            errors.Add("properties.radius: missing; a Point zone needs a radius in meters");
        }
        else if (radiusElement.ValueKind != JsonValueKind.Number
            || !radiusElement.TryGetDouble(out var value)
            || !double.IsFinite(value))
        {
            errors.Add($"properties.radius: expected a number of meters, got {Describe(radiusElement)}");
        }
        else if (value <= 0 || value > MaxRadiusMeters)
        {
            errors.Add(Invariant($"properties.radius: {value} is outside (0, {MaxRadiusMeters}] meters"));
        }
        else
        {
            radius = value;
        }

        return center is { } c && radius is { } r ? new CircleZone(c, r) : null;
    }

    private static PolygonZone? ParsePolygonal(JsonElement geometry, string type, string prefix, ErrorList errors)
    {
        var path = prefix + "coordinates";
        if (!geometry.TryGetProperty("coordinates", out var coordinates))
        {
            errors.Add($"{path}: missing");
            return null;
        }

        if (coordinates.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{path}: expected an array, got {Describe(coordinates)}");
            return null;
        }

        var multi = type == "MultiPolygon";
        var exactTestsLeft = RingTopology.MaxExactTests;
        if (multi && coordinates.GetArrayLength() > MaxPolygons)
        {
            errors.Add(Invariant($"{path}: {coordinates.GetArrayLength()} polygons; at most {MaxPolygons} are allowed"));
            return null;
        }

        // Count before reading anything, so an oversized zone costs no more than this walk.
        var positions = multi ? CountMultiPolygonPositions(coordinates) : CountPolygonPositions(coordinates);
        if (positions > MaxPositions)
        {
            errors.Add(Invariant($"{path}: {positions} positions; at most {MaxPositions} are allowed in one zone"));
            return null;
        }

        if (!multi)
        {
            var polygon = ParsePolygon(coordinates, path, errors, ref exactTestsLeft);
            return polygon is null ? null : new PolygonZone(polygon);
        }

        if (coordinates.GetArrayLength() == 0)
        {
            errors.Add($"{path}: a MultiPolygon needs at least one polygon");
            return null;
        }

        var polygons = new List<ZonePolygon>();
        var index = 0;
        foreach (var element in coordinates.EnumerateArray())
        {
            if (ParsePolygon(element, Invariant($"{path}[{index}]"), errors, ref exactTestsLeft) is { } polygon)
            {
                polygons.Add(polygon);
            }

            index++;
        }

        return polygons.Count == index ? new PolygonZone(polygons) : null;
    }

    private static int CountPolygonPositions(JsonElement rings)
    {
        var count = 0;
        if (rings.ValueKind == JsonValueKind.Array)
        {
            foreach (var ring in rings.EnumerateArray())
            {
                count += ring.ValueKind == JsonValueKind.Array ? ring.GetArrayLength() : 0;
            }
        }

        return count;
    }

    private static int CountMultiPolygonPositions(JsonElement polygons)
    {
        var count = 0;
        foreach (var polygon in polygons.EnumerateArray())
        {
            count += CountPolygonPositions(polygon);
        }

        return count;
    }

    private static ZonePolygon? ParsePolygon(JsonElement element, string path, ErrorList errors, ref int exactTestsLeft)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{path}: expected an array of linear rings, got {Describe(element)}");
            return null;
        }

        if (element.GetArrayLength() == 0)
        {
            errors.Add($"{path}: a polygon needs an outer ring");
            return null;
        }

        var rings = new List<GeoPoint[]>();
        var index = 0;
        foreach (var ringElement in element.EnumerateArray())
        {
            if (ParseRing(ringElement, Invariant($"{path}[{index}]"), errors) is { } ring)
            {
                rings.Add(ring);
            }

            index++;
        }

        if (rings.Count != index || !RingTopology.Validate(rings, path, errors, ref exactTestsLeft))
        {
            return null;
        }

        return new ZonePolygon(rings[0], rings.Skip(1));
    }

    private static GeoPoint[]? ParseRing(JsonElement element, string path, ErrorList errors)
    {
        if (element.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{path}: expected an array of positions, got {Describe(element)}");
            return null;
        }

        var before = errors.Count;
        var ring = new GeoPoint[element.GetArrayLength()];
        var index = 0;
        foreach (var positionElement in element.EnumerateArray())
        {
            var position = ParsePosition(positionElement, Invariant($"{path}[{index}]"), errors);
            ring[index] = position ?? default;
            if (position is not null && index > 0 && errors.Count == before && ring[index] == ring[index - 1])
            {
                errors.Add(Invariant($"{path}[{index}]: repeats the previous position"));
            }

            index++;
        }

        if (ring.Length < 4)
        {
            errors.Add(Invariant($"{path}: a linear ring needs at least 4 positions, got {ring.Length}"));
        }
        else if (errors.Count == before && ring[0] != ring[^1])
        {
            errors.Add($"{path}: the ring is not closed; its last position must equal its first");
        }

        return errors.Count == before ? ring : null;
    }

    private static GeoPoint? ParsePosition(JsonElement element, string path, ErrorList errors)
    {
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() is < 2 or > 3)
        {
            errors.Add($"{path}: expected [longitude, latitude] or [longitude, latitude, altitude], got {Describe(element)}");
            return null;
        }

        var longitude = ReadCoordinate(element[0], path, "longitude", 180, errors);
        var latitude = ReadCoordinate(element[1], path, "latitude", 90, errors);
        if (element.GetArrayLength() == 3 && element[2].ValueKind != JsonValueKind.Number)
        {
            errors.Add($"{path}: altitude must be a number, got {Describe(element[2])}");
            return null;
        }

        return longitude is { } lon && latitude is { } lat ? new GeoPoint(lon, lat) : null;
    }

    private static double? ReadCoordinate(JsonElement element, string path, string name, double limit, ErrorList errors)
    {
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            errors.Add($"{path}: {name} must be a finite number, got {Describe(element)}");
            return null;
        }

        if (value < -limit || value > limit)
        {
            errors.Add(Invariant($"{path}: {name} {value} is outside [-{limit}, {limit}]"));
            return null;
        }

        return value;
    }

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Undefined => "nothing",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => Invariant($"an array of {element.GetArrayLength()}"),
        JsonValueKind.String => "a string",
        JsonValueKind.Number => element.GetRawText(),
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    internal static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Errors so far, cut off after <see cref="MaxErrors"/> so a broken large zone stays readable.</summary>
    internal sealed class ErrorList
    {
        private readonly List<string> _errors = [];
        private int _count;

        /// <summary>Errors added, including those not kept.</summary>
        public int Count => _count;

        public void Add(string error)
        {
            _count++;
            if (_errors.Count < MaxErrors)
            {
                _errors.Add(error);
            }
        }

        public string[] ToArray() => _count > _errors.Count
            ? [.. _errors, Invariant($"... and {_count - _errors.Count} more errors")]
            : [.. _errors];
    }
}

/// <summary>
/// Checks that the rings of one polygon are simple, and that its holes lie inside the outer ring without
/// touching it or each other. Planar in degrees, like the ray casting that uses the rings.
/// </summary>
internal static class RingTopology
{
    /// <summary>
    /// Most pairs of edges with overlapping boxes given the exact intersection test, over a whole zone.
    /// Real outlines need few: a circle or a sawtooth of 10,000 positions needs none beyond neighbouring edges.
    /// </summary>
    public const int MaxExactTests = 250_000;

    /// <summary>True when the rings (outer first) form a valid polygon; otherwise adds errors.</summary>
    /// <param name="rings">The outer ring and the holes, each closed, with at least 4 positions and no position repeated in a row.</param>
    /// <param name="path">Where the polygon is, for error messages.</param>
    /// <param name="errors">Where to add errors.</param>
    /// <param name="exactTestsLeft">What is left of <see cref="MaxExactTests"/> for this zone.</param>
    public static bool Validate(IReadOnlyList<GeoPoint[]> rings, string path, GeoJsonZones.ErrorList errors, ref int exactTestsLeft)
    {
        var before = errors.Count;
        AddFoldBacks(rings, path, errors);
        if (errors.Count == before)
        {
            AddIntersections(rings, path, errors, ref exactTestsLeft);
        }

        if (errors.Count == before)
        {
            AddMisplacedHoles(rings, path, errors);
        }

        return errors.Count == before;
    }

    /// <summary>Neighbouring edges may meet only at their shared position; collinear and reversed, they overlap.</summary>
    private static void AddFoldBacks(IReadOnlyList<GeoPoint[]> rings, string path, GeoJsonZones.ErrorList errors)
    {
        for (var r = 0; r < rings.Count; r++)
        {
            var ring = rings[r];
            var edges = ring.Length - 1;
            for (var k = 0; k < edges; k++)
            {
                var previous = ring[k == 0 ? edges - 1 : k - 1];
                var vertex = ring[k];
                var next = ring[k + 1];
                var dot = ((vertex.Longitude - previous.Longitude) * (next.Longitude - vertex.Longitude))
                    + ((vertex.Latitude - previous.Latitude) * (next.Latitude - vertex.Latitude));
                if (Orientation(previous, vertex, next) == 0 && dot < 0)
                {
                    errors.Add(GeoJsonZones.Invariant($"{path}[{r}][{k}]: the ring folds back on itself at this position"));
                }
            }
        }
    }

    /// <summary>
    /// Every pair of edges that are not neighbours in one ring must not meet at all. Edges are sorted along
    /// the axis where they are shortest relative to the polygon, each is compared only with those whose
    /// range on that axis overlaps, and only pairs whose boxes overlap get the exact test, so real outlines
    /// cost far less than all pairs. Outlines where many thousands of edge boxes overlap (a comb of long
    /// diagonal teeth) are refused rather than checked pair by pair, so a zone never takes long to read.
    /// </summary>
    private static void AddIntersections(IReadOnlyList<GeoPoint[]> rings, string path, GeoJsonZones.ErrorList errors, ref int exactTestsLeft)
    {
        var segments = new Segment[rings.Sum(ring => ring.Length - 1)];
        var n = 0;
        for (var r = 0; r < rings.Count; r++)
        {
            var ring = rings[r];
            for (var e = 0; e < ring.Length - 1; e++)
            {
                segments[n++] = new Segment(r, e, ring[e], ring[e + 1]);
            }
        }

        var byLatitude = RelativeExtent(segments, s => s.A.Latitude, s => s.B.Latitude)
            < RelativeExtent(segments, s => s.A.Longitude, s => s.B.Longitude);
        var sweepLow = new double[n];
        for (var i = 0; i < n; i++)
        {
            sweepLow[i] = byLatitude ? Math.Min(segments[i].A.Latitude, segments[i].B.Latitude) : Math.Min(segments[i].A.Longitude, segments[i].B.Longitude);
        }

        Array.Sort(sweepLow, segments);

        // Parallel arrays keep the hot loop on contiguous doubles.
        var sweepHigh = new double[n];
        var crossLow = new double[n];
        var crossHigh = new double[n];
        for (var i = 0; i < n; i++)
        {
            var (a, b) = (segments[i].A, segments[i].B);
            var (sweepA, sweepB, crossA, crossB) = byLatitude
                ? (a.Latitude, b.Latitude, a.Longitude, b.Longitude)
                : (a.Longitude, b.Longitude, a.Latitude, b.Latitude);
            sweepHigh[i] = Math.Max(sweepA, sweepB);
            crossLow[i] = Math.Min(crossA, crossB);
            crossHigh[i] = Math.Max(crossA, crossB);
        }

        var reported = new HashSet<(int, int)>();
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n && sweepLow[j] <= sweepHigh[i]; j++)
            {
                if (crossLow[j] > crossHigh[i] || crossHigh[j] < crossLow[i])
                {
                    continue;
                }

                ref readonly var s = ref segments[i];
                ref readonly var t = ref segments[j];
                var (first, second) = s.Ring < t.Ring || (s.Ring == t.Ring && s.Edge < t.Edge) ? (s, t) : (t, s);
                if (first.Ring == second.Ring && AreNeighbours(first.Edge, second.Edge, rings[first.Ring].Length - 1))
                {
                    continue;
                }

                if (--exactTestsLeft < 0)
                {
                    errors.Add(GeoJsonZones.Invariant($"{path}: the outline is too intricate to check (too many edges lie close together); simplify it"));
                    return;
                }

                if (!Intersect(first.A, first.B, second.A, second.B) || !reported.Add((first.Ring, second.Ring)))
                {
                    continue;
                }

                errors.Add(first.Ring == second.Ring
                    ? GeoJsonZones.Invariant($"{path}[{first.Ring}]: the ring crosses or touches itself (the edge from position {first.Edge} meets the edge from position {second.Edge})")
                    : first.Ring == 0
                        ? GeoJsonZones.Invariant($"{path}[{second.Ring}]: the hole crosses or touches its outer ring {path}[0]")
                        : GeoJsonZones.Invariant($"{path}[{second.Ring}]: the hole crosses or touches the hole {path}[{first.Ring}]"));
            }
        }
    }

    /// <summary>Mean length of the edges along one axis, as a share of the polygon's extent on it.</summary>
    private static double RelativeExtent(Segment[] segments, Func<Segment, double> fromA, Func<Segment, double> fromB)
    {
        double low = double.PositiveInfinity, high = double.NegativeInfinity, total = 0;
        foreach (var s in segments)
        {
            var (a, b) = (fromA(s), fromB(s));
            low = Math.Min(low, Math.Min(a, b));
            high = Math.Max(high, Math.Max(a, b));
            total += Math.Abs(a - b);
        }

        return high > low ? total / (high - low) : double.PositiveInfinity;
    }

    /// <summary>With no edges meeting, one position of a hole tells on which side of another ring the whole hole lies.</summary>
    private static void AddMisplacedHoles(IReadOnlyList<GeoPoint[]> rings, string path, GeoJsonZones.ErrorList errors)
    {
        var boxes = rings.Select(Box).ToArray();
        for (var h = 1; h < rings.Count; h++)
        {
            var probe = rings[h][0];
            if (!ZonePolygon.RingContains(rings[0], probe))
            {
                errors.Add(GeoJsonZones.Invariant($"{path}[{h}]: the hole lies outside its outer ring {path}[0]"));
                continue;
            }

            for (var g = 1; g < rings.Count; g++)
            {
                var (west, east, south, north) = boxes[g];
                if (g != h
                    && probe.Longitude >= west && probe.Longitude <= east && probe.Latitude >= south && probe.Latitude <= north
                    && ZonePolygon.RingContains(rings[g], probe))
                {
                    errors.Add(GeoJsonZones.Invariant($"{path}[{h}]: the hole lies inside the hole {path}[{g}]"));
                    break;
                }
            }
        }
    }

    private static (double West, double East, double South, double North) Box(GeoPoint[] ring) =>
        (ring.Min(p => p.Longitude), ring.Max(p => p.Longitude), ring.Min(p => p.Latitude), ring.Max(p => p.Latitude));

    private static bool AreNeighbours(int first, int second, int edges) =>
        second - first == 1 || (first == 0 && second == edges - 1);

    /// <summary>True when the closed segments ab and cd share any point, touching and overlapping included.</summary>
    private static bool Intersect(GeoPoint a, GeoPoint b, GeoPoint c, GeoPoint d)
    {
        var abc = Orientation(a, b, c);
        var abd = Orientation(a, b, d);
        var cda = Orientation(c, d, a);
        var cdb = Orientation(c, d, b);
        if (abc * abd < 0 && cda * cdb < 0)
        {
            return true;
        }

        return (abc == 0 && Within(a, b, c))
            || (abd == 0 && Within(a, b, d))
            || (cda == 0 && Within(c, d, a))
            || (cdb == 0 && Within(c, d, b));
    }

    /// <summary>Sign of the turn a → b → c: positive counter-clockwise, negative clockwise, zero collinear.</summary>
    private static int Orientation(GeoPoint a, GeoPoint b, GeoPoint c) =>
        Math.Sign(((b.Longitude - a.Longitude) * (c.Latitude - a.Latitude)) - ((b.Latitude - a.Latitude) * (c.Longitude - a.Longitude)));

    /// <summary>For p collinear with ab: true when p lies on the segment.</summary>
    private static bool Within(GeoPoint a, GeoPoint b, GeoPoint p) =>
        p.Longitude >= Math.Min(a.Longitude, b.Longitude) && p.Longitude <= Math.Max(a.Longitude, b.Longitude)
        && p.Latitude >= Math.Min(a.Latitude, b.Latitude) && p.Latitude <= Math.Max(a.Latitude, b.Latitude);

    private readonly record struct Segment(int Ring, int Edge, GeoPoint A, GeoPoint B);
}
