using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>Apple School Manager: automated device enrollment and Apps and Books (configuration section <c>Homeroom:AppleSchoolManager</c>).</summary>
public sealed class AppleSchoolManagerOptions
{
    public const string Section = "Homeroom:AppleSchoolManager";

    /// <summary>Apple's device assignment service (automated device enrollment).</summary>
    [Required]
    [Url]
    public string DeviceServiceUrl { get; set; } = "https://mdmenrollment.apple.com";

    /// <summary>Apple's Apps and Books for Organizations service.</summary>
    [Required]
    [Url]
    public string AppsAndBooksUrl { get; set; } = "https://vpp.itunes.apple.com/mdm/v2";

    /// <summary>How often devices are synced from Apple (and the enrollment profile assigned to new ones).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often licence counts are read from Apps and Books into the catalog.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan LicenceSyncInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>The largest token file an administrator may upload (Apple's are a few KB).</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxTokenBytes { get; set; } = 64 * 1024;

    /// <summary>The largest answer read from Apple (a page of 1000 devices is well under 1 MB).</summary>
    [Range(64 * 1024, 64 * 1024 * 1024)]
    public int MaxResponseBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>The largest request a device sends to the ADE enrollment endpoint (a signed plist of a few KB).</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxDeviceRequestBytes { get; set; } = 64 * 1024;

    /// <summary>Devices asked for per fetch or sync page (Apple allows 100 to 1000).</summary>
    [Range(100, 1000)]
    public int PageSize { get; set; } = 1000;

    /// <summary>The longest Apple's Retry-After is honoured within one call; longer, the work waits for the next run.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxRetryWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times one call is retried after 429 or 503 before the run gives up for now.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>Between two <c>GET /status/{eventId}</c> of an Apps and Books event.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan EventPollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many times an Apps and Books event is polled before the licence request is retried later.</summary>
    [Range(1, 100)]
    public int EventPollAttempts { get; set; } = 15;

    /// <summary>The enrollment profile's name, shown in Setup Assistant.</summary>
    [Required]
    [StringLength(100, MinimumLength = 1)]
    public string ProfileName { get; set; } = "Homeroom";

    /// <summary>The department shown in Setup Assistant.</summary>
    [StringLength(100)]
    public string? Department { get; set; }

    /// <summary>The support phone number shown in Setup Assistant.</summary>
    [StringLength(40)]
    public string? SupportPhoneNumber { get; set; }

    /// <summary>Whether the user may skip enrollment (false: mandatory).</summary>
    public bool IsMandatory { get; set; } = true;

    /// <summary>
    /// Whether Setup Assistant waits for the server's DeviceConfigured command. Homeroom does not send
    /// one yet, so this stays false unless that changes.
    /// </summary>
    public bool AwaitDeviceConfigured { get; set; }

    /// <summary>
    /// Setup Assistant panes to skip, comma-separated (Apple's keys, e.g. Location, Restore, AppleID, Siri).
    /// One string, not a list: a bound list would add to the defaults instead of replacing them.
    /// </summary>
    [StringLength(2000)]
    public string SkipSetupItems { get; set; } = "AppleID,Siri,Diagnostics,Payment,TOS,Restore,iCloudStorage,ScreenTime";

    /// <summary>The panes of <see cref="SkipSetupItems"/>.</summary>
    public IReadOnlyList<string> SkipSetupItemList() =>
        SkipSetupItems.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Validates <see cref="AppleSchoolManagerOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class AppleSchoolManagerOptionsValidator : IValidateOptions<AppleSchoolManagerOptions>;
