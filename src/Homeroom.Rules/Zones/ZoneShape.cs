namespace Homeroom.Rules.Zones;

/// <summary>
/// A location zone: pure geometry on WGS 84 degrees. <see cref="GeoJsonZones.Parse"/> builds zones and
/// validates them fully (ranges, closed and simple rings, holes inside their shell); the constructors
/// only check what the geometry needs to run.
/// </summary>
public abstract record ZoneShape
{
    /// <summary>Mean Earth radius (IUGG), in meters.</summary>
    public const double EarthRadiusMeters = 6_371_008.8;

    private const double MetersPerDegree = EarthRadiusMeters * Math.PI / 180;

    // The hierarchy is closed: GeoJsonZones reads and writes every kind of zone.
    private protected ZoneShape()
    {
    }

    /// <summary>True when the point lies inside the zone.</summary>
    public abstract bool Contains(GeoPoint p);

    /// <summary>
    /// Approximate distance in meters from the point to the nearest part of the zone's boundary, on
    /// whichever side the point is. Good to about 1% at city scale.
    /// </summary>
    public abstract double DistanceToBoundaryMeters(GeoPoint p);

    /// <summary>Great-circle distance by the haversine formula, in meters.</summary>
    internal static double HaversineMeters(GeoPoint a, GeoPoint b)
    {
        var lat1 = double.DegreesToRadians(a.Latitude);
        var lat2 = double.DegreesToRadians(b.Latitude);
        var sinDLat = Math.Sin((lat2 - lat1) / 2);
        var sinDLon = Math.Sin(double.DegreesToRadians(b.Longitude - a.Longitude) / 2);
        var h = (sinDLat * sinDLat) + (Math.Cos(lat1) * Math.Cos(lat2) * sinDLon * sinDLon);
        return 2 * EarthRadiusMeters * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }

    /// <summary>
    /// Squared distance in square meters from <paramref name="p"/> to the nearest edge of a closed ring, in
    /// an equirectangular projection centred on <paramref name="p"/> (meters east and north of it).
    /// </summary>
    internal static double SquaredDistanceToRing(ReadOnlySpan<GeoPoint> ring, GeoPoint p)
    {
        var xScale = MetersPerDegree * Math.Cos(double.DegreesToRadians(p.Latitude));
        var best = double.PositiveInfinity;
        var ax = WrapLongitude(ring[0].Longitude - p.Longitude) * xScale;
        var ay = (ring[0].Latitude - p.Latitude) * MetersPerDegree;
        for (var i = 1; i < ring.Length; i++)
        {
            var bx = WrapLongitude(ring[i].Longitude - p.Longitude) * xScale;
            var by = (ring[i].Latitude - p.Latitude) * MetersPerDegree;
            var dx = bx - ax;
            var dy = by - ay;
            var lengthSquared = (dx * dx) + (dy * dy);
            var t = lengthSquared > 0 ? Math.Clamp(-((ax * dx) + (ay * dy)) / lengthSquared, 0, 1) : 0;
            var cx = ax + (t * dx);
            var cy = ay + (t * dy);
            best = Math.Min(best, (cx * cx) + (cy * cy));
            ax = bx;
            ay = by;
        }

        return best;
    }

    private static double WrapLongitude(double degrees) =>
        degrees > 180 ? degrees - 360 : degrees < -180 ? degrees + 360 : degrees;
}

/// <summary>A circle on the Earth's surface, measured by great-circle (haversine) distance.</summary>
/// <param name="Center">The centre.</param>
/// <param name="RadiusMeters">The radius in meters; finite and positive.</param>
public sealed record CircleZone(GeoPoint Center, double RadiusMeters) : ZoneShape
{
    /// <summary>The radius in meters; finite and positive.</summary>
    public double RadiusMeters { get; } = double.IsFinite(RadiusMeters) && RadiusMeters > 0
        ? RadiusMeters
        : throw new ArgumentOutOfRangeException(nameof(RadiusMeters), RadiusMeters, "The radius must be a finite, positive number of meters.");

    /// <inheritdoc />
    public override bool Contains(GeoPoint p) => HaversineMeters(Center, p) <= RadiusMeters;

    /// <inheritdoc />
    public override double DistanceToBoundaryMeters(GeoPoint p) => Math.Abs(HaversineMeters(Center, p) - RadiusMeters);
}

/// <summary>
/// A multipolygon: the union of one or more polygons, each an outer ring with optional holes. Edges are
/// straight lines in longitude/latitude (as in GeoJSON); crossing the antimeridian is not supported.
/// </summary>
public sealed record PolygonZone : ZoneShape
{
    private readonly ZonePolygon[] _polygons;

    /// <param name="polygons">At least one polygon.</param>
    public PolygonZone(params IEnumerable<ZonePolygon> polygons)
    {
        ArgumentNullException.ThrowIfNull(polygons);
        _polygons = [.. polygons];
        if (_polygons.Length == 0)
        {
            throw new ArgumentException("A zone needs at least one polygon.", nameof(polygons));
        }

        Polygons = Array.AsReadOnly(_polygons);
    }

    /// <summary>The polygons, in order.</summary>
    public IReadOnlyList<ZonePolygon> Polygons { get; }

    /// <summary>
    /// Inside any polygon's outer ring and in none of its holes. Points exactly on an edge follow the
    /// half-open rule of ray casting, so a point on an edge shared by two zones that tile the plane is in
    /// exactly one of them.
    /// </summary>
    public override bool Contains(GeoPoint p)
    {
        foreach (var polygon in _polygons)
        {
            if (polygon.Contains(p))
            {
                return true;
            }
        }

        return false;
    }

