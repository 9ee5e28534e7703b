using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Locations;

/// <summary>Locations, zones and alerts (configuration section <c>Homeroom:Locations</c>).</summary>
public sealed class LocationOptions
{
    public const string Section = "Homeroom:Locations";

    /// <summary>Fixes less accurate than this are ignored for zones.</summary>
    [Range(1.0, 100_000.0)]
    public double MaxAccuracyMeters { get; set; } = 150;

    /// <summary>Agreeing fixes needed before a device is taken to have entered or left a zone.</summary>
    [Range(1, 20)]
    public int ConsecutiveFixes { get; set; } = 2;

    /// <summary>Time since the first agreeing fix before the change counts.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MinDwell { get; set; } = TimeSpan.Zero;

    /// <summary>Location fixes older than this are deleted.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Alerts older than this (since they were raised) are deleted.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan AlertRetention { get; set; } = TimeSpan.FromDays(365);
}

/// <summary>Validates <see cref="LocationOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class LocationOptionsValidator : IValidateOptions<LocationOptions>;
