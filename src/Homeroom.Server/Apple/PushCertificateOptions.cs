using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>The MDM push certificate (configuration section <c>Homeroom:Apple:PushCertificate</c>).</summary>
public sealed class PushCertificateOptions : IValidatableObject
{
    public const string Section = "Homeroom:Apple:PushCertificate";

    /// <summary>
    /// The MDM vendor ("MDM CSR") signing certificate with its private key: a .p12/.pfx file, or a PEM
    /// file holding the certificate and the key. Unset: Homeroom makes the CSR and a vendor signs it.
    /// </summary>
    public string? VendorCertificatePath { get; set; }

    /// <summary>The password of a .p12/.pfx vendor certificate.</summary>
    public string? VendorCertificatePassword { get; set; }

    /// <summary>A PEM file with the certificates between the vendor certificate and Apple's root (the WWDR intermediate and the Apple Inc. root), when the vendor file does not hold them.</summary>
    public string? VendorChainPath { get; set; }

    /// <summary>How long before expiry the status warns that the push certificate must be renewed.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "180.00:00:00")]
    public TimeSpan ExpiryWarning { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// On PostgreSQL, how long a node may keep using the certificate it loaded after another node imported a new one
    /// (it looks again at the next push or read after this long).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ClusterRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest certificate upload.</summary>
    [Range(4096, 1024 * 1024)]
    public int MaxUploadBytes { get; set; } = 64 * 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (VendorCertificatePath is not null && !File.Exists(VendorCertificatePath))
        {
            yield return new ValidationResult("Homeroom:Apple:PushCertificate:VendorCertificatePath names a file that does not exist.", [nameof(VendorCertificatePath)]);
        }

        if (VendorChainPath is not null && !File.Exists(VendorChainPath))
        {
            yield return new ValidationResult("Homeroom:Apple:PushCertificate:VendorChainPath names a file that does not exist.", [nameof(VendorChainPath)]);
        }
    }
}

/// <summary>Validates <see cref="PushCertificateOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class PushCertificateOptionsValidator : IValidateOptions<PushCertificateOptions>;
