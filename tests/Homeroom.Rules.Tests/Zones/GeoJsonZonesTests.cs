using System.Globalization;
using System.Text;
using System.Text.Json;
using Homeroom.Rules.Zones;

namespace Homeroom.Rules.Tests.Zones;

public sealed class GeoJsonZonesTests
{
    // A school campus in Seattle, about 300 m by 445 m, and a courtyard in the middle of it.
    private static readonly GeoPoint[] Campus = ZoneBuilder.Rectangle(-122.302, 47.598, -122.298, 47.602);
    private static readonly GeoPoint[] Courtyard = ZoneBuilder.Rectangle(-122.3005, 47.5995, -122.2995, 47.6005);
    private static readonly GeoPoint[] PlayingField = ZoneBuilder.Rectangle(-122.296, 47.598, -122.294, 47.600);

    private static readonly GeoPoint InCampus = new(-122.3015, 47.5985);
    private static readonly GeoPoint InCourtyard = new(-122.3, 47.6);
    private static readonly GeoPoint InPlayingField = new(-122.295, 47.599);
    private static readonly GeoPoint DownTheRoad = new(-122.31, 47.60);

    [Fact]
    public void Parse_Square_ContainsPointsInsideOnly()
    {
        var shape = ZoneBuilder.Parse(ZoneBuilder.Polygon(Campus)).ShouldBeValid();

        shape.ShouldBeOfType<PolygonZone>();
        shape.Contains(InCampus).ShouldBeTrue();
        shape.Contains(InCourtyard).ShouldBeTrue();
        shape.Contains(DownTheRoad).ShouldBeFalse();
        shape.Contains(InPlayingField).ShouldBeFalse();
    }

    [Fact]
    public void Parse_PolygonWithHole_PointInHoleIsOutside()
    {
        var shape = ZoneBuilder.Parse(ZoneBuilder.Polygon(Campus, Courtyard)).ShouldBeValid();

        shape.Contains(InCourtyard).ShouldBeFalse();
        shape.Contains(InCampus).ShouldBeTrue();
        shape.Contains(DownTheRoad).ShouldBeFalse();
    }

    [Fact]
    public void Parse_MultiPolygon_ContainsPointsInEachPolygon()
    {
        var shape = ZoneBuilder.Parse(ZoneBuilder.MultiPolygon([Campus, Courtyard], [PlayingField])).ShouldBeValid();

        var zone = shape.ShouldBeOfType<PolygonZone>();
        zone.Polygons.Count.ShouldBe(2);
        zone.Polygons[0].Holes.Count.ShouldBe(1);
        shape.Contains(InCampus).ShouldBeTrue();
        shape.Contains(InPlayingField).ShouldBeTrue();
        shape.Contains(InCourtyard).ShouldBeFalse();
        shape.Contains(DownTheRoad).ShouldBeFalse();
    }

    [Fact]
    public void Parse_FeatureWithPolygon_ReadsItsGeometry()
    {
        var json = $$"""{"type":"Feature","properties":{"name":"Main campus"},"geometry":{{ZoneBuilder.Polygon(Campus)}}}""";

        var shape = ZoneBuilder.Parse(json).ShouldBeValid();

        shape.ShouldBe(new PolygonZone(new ZonePolygon(Campus)));
    }

    [Fact]
    public void Parse_PointFeatureWithRadius_MakesCircle()
    {
        var json = """
            {"type":"Feature","geometry":{"type":"Point","coordinates":[-122.3,47.6]},"properties":{"radius":250}}
            """;

        var shape = ZoneBuilder.Parse(json).ShouldBeValid();

        shape.ShouldBe(new CircleZone(new GeoPoint(-122.3, 47.6), 250));
        shape.Contains(new GeoPoint(-122.3, 47.6020)).ShouldBeTrue();
        shape.Contains(new GeoPoint(-122.3, 47.6025)).ShouldBeFalse();
    }

    [Fact]
    public void Parse_ClockwiseRing_IsAccepted()
    {
        var clockwise = Campus.AsEnumerable().Reverse().ToArray();

        var shape = ZoneBuilder.Parse(ZoneBuilder.Polygon(clockwise, Courtyard)).ShouldBeValid();

        shape.Contains(InCampus).ShouldBeTrue();
        shape.Contains(InCourtyard).ShouldBeFalse();
    }

