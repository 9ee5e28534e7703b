using System.Text;
using System.Text.Json;
using Homeroom.Rules.Zones;

namespace Homeroom.Rules.Tests.Zones;

public sealed class GeoJsonZoneCollectionTests
{
    private const string Square = """{"type":"Polygon","coordinates":[[[-122.302,47.598],[-122.298,47.598],[-122.298,47.602],[-122.302,47.602],[-122.302,47.598]]]}""";
    private const string Circle = """{"type":"Point","coordinates":[-122.3,47.6]}""";

    private static string Feature(string geometry, string properties = """{"name":"Campus"}""") =>
        $$"""{"type":"Feature","properties":{{properties}},"geometry":{{geometry}}}""";

    private static string Collection(params string[] features) => $$"""{"type":"FeatureCollection","features":[{{string.Join(",", features)}}]}""";

    private static ZoneImportResult Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return GeoJsonZoneCollection.Parse(document.RootElement.Clone());
    }

    [Fact]
    public void Parse_CollectionOfPolygonAndCircle_ReadsBothInOrder()
    {
        var result = Parse(Collection(Feature(Square), Feature(Circle, """{"name":"Gym","radius":120}""")));

        result.IsValid.ShouldBeTrue(string.Join("; ", result.Errors));
        result.Features.Count.ShouldBe(2);
        result.Features[0].Shape.ShouldBeOfType<PolygonZone>();
        var circle = result.Features[1].Shape.ShouldBeOfType<CircleZone>();
        circle.RadiusMeters.ShouldBe(120);
        result.Features[1].Index.ShouldBe(1);
        result.Features[1].Feature.GetProperty("properties").GetProperty("name").GetString().ShouldBe("Gym");
    }

    [Fact]
    public void Parse_SingleFeature_IsAnImportOfOne()
    {
        var result = Parse(Feature(Square));

        result.IsValid.ShouldBeTrue();
        result.Features.ShouldHaveSingleItem().Shape.Contains(new GeoPoint(-122.3, 47.6)).ShouldBeTrue();
    }

    [Fact]
    public void Parse_WrittenZonesReadBack_AreEqual()
    {
        var written = Parse(Collection(Feature(Square), Feature(Circle, """{"radius":80}""")));
        var features = written.Features.Select(f =>
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream))
            {
                GeoJsonZones.Write(writer, f.Shape);
            }

            var geometry = Encoding.UTF8.GetString(stream.ToArray());
            return geometry.Contains("\"Feature\"", StringComparison.Ordinal) ? geometry : Feature(geometry);
        });

        var again = Parse(Collection([.. features]));

        again.Features.Select(f => f.Shape).ShouldBe(written.Features.Select(f => f.Shape));
    }

    [Theory]
    [InlineData("[]", "(root): expected a GeoJSON FeatureCollection or Feature, got an array")]
    [InlineData("\"zone\"", "(root): expected a GeoJSON FeatureCollection or Feature, got a string")]
    [InlineData("null", "(root): expected a GeoJSON FeatureCollection or Feature, got null")]
    [InlineData("{}", "type: missing; expected FeatureCollection or Feature")]
    [InlineData("""{"type":7}""", "type: missing; expected FeatureCollection or Feature")]
    [InlineData("""{"type":"GeometryCollection","geometries":[]}""", "type: 'GeometryCollection' is not supported; expected FeatureCollection or Feature")]
    [InlineData("""{"type":"LineString","coordinates":[[0,0],[1,1]]}""", "type: 'LineString' is not supported; expected FeatureCollection or Feature")]
    [InlineData(Square, "type: a bare Polygon geometry has no name; wrap it in a Feature with properties.name")]
    [InlineData("""{"type":"FeatureCollection"}""", "features: expected an array of Features")]
    [InlineData("""{"type":"FeatureCollection","features":{}}""", "features: expected an array of Features")]
    [InlineData("""{"type":"FeatureCollection","features":[]}""", "features: the collection is empty; nothing to import")]
    public void Parse_NotACollection_ExplainsWhy(string json, string error)
    {
        var result = Parse(json);

        result.IsValid.ShouldBeFalse();
        result.Features.ShouldBeEmpty();
        result.Errors.ShouldBe([error]);
    }

    [Theory]
    // Too few points: a triangle needs its first point again, so three positions are not a ring.
    [InlineData("""{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}""", "features[1].geometry.coordinates[0]: a linear ring needs at least 4 positions, got 3")]
    // Self-intersecting: a bow tie.
    [InlineData("""{"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}""", "features[1].geometry.coordinates[0]")]
    // Out of range.
    [InlineData("""{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]}""", "features[1].geometry.coordinates[0][2]: latitude 91 is outside [-90, 90]")]
    [InlineData("""{"type":"Polygon","coordinates":[[[0,0],[181,0],[1,1],[0,0]]]}""", "features[1].geometry.coordinates[0][1]: longitude 181 is outside [-180, 180]")]
    // Not closed.
    [InlineData("""{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}""", "features[1].geometry.coordinates[0]: the ring is not closed; its last position must equal its first")]
    // Wrong types.
    [InlineData("""{"type":"LineString","coordinates":[[0,0],[1,1]]}""", "features[1].geometry.type: 'LineString' is not supported; expected Polygon, MultiPolygon or Point")]
    [InlineData("""{"type":"Polygon","coordinates":"here"}""", "features[1].geometry.coordinates: expected an array, got a string")]
    [InlineData("""{"type":"Polygon","coordinates":[[["0","0"],[1,0],[1,1],[0,0]]]}""", "features[1].geometry.coordinates[0][0]: longitude must be a finite number, got a string")]
    // A circle without a radius, or with a silly one.
    [InlineData(Circle, "features[1].properties.radius: missing; a Point zone needs a radius in meters")]
    public void Parse_OneBadFeature_RefusesTheWholeImport(string badGeometry, string error)
    {
        var result = Parse(Collection(Feature(Square), Feature(badGeometry), Feature(Square)));

        result.IsValid.ShouldBeFalse();
        result.Features.ShouldBeEmpty("nothing of a bad import is usable");
        result.Errors.ShouldContain(e => e.StartsWith(error, StringComparison.Ordinal), string.Join("; ", result.Errors));
    }

    [Theory]
    [InlineData("""{"radius":0}""", "features[1].properties.radius: 0 is outside (0, 100000] meters")]
    [InlineData("""{"radius":-5}""", "features[1].properties.radius: -5 is outside (0, 100000] meters")]
    [InlineData("""{"radius":1e9}""", "features[1].properties.radius: 1000000000 is outside (0, 100000] meters")]
    [InlineData("""{"radius":"big"}""", "features[1].properties.radius: expected a number of meters, got a string")]
    public void Parse_CircleWithBadRadius_IsRefused(string properties, string error)
    {
        var result = Parse(Collection(Feature(Square), Feature(Circle, properties)));

        result.Errors.ShouldBe([error]);
    }

    [Theory]
    [InlineData("7")]
    [InlineData("null")]
    [InlineData("""{"type":"Polygon","coordinates":[]}""")]
    [InlineData("""{"type":"FeatureCollection","features":[]}""")]
    public void Parse_AMemberThatIsNoFeature_IsRefused(string member)
    {
        var result = Parse(Collection(Feature(Square), member));

        result.Errors.ShouldBe(["features[1]: expected a Feature"]);
    }

    [Fact]
    public void Parse_TooManyFeatures_IsRefusedBeforeReadingThem()
    {
        var result = Parse(Collection([.. Enumerable.Repeat(Feature(Square), GeoJsonZoneCollection.MaxFeatures + 1)]));

        result.Errors.ShouldBe([$"features: {GeoJsonZoneCollection.MaxFeatures + 1} features; at most {GeoJsonZoneCollection.MaxFeatures} may be imported at once"]);
    }

    [Fact]
    public void Parse_TooManyPositionsInAll_IsRefused()
    {
        // Each feature is within the per-zone limit; together they are not.
        var ring = ZoneBuilder.RoundRing(GeoJsonZones.MaxPositions);
        var polygon = $$"""{"type":"Polygon","coordinates":[[{{string.Join(",", ring.Select(p => FormattableString.Invariant($"[{p.Longitude},{p.Latitude}]")))}}]]}""";

        var result = Parse(Collection([.. Enumerable.Repeat(Feature(polygon), 6)]));

        result.Errors.ShouldBe([$"features: {6 * GeoJsonZones.MaxPositions} positions; at most {GeoJsonZoneCollection.MaxTotalPositions} may be imported at once"]);
    }

    [Fact]
    public void Parse_ManyBadFeatures_ListsAFewAndStops()
    {
        var result = Parse(Collection([.. Enumerable.Repeat("1", 100)]));

        result.Errors.Count.ShouldBe(GeoJsonZones.MaxErrors + 1);
        result.Errors[^1].ShouldBe("... and possibly more errors");
    }
}
