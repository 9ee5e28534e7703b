using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Devices;

/// <summary>Presence and telemetry (configuration section <c>Homeroom:Presence</c>).</summary>
public sealed class PresenceOptions
{
    public const string Section = "Homeroom:Presence";

    /// <summary>How often last-seen times and telemetry are written to the database.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A device managed through Apple MDM keeps no connection open: it counts as online for this
    /// long after its last check-in or command poll.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan MdmOnlineWindow { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Validates <see cref="PresenceOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class PresenceOptionsValidator : IValidateOptions<PresenceOptions>;
