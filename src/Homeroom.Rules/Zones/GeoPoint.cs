namespace Homeroom.Rules.Zones;

/// <summary>A WGS 84 position in degrees, in GeoJSON order (longitude first).</summary>
/// <param name="Longitude">Degrees east, in [-180, 180].</param>
/// <param name="Latitude">Degrees north, in [-90, 90].</param>
public readonly record struct GeoPoint(double Longitude, double Latitude);
