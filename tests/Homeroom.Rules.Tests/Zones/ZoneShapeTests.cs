using Homeroom.Rules.Zones;

namespace Homeroom.Rules.Tests.Zones;

public sealed class ZoneShapeTests
{
    private const double MetersPerDegreeOfLatitude = ZoneShape.EarthRadiusMeters * Math.PI / 180;

    private static readonly GeoPoint[] Campus = ZoneBuilder.Rectangle(-122.302, 47.598, -122.298, 47.602);
    private static readonly GeoPoint[] Courtyard = ZoneBuilder.Rectangle(-122.3005, 47.5995, -122.2995, 47.6005);

    [Fact]
    public void Contains_PointOnSharedEdge_IsInExactlyOneOfTwoNeighbours()
    {
        var west = new PolygonZone(new ZonePolygon(ZoneBuilder.Rectangle(-122.302, 47.598, -122.300, 47.602)));
        var east = new PolygonZone(new ZonePolygon(ZoneBuilder.Rectangle(-122.300, 47.598, -122.298, 47.602).AsEnumerable().Reverse()));

        foreach (var latitude in new[] { 47.598, 47.599, 47.6, 47.60123, 47.602 })
        {
            var onEdge = new GeoPoint(-122.300, latitude);
            var count = (west.Contains(onEdge) ? 1 : 0) + (east.Contains(onEdge) ? 1 : 0);
            count.ShouldBe(latitude < 47.602 ? 1 : 0, $"latitude {latitude}");
        }
    }

    [Fact]
    public void Contains_CornerSharedByFourSquares_IsInExactlyOne()
    {
        var corner = new GeoPoint(-122.300, 47.600);
        var squares = new[]
        {
            ZoneBuilder.Rectangle(-122.302, 47.598, -122.300, 47.600),
            ZoneBuilder.Rectangle(-122.300, 47.598, -122.298, 47.600),
            ZoneBuilder.Rectangle(-122.302, 47.600, -122.300, 47.602),
            ZoneBuilder.Rectangle(-122.300, 47.600, -122.298, 47.602),
        };

        squares.Count(square => new PolygonZone(new ZonePolygon(square)).Contains(corner)).ShouldBe(1);
    }

    [Fact]
    public void Contains_PointOnHoleEdge_IsInEitherTheZoneOrTheHoleNotBoth()
    {
        var campus = new PolygonZone(new ZonePolygon(Campus, Courtyard));
        var courtyard = new PolygonZone(new ZonePolygon(Courtyard.AsEnumerable().Reverse()));
        GeoPoint[] onHoleEdges =
        [
            new(-122.3005, 47.6), new(-122.2995, 47.6), new(-122.3, 47.5995), new(-122.3, 47.6005), new(-122.3005, 47.5995),
        ];

        foreach (var p in onHoleEdges)
        {
            campus.Contains(p).ShouldNotBe(courtyard.Contains(p), p.ToString());
        }
    }

    [Fact]
    public void Contains_FarAwayPoint_IsOutside()
    {
        var campus = new PolygonZone(new ZonePolygon(Campus));

        campus.Contains(new GeoPoint(151.2, -33.9)).ShouldBeFalse();
        campus.Contains(new GeoPoint(-122.3, -47.6)).ShouldBeFalse();
    }

    [Fact]
    public void DistanceToBoundary_OneKilometreNorthOfEdge_IsAboutOneKilometre()
    {
        var campus = new PolygonZone(new ZonePolygon(Campus));
        var north = new GeoPoint(-122.300, 47.602 + (1000 / MetersPerDegreeOfLatitude));

        campus.Contains(north).ShouldBeFalse();
        campus.DistanceToBoundaryMeters(north).ShouldBe(1000, tolerance: 20);
    }

    [Fact]
    public void DistanceToBoundary_EastOfEdge_MatchesHaversine()
    {
        var campus = new PolygonZone(new ZonePolygon(Campus));
        var east = new GeoPoint(-122.28, 47.600);
        var expected = ZoneBuilder.HaversineMeters(east, new GeoPoint(-122.298, 47.600));

        expected.ShouldBe(1349, tolerance: 5);
        campus.DistanceToBoundaryMeters(east).ShouldBe(expected, tolerance: expected * 0.01);
    }