    [Fact]
    public void Parse_Altitude_IsIgnored()
    {
        var json = """
            {"type":"Polygon","coordinates":[[[-122.302,47.598,12.5],[-122.298,47.598,13],[-122.298,47.602,14],[-122.302,47.602,15],[-122.302,47.598,16]]]}
            """;

        var shape = ZoneBuilder.Parse(json).ShouldBeValid();

        shape.ShouldBe(new PolygonZone(new ZonePolygon(Campus)));
    }

    [Fact]
    public void Parse_MissingType_ReportsType() =>
        ZoneBuilder.Parse("""{"coordinates":[]}""").ShouldFailWith("type: missing");

    [Theory]
    [InlineData("""{"type":"LineString","coordinates":[[-122.3,47.6],[-122.2,47.6]]}""", "type: 'LineString' is not supported")]
    [InlineData("""{"type":"GeometryCollection","geometries":[]}""", "type: 'GeometryCollection' is not supported")]
    [InlineData("""{"type":"polygon","coordinates":[]}""", "type: 'polygon' is not supported")]
    [InlineData("""{"type":"Point","coordinates":[-122.3,47.6]}""", "type: 'Point' is not supported")]
    [InlineData("""{"type":"Feature","geometry":{"type":"LineString","coordinates":[]}}""", "geometry.type: 'LineString' is not supported")]
    [InlineData("""{"type":"Feature","geometry":null,"properties":null}""", "geometry: missing")]
    [InlineData("""{"type":7}""", "type: expected a string")]
    [InlineData("""[1,2]""", "(root): expected a GeoJSON object")]
    public void Parse_UnsupportedType_NamesTheType(string json, string error) =>
        ZoneBuilder.Parse(json).ShouldFailWith(error);

    [Fact]
    public void Parse_BowTie_ReportsSelfIntersection()
    {
        GeoPoint[] bowTie = [new(-122.302, 47.598), new(-122.298, 47.602), new(-122.298, 47.598), new(-122.302, 47.602), new(-122.302, 47.598)];

        ZoneBuilder.Parse(ZoneBuilder.Polygon(bowTie)).ShouldFailWith("coordinates[0]: the ring crosses or touches itself");
    }

    [Fact]
    public void Parse_RingTouchingItselfAtOnePosition_ReportsSelfIntersection()
    {
        // A figure eight: two squares meeting at one corner, drawn as one ring.
        GeoPoint[] figureEight =
        [
            new(-122.302, 47.598), new(-122.300, 47.598), new(-122.300, 47.600), new(-122.298, 47.600),
            new(-122.298, 47.602), new(-122.300, 47.602), new(-122.300, 47.600), new(-122.302, 47.600),
            new(-122.302, 47.598),
        ];

        ZoneBuilder.Parse(ZoneBuilder.Polygon(figureEight)).ShouldFailWith("coordinates[0]: the ring crosses or touches itself");
    }

    [Fact]
    public void Parse_EdgeFoldingBack_ReportsPosition()
    {
        // A spike: out to the east along the south edge and straight back again.
        GeoPoint[] spike =
        [
            new(-122.302, 47.598), new(-122.296, 47.598), new(-122.298, 47.598), new(-122.298, 47.602),
            new(-122.302, 47.602), new(-122.302, 47.598),
        ];

        ZoneBuilder.Parse(ZoneBuilder.Polygon(spike)).ShouldFailWith("coordinates[0][1]: the ring folds back on itself");
    }

    [Fact]
    public void Parse_UnclosedRing_ReportsRing()
    {
        var open = Campus[..^1].Append(new GeoPoint(-122.302, 47.5985)).ToArray();

        ZoneBuilder.Parse(ZoneBuilder.Polygon(open)).ShouldFailWith("coordinates[0]: the ring is not closed");
    }

    [Fact]
    public void Parse_TooFewPositions_ReportsRing()
    {
        GeoPoint[] line = [new(-122.302, 47.598), new(-122.298, 47.602), new(-122.302, 47.598)];

        ZoneBuilder.Parse(ZoneBuilder.Polygon(Campus, line)).ShouldFailWith("coordinates[1]: a linear ring needs at least 4 positions, got 3");
    }

