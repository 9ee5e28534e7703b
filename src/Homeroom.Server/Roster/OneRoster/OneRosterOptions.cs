using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>OneRoster CSV import limits and retention (configuration section <c>Homeroom:OneRoster</c>).</summary>
public sealed class OneRosterOptions
{
    public const string Section = "Homeroom:OneRoster";

    /// <summary>The largest upload (a zip) accepted, in bytes; a larger one is refused before it is read whole.</summary>
    [Range(1024L, 2L * 1024 * 1024 * 1024)]
    public long MaxUploadBytes { get; set; } = 200L * 1024 * 1024;

    /// <summary>The most entries a zip may hold (the OneRoster set is a dozen files).</summary>
    [Range(1, 1000)]
    public int MaxZipEntries { get; set; } = 64;

    /// <summary>The most bytes all the zip's entries may hold together once decompressed (a zip bomb stops here).</summary>
    [Range(1024L, 16L * 1024 * 1024 * 1024)]
    public long MaxUncompressedBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>The most data rows one CSV file may have; a file with more is refused.</summary>
    [Range(1, 10_000_000)]
    public int MaxRowsPerFile { get; set; } = 1_000_000;

    /// <summary>How long a preview can be applied; after that its uploaded package is deleted.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "7.00:00:00")]
    public TimeSpan PreviewLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long the import history (who, when, counts, outcome) is kept.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan HistoryRetention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Records asked for per page of a REST collection (<c>limit</c>); a service may send fewer.</summary>
    [Range(1, 10_000)]
    public int RestPageSize { get; set; } = 1_000;

    /// <summary>The most bytes one page of a REST answer may have; a larger one fails the sync.</summary>
    [Range(1024L, 1024L * 1024 * 1024)]
    public long MaxRestPageBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>The most records one REST collection may have (a service that never stops paging stops here).</summary>
    [Range(1, 10_000_000)]
    public int MaxRestRecords { get; set; } = 1_000_000;

    /// <summary>How long one REST request may take, its whole answer read.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RestRequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How many times a request answered 429 or 5xx (or not answered) is tried again.</summary>
    [Range(0, 10)]
    public int RestMaxRetries { get; set; } = 4;

    /// <summary>The first wait before a retry without Retry-After; doubled each time.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan RestRetryBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest wait before a retry (a longer Retry-After fails the sync, to be tried at its next time).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RestMaxRetryWait { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often the schedule looks for a due sync.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SyncCheckInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The share of active roster people (with a sourcedId) an automatic sync may archive; one that would
    /// archive more stops at its preview for a person to review (a failing SIS must not archive everyone).
    /// </summary>
    [Range(0.0, 1.0)]
    public double AutomaticArchiveLimit { get; set; } = 0.10;
}

/// <summary>Validates <see cref="OneRosterOptions"/> at start.</summary>
public sealed class OneRosterOptionsValidator : IValidateOptions<OneRosterOptions>
{
    public ValidateOptionsResult Validate(string? name, OneRosterOptions options)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            return options.MaxUncompressedBytes < options.MaxUploadBytes
                ? ValidateOptionsResult.Fail($"{OneRosterOptions.Section}:MaxUncompressedBytes must be at least MaxUploadBytes.")
                : ValidateOptionsResult.Success;
        }

        return ValidateOptionsResult.Fail(results.Select(r => $"{OneRosterOptions.Section}: {r.ErrorMessage}"));
    }
}