    [Fact]
    public void DistanceToBoundary_InsideNearHole_MeasuresToTheHole()
    {
        var campus = new PolygonZone(new ZonePolygon(Campus, Courtyard));
        var southOfCourtyard = new GeoPoint(-122.300, 47.5993);

        campus.DistanceToBoundaryMeters(southOfCourtyard).ShouldBe(0.0002 * MetersPerDegreeOfLatitude, tolerance: 0.5);
    }

    [Fact]
    public void DistanceToBoundary_MultiPolygon_MeasuresToNearestPolygon()
    {
        var zone = new PolygonZone(new ZonePolygon(Campus), new ZonePolygon(ZoneBuilder.Rectangle(-122.302, 47.610, -122.298, 47.612)));
        var between = new GeoPoint(-122.300, 47.609);

        zone.DistanceToBoundaryMeters(between).ShouldBe(0.001 * MetersPerDegreeOfLatitude, tolerance: 1);
    }

    [Fact]
    public void Circle_ContainsAndDistance_UseGreatCircleDistance()
    {
        var circle = new CircleZone(new GeoPoint(-122.3, 47.6), 1000);
        var halfwayNorth = new GeoPoint(-122.3, 47.6 + (500 / MetersPerDegreeOfLatitude));
        var twoKilometresNorth = new GeoPoint(-122.3, 47.6 + (2000 / MetersPerDegreeOfLatitude));

        circle.Contains(circle.Center).ShouldBeTrue();
        circle.Contains(halfwayNorth).ShouldBeTrue();
        circle.Contains(twoKilometresNorth).ShouldBeFalse();
        circle.DistanceToBoundaryMeters(circle.Center).ShouldBe(1000, tolerance: 0.001);
        circle.DistanceToBoundaryMeters(halfwayNorth).ShouldBe(500, tolerance: 0.01);
        circle.DistanceToBoundaryMeters(twoKilometresNorth).ShouldBe(1000, tolerance: 0.01);
    }

    [Fact]
    public void Circle_EastWest_ShrinksDegreesWithLatitude()
    {
        var circle = new CircleZone(new GeoPoint(-122.3, 47.6), 1000);
        var degreesEastFor1km = 1000 / (MetersPerDegreeOfLatitude * Math.Cos(double.DegreesToRadians(47.6)));

        circle.Contains(new GeoPoint(-122.3 + (degreesEastFor1km * 0.99), 47.6)).ShouldBeTrue();
        circle.Contains(new GeoPoint(-122.3 + (degreesEastFor1km * 1.01), 47.6)).ShouldBeFalse();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void CircleZone_InvalidRadius_Throws(double radius) =>
        Should.Throw<ArgumentOutOfRangeException>(() => new CircleZone(new GeoPoint(-122.3, 47.6), radius));

    [Fact]
    public void ZonePolygon_UnclosedOrShortRing_Throws()
    {
        Should.Throw<ArgumentException>(() => new ZonePolygon(Campus[..^1]));
        Should.Throw<ArgumentException>(() => new ZonePolygon([Campus[0], Campus[1], Campus[0]]));
        Should.Throw<ArgumentException>(() => new ZonePolygon(Campus, Campus[..^1]));
        Should.Throw<ArgumentException>(() => new PolygonZone());
    }

    [Fact]
    public void PolygonZone_Equality_ComparesPositions()
    {
        var a = new PolygonZone(new ZonePolygon(Campus, Courtyard));
        var b = new PolygonZone(new ZonePolygon(Campus.ToList(), Courtyard.ToList()));

        a.ShouldBe(b);
        a.GetHashCode().ShouldBe(b.GetHashCode());
        a.ShouldNotBe(new PolygonZone(new ZonePolygon(Campus)));
        a.ShouldNotBe(new PolygonZone(new ZonePolygon(Campus.AsEnumerable().Reverse(), Courtyard)));
        ((ZoneShape)a).ShouldNotBe(new CircleZone(new GeoPoint(-122.3, 47.6), 100));
    }
}