    [Fact]
    public void Parse_RepeatedPosition_ReportsPosition()
    {
        GeoPoint[] repeated = [Campus[0], Campus[1], Campus[1], Campus[2], Campus[3], Campus[4]];

        ZoneBuilder.Parse(ZoneBuilder.Polygon(repeated)).ShouldFailWith("coordinates[0][2]: repeats the previous position");
    }

    [Theory]
    [InlineData(-180.5, 47.6, "coordinates[0][2]: longitude -180.5 is outside [-180, 180]")]
    [InlineData(200, 47.6, "coordinates[0][2]: longitude 200 is outside [-180, 180]")]
    [InlineData(-122.3, 90.01, "coordinates[0][2]: latitude 90.01 is outside [-90, 90]")]
    [InlineData(-122.3, -95, "coordinates[0][2]: latitude -95 is outside [-90, 90]")]
    public void Parse_CoordinateOutOfRange_ReportsPosition(double longitude, double latitude, string error)
    {
        var ring = Campus.ToArray();
        ring[2] = new GeoPoint(longitude, latitude);

        ZoneBuilder.Parse(ZoneBuilder.Polygon(ring)).ShouldFailWith(error);
    }

    [Theory]
    [InlineData("""[["-122.302",47.598],[-122.298,47.598],[-122.298,47.602],[-122.302,47.598]]""", "coordinates[0][0]: longitude must be a finite number")]
    [InlineData("""[[-122.302,47.598],[-122.298,null],[-122.298,47.602],[-122.302,47.598]]""", "coordinates[0][1]: latitude must be a finite number")]
    [InlineData("""[[-122.302,47.598],[-122.298,1e400],[-122.298,47.602],[-122.302,47.598]]""", "coordinates[0][1]: latitude must be a finite number")]
    [InlineData("""[[-122.302,47.598],[-122.298],[-122.298,47.602],[-122.302,47.598]]""", "coordinates[0][1]: expected [longitude, latitude]")]
    [InlineData("""[[-122.302,47.598],[-122.298,47.598,1,2],[-122.298,47.602],[-122.302,47.598]]""", "coordinates[0][1]: expected [longitude, latitude]")]
    [InlineData("""[[-122.302,47.598],[-122.298,47.598,"high"],[-122.298,47.602],[-122.302,47.598]]""", "coordinates[0][1]: altitude must be a number")]
    [InlineData("""{"ring":1}""", "coordinates[0]: expected an array of positions")]
    public void Parse_MalformedPosition_ReportsPosition(string ring, string error) =>
        ZoneBuilder.Parse($$"""{"type":"Polygon","coordinates":[{{ring}}]}""").ShouldFailWith(error);

    [Fact]
    public void Parse_HoleOutsideShell_ReportsHole() =>
        ZoneBuilder.Parse(ZoneBuilder.Polygon(Campus, PlayingField)).ShouldFailWith("coordinates[1]: the hole lies outside its outer ring coordinates[0]");

    [Fact]
    public void Parse_HoleCrossingShell_ReportsHole()
    {
        var crossing = ZoneBuilder.Rectangle(-122.2990, 47.5990, -122.2970, 47.6000);

        ZoneBuilder.Parse(ZoneBuilder.Polygon(Campus, crossing)).ShouldFailWith("coordinates[1]: the hole crosses or touches its outer ring");
    }

    [Fact]
    public void Parse_HoleTouchingShell_ReportsHole()
    {
        var touching = ZoneBuilder.Rectangle(-122.2990, 47.5990, -122.2980, 47.6000);

        ZoneBuilder.Parse(ZoneBuilder.Polygon(Campus, touching)).ShouldFailWith("coordinates[1]: the hole crosses or touches its outer ring");
    }

    [Fact]
    public void Parse_OverlappingHoles_ReportsHole()
    {
        var overlapping = ZoneBuilder.Rectangle(-122.3000, 47.6000, -122.2990, 47.6010);

        ZoneBuilder.Parse(ZoneBuilder.Polygon(Campus, Courtyard, overlapping)).ShouldFailWith("coordinates[2]: the hole crosses or touches the hole coordinates[1]");
    }