    /// <inheritdoc />
    /// <remarks>Holes count as boundary: a point in a hole is measured to the nearest hole edge too.</remarks>
    public override double DistanceToBoundaryMeters(GeoPoint p)
    {
        var best = double.PositiveInfinity;
        foreach (var polygon in _polygons)
        {
            best = Math.Min(best, polygon.SquaredDistanceToBoundary(p));
        }

        return Math.Sqrt(best);
    }

    /// <summary>Equal when both hold the same polygons, ring by ring and position by position, in order.</summary>
    public bool Equals(PolygonZone? other) =>
        other is not null && (ReferenceEquals(this, other) || _polygons.SequenceEqual(other._polygons));

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var polygon in _polygons)
        {
            hash.Add(polygon);
        }

        return hash.ToHashCode();
    }
}

/// <summary>One polygon of a <see cref="PolygonZone"/>: an outer ring and its holes, each ring closed.</summary>
public sealed class ZonePolygon : IEquatable<ZonePolygon>
{
    private readonly GeoPoint[] _outer;
    private readonly GeoPoint[][] _holes;
    private readonly double _west;
    private readonly double _east;
    private readonly double _south;
    private readonly double _north;

    /// <param name="outer">The outer ring: at least 4 positions, the last equal to the first.</param>
    /// <param name="holes">Holes, each a ring like <paramref name="outer"/>. Orientation is not enforced.</param>
    public ZonePolygon(IEnumerable<GeoPoint> outer, params IEnumerable<IEnumerable<GeoPoint>> holes)
    {
        ArgumentNullException.ThrowIfNull(outer);
        ArgumentNullException.ThrowIfNull(holes);
        _outer = ToRing(outer, nameof(outer));
        _holes = [.. holes.Select(hole => ToRing(hole, nameof(holes)))];
        Outer = Array.AsReadOnly(_outer);
        Holes = Array.AsReadOnly(Array.ConvertAll(_holes, hole => (IReadOnlyList<GeoPoint>)Array.AsReadOnly(hole)));

        // Only the outer ring bounds the polygon, so its box is enough to reject far points quickly.
        (_west, _east, _south, _north) = (double.PositiveInfinity, double.NegativeInfinity, double.PositiveInfinity, double.NegativeInfinity);
        foreach (var p in _outer)
        {
            _west = Math.Min(_west, p.Longitude);
            _east = Math.Max(_east, p.Longitude);
            _south = Math.Min(_south, p.Latitude);
            _north = Math.Max(_north, p.Latitude);
        }
    }

    /// <summary>The outer ring, closed.</summary>
    public IReadOnlyList<GeoPoint> Outer { get; }

    /// <summary>The holes, each closed; empty when there are none.</summary>
    public IReadOnlyList<IReadOnlyList<GeoPoint>> Holes { get; }

    /// <summary>Inside the outer ring and in none of the holes.</summary>
    public bool Contains(GeoPoint p)
    {
        if (p.Longitude < _west || p.Longitude > _east || p.Latitude < _south || p.Latitude > _north)
        {
            return false;
        }

        if (!RingContains(_outer, p))
        {
            return false;
        }

        foreach (var hole in _holes)
        {
            if (RingContains(hole, p))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public bool Equals(ZonePolygon? other) =>
        other is not null
        && (ReferenceEquals(this, other)
            || (_outer.AsSpan().SequenceEqual(other._outer)
                && _holes.Length == other._holes.Length
                && _holes.Zip(other._holes).All(pair => pair.First.AsSpan().SequenceEqual(pair.Second))));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ZonePolygon);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(_holes.Length);
        foreach (var p in _outer)
        {
            hash.Add(p);
        }

        return hash.ToHashCode();
    }

    internal double SquaredDistanceToBoundary(GeoPoint p)
    {
        var best = ZoneShape.SquaredDistanceToRing(_outer, p);
        foreach (var hole in _holes)
        {
            best = Math.Min(best, ZoneShape.SquaredDistanceToRing(hole, p));
        }

        return best;
    }

    /// <summary>
    /// Even-odd ray casting towards increasing longitude. Each edge is taken lower end first and spans
    /// [lower, upper) in latitude, and a point exactly on an edge does not count it as crossed, so the
    /// answer for a point on an edge does not depend on the direction the ring runs.
    /// </summary>
    internal static bool RingContains(ReadOnlySpan<GeoPoint> ring, GeoPoint p)
    {
        var inside = false;
        for (var i = 1; i < ring.Length; i++)
        {
            var a = ring[i - 1];
            var b = ring[i];
            if (a.Latitude > b.Latitude)
            {
                (a, b) = (b, a);
            }

            if (p.Latitude < a.Latitude || p.Latitude >= b.Latitude)
            {
                continue;
            }

            // Positive when p is left of the upward edge, that is, the edge is east of p.
            var cross = ((b.Longitude - a.Longitude) * (p.Latitude - a.Latitude))
                - ((b.Latitude - a.Latitude) * (p.Longitude - a.Longitude));
            if (cross > 0)
            {
                inside = !inside;
            }
        }

        return inside;
    }

    private static GeoPoint[] ToRing(IEnumerable<GeoPoint> positions, string paramName)
    {
        ArgumentNullException.ThrowIfNull(positions, paramName);
        GeoPoint[] ring = [.. positions];
        if (ring.Length < 4 || ring[0] != ring[^1])
        {
            throw new ArgumentException("A ring needs at least 4 positions and its last position must equal its first.", paramName);
        }

        return ring;
    }
}
