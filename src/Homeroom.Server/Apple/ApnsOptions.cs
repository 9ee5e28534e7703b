using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>Apple's push service (configuration section <c>Homeroom:Apple:Apns</c>).</summary>
public sealed class ApnsOptions
{
    public const string Section = "Homeroom:Apple:Apns";

    /// <summary>APNs address; Apple's production service by default.</summary>
    [Required]
    public Uri Url { get; set; } = new("https://api.push.apple.com");

    /// <summary>For testing or a private relay: a PEM file with the only root the APNs server certificate may chain to.</summary>
    public string? TrustedRootPath { get; set; }
}

/// <summary>Validates <see cref="ApnsOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class ApnsOptionsValidator : IValidateOptions<ApnsOptions>;