    [Fact]
    public void Parse_HoleInsideHole_ReportsHole()
    {
        var inner = ZoneBuilder.Rectangle(-122.3001, 47.5999, -122.2999, 47.6001);

        ZoneBuilder.Parse(ZoneBuilder.Polygon(Campus, Courtyard, inner)).ShouldFailWith("coordinates[2]: the hole lies inside the hole coordinates[1]");
    }

    [Fact]
    public void Parse_ErrorInMultiPolygon_NamesPolygonRingAndPosition()
    {
        var ring = PlayingField.ToArray();
        ring[3] = new GeoPoint(-122.296, 91);

        ZoneBuilder.Parse(ZoneBuilder.MultiPolygon([Campus], [ring])).ShouldFailWith("coordinates[1][0][3]: latitude 91 is outside [-90, 90]");
    }

    [Fact]
    public void Parse_ErrorInFeatureGeometry_NamesGeometry()
    {
        var json = $$"""{"type":"Feature","properties":{},"geometry":{{ZoneBuilder.Polygon(Campus[..3])}}}""";

        ZoneBuilder.Parse(json).ShouldFailWith("geometry.coordinates[0]: a linear ring needs at least 4 positions");
    }

    [Fact]
    public void Parse_TooManyPositions_ReportsCount()
    {
        var ring = ZoneBuilder.RoundRing(GeoJsonZones.MaxPositions - 4);

        ZoneBuilder.Parse(ZoneBuilder.Polygon(ring, Courtyard)).ShouldFailWith("coordinates: 10001 positions; at most 10000 are allowed");
    }

    [Fact]
    public void Parse_TooManyPolygons_ReportsCount()
    {
        var squares = Enumerable.Range(0, GeoJsonZones.MaxPolygons + 1)
            .Select(i => new[] { ZoneBuilder.Rectangle(-122.3 + (i * 0.001), 47.6, -122.2995 + (i * 0.001), 47.6005) })
            .ToArray();

        ZoneBuilder.Parse(ZoneBuilder.MultiPolygon(squares)).ShouldFailWith("coordinates: 101 polygons; at most 100 are allowed");
    }

    [Fact]
    public void Parse_MaxPolygons_IsAccepted()
    {
        var squares = Enumerable.Range(0, GeoJsonZones.MaxPolygons)
            .Select(i => new[] { ZoneBuilder.Rectangle(-122.3 + (i * 0.001), 47.6, -122.2995 + (i * 0.001), 47.6005) })
            .ToArray();

        ZoneBuilder.Parse(ZoneBuilder.MultiPolygon(squares)).ShouldBeValid().ShouldBeOfType<PolygonZone>().Polygons.Count.ShouldBe(100);
    }

    [Theory]
    [InlineData("0", "properties.radius: 0 is outside (0, 100000] meters")]
    [InlineData("-25", "properties.radius: -25 is outside (0, 100000] meters")]
    [InlineData("100000.5", "properties.radius: 100000.5 is outside (0, 100000] meters")]
    [InlineData("\"200\"", "properties.radius: expected a number of meters")]
    public void Parse_CircleRadiusOutOfRange_ReportsRadius(string radius, string error) =>
        ZoneBuilder.Parse($$$"""{"type":"Feature","geometry":{"type":"Point","coordinates":[-122.3,47.6]},"properties":{"radius":{{{radius}}}}}""")
            .ShouldFailWith(error);

    [Fact]
    public void Parse_PointWithoutRadius_ReportsRadius() =>
        ZoneBuilder.Parse("""{"type":"Feature","geometry":{"type":"Point","coordinates":[-122.3,47.6]},"properties":null}""")
            .ShouldFailWith("properties.radius: missing");

    [Fact]
    public void Parse_CircleCentreOutOfRange_ReportsCoordinates() =>
        ZoneBuilder.Parse("""{"type":"Feature","geometry":{"type":"Point","coordinates":[-222.3,47.6]},"properties":{"radius":100}}""")
            .ShouldFailWith("geometry.coordinates: longitude -222.3 is outside [-180, 180]");

    [Fact]
    public void Parse_ManyErrors_ListsAtMostTheLimit()
    {
        var ring = ZoneBuilder.RoundRing(500).Select(p => p with { Latitude = 95 }).ToArray();

        var result = ZoneBuilder.Parse(ZoneBuilder.Polygon(ring));

        result.Shape.ShouldBeNull();
        result.Errors.Count.ShouldBe(GeoJsonZones.MaxErrors + 1);
        result.Errors[^1].ShouldBe("... and 480 more errors");
    }

