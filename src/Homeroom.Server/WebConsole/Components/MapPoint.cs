namespace Homeroom.Server.WebConsole.Components;

/// <summary>A position drawn on a <see cref="MapView"/>, with the text of its tooltip.</summary>
public sealed record MapPoint(double Latitude, double Longitude, string Label);
