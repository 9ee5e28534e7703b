using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Support;

/// <summary>
/// Help requests: how many one device may have open, how fresh a device's diagnostics must be for a request reaching
/// the IT queue not to ask for new ones, and how long they are kept (configuration section <c>Homeroom:Support</c>).
/// </summary>
public sealed class SupportOptions
{
    public const string Section = "Homeroom:Support";

    /// <summary>Requests one device may have open (not resolved) at once; more are refused until one is resolved.</summary>
    [Range(1, 100)]
    public int MaxOpenPerDevice { get; set; } = 5;

    /// <summary>
    /// A request reaching the IT queue asks its device for a diagnostics report unless the device has one that came
    /// within this time (or a request for one is still under way); zero asks every time.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan FreshDiagnostics { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Resolved requests (with their screenshot and thread) are deleted this long after they were resolved.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan ResolvedRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The screenshot of any request, open or not, is deleted this long after the request came.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan ScreenshotRetention { get; set; } = TimeSpan.FromDays(14);
}

/// <summary>Validates <see cref="SupportOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class SupportOptionsValidator : IValidateOptions<SupportOptions>;
