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

    /// <summary>
    /// Agreeing fixes outside a zone needed to leave it while one of the zone's networks still matches
    /// (a network match is a strong "inside" signal; see <see cref="Homeroom.Rules.Zones.ZoneSignals"/>).
    /// </summary>
    [Range(1, 100)]
    public int SustainedOutsideFixes { get; set; } = 5;

    /// <summary>Time from the first to the last of those fixes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan SustainedOutsideDwell { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// At most one fix per device is taken in this time (by the fixes' capture times, which may not run
    /// ahead of the server's clock by more than <see cref="MaxClockSkew"/>); more are dropped whole: not
    /// stored, and not counted by the hysteresis, so a flood cannot hurry a change.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MinFixInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A fix taken more than this after the server's clock is from the future and is dropped.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A fix taken longer ago than this is stale and is dropped.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan MaxFixAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Fixes with a larger accuracy radius are dropped whole (not even kept for the track); those between <see cref="MaxAccuracyMeters"/> and this are kept for the track only.</summary>
    [Range(1.0, 1_000_000.0)]
    public double MaxStoredAccuracyMeters { get; set; } = 10_000;

    /// <summary>
    /// Whether locations are ever collected at home. When false (the default), a fix inside a zone of
    /// kind <c>home</c> is not stored anywhere (not in the track, not as the device's last position,
    /// not on an alert); it still counts for zone state, so the device is known to be inside its home
    /// zone and out-of-bounds rules still work, without its position being kept.
    /// </summary>
    public bool CollectAtHome { get; set; }

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
