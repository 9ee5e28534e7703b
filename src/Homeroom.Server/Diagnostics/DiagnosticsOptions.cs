using System.ComponentModel.DataAnnotations;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Diagnostics;

/// <summary>Device diagnostics (configuration section <c>Homeroom:Diagnostics</c>).</summary>
public sealed class DiagnosticsOptions
{
    public const string Section = "Homeroom:Diagnostics";

    /// <summary>Reports kept per device, newest first; an older one goes when a new one comes.</summary>
    [Range(1, 50)]
    public int KeepPerDevice { get; set; } = 5;

    /// <summary>Reports are deleted this long after they came.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// The district's sites every device tests besides its Homeroom server: https URLs, at most
    /// <see cref="DiagnosticsLimits.MaxSites"/> (default none).
    /// </summary>
    public List<string> Sites { get; set; } = [];
}

/// <summary>Validates <see cref="DiagnosticsOptions"/> at start: the ranges, and every site an https URL.</summary>
public sealed class DiagnosticsOptionsValidator : IValidateOptions<DiagnosticsOptions>
{
    public ValidateOptionsResult Validate(string? name, DiagnosticsOptions options)
    {
        var failures = new List<string>();
        var context = new ValidationContext(options);
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, context, results, validateAllProperties: true))
        {
            failures.AddRange(results.Select(r => $"{DiagnosticsOptions.Section}: {r.ErrorMessage}"));
        }

        if (options.Sites.Any(s => s is null || s.Contains(' ', StringComparison.Ordinal)))
        {
            failures.Add($"{DiagnosticsOptions.Section}:Sites: a site is one URL without spaces.");
        }
        else if (DiagnosticsLimits.ParseSites(string.Join(' ', options.Sites), out _) is { } error)
        {
            failures.Add($"{DiagnosticsOptions.Section}:Sites: {error}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