    // The largest outlines: how long their check takes is measured by bench/zones/run.sh, not here.
    [Fact]
    public void Parse_RoundRingOfMaxPositions_IsAccepted()
    {
        var json = ZoneBuilder.Polygon(ZoneBuilder.RoundRing(GeoJsonZones.MaxPositions));

        var shape = ZoneBuilder.Parse(json).ShouldBeValid();

        shape.ShouldBeOfType<PolygonZone>().Polygons[0].Outer.Count.ShouldBe(GeoJsonZones.MaxPositions);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Parse_SawtoothOfMaxPositions_IsAccepted(bool upright)
    {
        // Long teeth, each spanning the whole zone one way, so sorting along that axis prunes nothing.
        GeoPoint Turn(GeoPoint p) => upright ? new GeoPoint(-122.3 + (p.Latitude - 47.6), 47.6 + (p.Longitude + 122.3)) : p;
        var ring = ZoneBuilder.Sawtooth(GeoJsonZones.MaxPositions, shear: 0).Select(Turn).ToArray();

        var shape = ZoneBuilder.Parse(ZoneBuilder.Polygon(ring)).ShouldBeValid();

        shape.Contains(Turn(new GeoPoint(-122.3, 47.59875))).ShouldBeTrue();
        shape.Contains(Turn(new GeoPoint(-122.3, 47.6005))).ShouldBeFalse();
    }

    [Fact]
    public void Parse_CombOfLongDiagonalTeeth_IsRefused()
    {
        // Sheared so that every edge's box overlaps every other's: checking all pairs would be slow.
        var ring = ZoneBuilder.Sawtooth(GeoJsonZones.MaxPositions, shear: 2);

        ZoneBuilder.Parse(ZoneBuilder.Polygon(ring)).ShouldFailWith("coordinates: the outline is too intricate to check");
    }

    [Fact]
    public void Parse_ShortDiagonalComb_IsAccepted() =>
        ZoneBuilder.Parse(ZoneBuilder.Polygon(ZoneBuilder.Sawtooth(500, shear: 2))).ShouldBeValid();

    [Fact]
    public void Write_SinglePolygon_WritesPolygon()
    {
        var json = ZoneBuilder.Write(new PolygonZone(new ZonePolygon(Campus)));

        using var document = JsonDocument.Parse(json);
        document.RootElement.GetProperty("type").GetString().ShouldBe("Polygon");
        document.RootElement.GetProperty("coordinates")[0].GetArrayLength().ShouldBe(5);
        document.RootElement.GetProperty("coordinates")[0][1][0].GetDouble().ShouldBe(-122.298);
        document.RootElement.GetProperty("coordinates")[0][1][1].GetDouble().ShouldBe(47.598);
    }

    [Fact]
    public void Write_Circle_WritesPointFeatureWithRadius() =>
        ZoneBuilder.Write(new CircleZone(new GeoPoint(-122.3, 47.6), 250))
            .ShouldBe("""{"type":"Feature","geometry":{"type":"Point","coordinates":[-122.3,47.6]},"properties":{"radius":250}}""");

    [Fact]
    public void Write_ThenParse_GivesEqualShape()
    {
        ZoneShape[] shapes =
        [
            new PolygonZone(new ZonePolygon(Campus)),
            new PolygonZone(new ZonePolygon(Campus, Courtyard)),
            new PolygonZone(new ZonePolygon(Campus, Courtyard), new ZonePolygon(PlayingField)),
            new PolygonZone(new ZonePolygon(ZoneBuilder.RoundRing(1000))),
            new CircleZone(new GeoPoint(-122.30012345678901, 47.60098765432109), 321.123456789),
        ];

        foreach (var shape in shapes)
        {
            var json = ZoneBuilder.Write(shape);

            ZoneBuilder.Parse(json).ShouldBeValid().ShouldBe(shape, json);
        }
    }

    [Fact]
    public void Write_ThenParse_DifferentShapesAreNotEqual()
    {
        var withHole = new PolygonZone(new ZonePolygon(Campus, Courtyard));

        ZoneBuilder.Parse(ZoneBuilder.Write(withHole)).ShouldBeValid().ShouldNotBe(new PolygonZone(new ZonePolygon(Campus)));
    }
}

/// <summary>Builds GeoJSON text for zones, so tests say which shape they mean rather than spell out JSON.</summary>
internal static class ZoneBuilder
{
    /// <summary>A counter-clockwise closed rectangle.</summary>
    public static GeoPoint[] Rectangle(double west, double south, double east, double north) =>
        [new(west, south), new(east, south), new(east, north), new(west, north), new(west, south)];

