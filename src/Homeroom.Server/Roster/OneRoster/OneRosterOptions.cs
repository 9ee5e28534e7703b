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
