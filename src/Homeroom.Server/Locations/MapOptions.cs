using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Locations;

/// <summary>The console's maps (configuration section <c>Homeroom:Maps</c>).</summary>
public sealed class MapOptions
{
    public const string Section = "Homeroom:Maps";

    /// <summary>
    /// The raster tile server the console's maps draw under zones and tracks, as a URL template with
    /// <c>{z}</c>, <c>{x}</c> and <c>{y}</c> (and optionally <c>{s}</c>). Staff browsers fetch the tiles
    /// from it directly. Empty: maps draw on a blank background (no tile server reachable, or none wanted).
    /// </summary>
    [RegularExpression(@"^https?://(?=\S*\{z\})(?=\S*\{x\})(?=\S*\{y\})\S+$", ErrorMessage = "{0} must be empty or an http(s) URL template with {{z}}, {{x}} and {{y}}.")]
    public string TileUrl { get; set; } = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

    /// <summary>The credit the tile server asks for, shown in the map's corner (plain text).</summary>
    [MaxLength(300)]
    public string TileAttribution { get; set; } = "© OpenStreetMap contributors";
}

/// <summary>Validates <see cref="MapOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class MapOptionsValidator : IValidateOptions<MapOptions>;