    /// <summary>A closed ring of <paramref name="positions"/> positions (the last repeating the first) round the campus.</summary>
    public static GeoPoint[] RoundRing(int positions)
    {
        var ring = new GeoPoint[positions];
        for (var i = 0; i < positions - 1; i++)
        {
            var angle = 2 * Math.PI * i / (positions - 1);
            ring[i] = new GeoPoint(-122.3 + (0.003 * Math.Cos(angle)), 47.6 + (0.002 * Math.Sin(angle)));
        }

        ring[^1] = ring[0];
        return ring;
    }

    /// <summary>Great-circle distance, computed here independently of the code under test.</summary>
    public static double HaversineMeters(GeoPoint a, GeoPoint b)
    {
        var dLat = double.DegreesToRadians(b.Latitude - a.Latitude);
        var dLon = double.DegreesToRadians(b.Longitude - a.Longitude);
        var h = Math.Pow(Math.Sin(dLat / 2), 2)
            + (Math.Cos(double.DegreesToRadians(a.Latitude)) * Math.Cos(double.DegreesToRadians(b.Latitude)) * Math.Pow(Math.Sin(dLon / 2), 2));
        return 2 * ZoneShape.EarthRadiusMeters * Math.Asin(Math.Sqrt(h));
    }

    /// <summary>
    /// A closed ring of <paramref name="positions"/> positions: a sawtooth of teeth 0.001° tall and 0.4 m
    /// apart, running east across the campus, closed along the south. <paramref name="shear"/> leans
    /// the teeth east by that many degrees per degree of height.
    /// </summary>
    public static GeoPoint[] Sawtooth(int positions, double shear)
    {
        const double west = -122.302, south = 47.599, height = 0.001, spacing = 0.000005;
        var teeth = positions - 3;
        var ring = new GeoPoint[positions];
        for (var k = 0; k < teeth; k++)
        {
            var up = k % 2 == 1 ? height : 0;
            ring[k] = new GeoPoint(west + (k * spacing) + (up * shear), south + up);
        }

        var east = ring[teeth - 1].Longitude;
        ring[teeth] = new GeoPoint(east, south - 0.0005);
        ring[teeth + 1] = new GeoPoint(west, south - 0.0005);
        ring[teeth + 2] = ring[0];
        return ring;
    }

    public static string Polygon(params GeoPoint[][] rings) =>
        $$"""{"type":"Polygon","coordinates":{{PolygonCoordinates(rings)}}}""";

    public static string MultiPolygon(params GeoPoint[][][] polygons) =>
        $$"""{"type":"MultiPolygon","coordinates":[{{string.Join(",", polygons.Select(PolygonCoordinates))}}]}""";

    public static ZoneParseResult Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return GeoJsonZones.Parse(document.RootElement);
    }

    public static string Write(ZoneShape shape)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            GeoJsonZones.Write(writer, shape);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static ZoneShape ShouldBeValid(this ZoneParseResult result)
    {
        result.Errors.ShouldBeEmpty();
        return result.Shape.ShouldNotBeNull();
    }

    public static void ShouldFailWith(this ZoneParseResult result, string errorStart)
    {
        result.Shape.ShouldBeNull();
        result.Errors.ShouldContain(error => error.StartsWith(errorStart, StringComparison.Ordinal), string.Join(Environment.NewLine, result.Errors));
    }

    private static string PolygonCoordinates(GeoPoint[][] rings) =>
        "[" + string.Join(",", rings.Select(ring => "[" + string.Join(",", ring.Select(Position)) + "]")) + "]";

    private static string Position(GeoPoint p) =>
        string.Create(CultureInfo.InvariantCulture, $"[{p.Longitude},{p.Latitude}]");
}
