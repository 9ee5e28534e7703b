using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>Apple MDM (configuration section <c>Homeroom:Apple</c>).</summary>
public sealed class AppleOptions
{
    public const string Section = "Homeroom:Apple";

    /// <summary>
    /// When a TLS-terminating proxy checks the device's client certificate, the header in which it
    /// passes the certificate (PEM or base64 DER) instead of the device signing with <c>Mdm-Signature</c>.
    /// Only set this behind such a proxy: the header is trusted as given.
    /// </summary>
    public string? ClientCertificateHeader { get; set; }

    /// <summary>Largest check-in or command-result body.</summary>
    [Range(16 * 1024, 16 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Longest <c>Mdm-Signature</c> header (base64 characters); a device's signature with its certificate is about 2 KB.</summary>
    [Range(1024, 256 * 1024)]
    public int MaxSignatureBytes { get; set; } = 16 * 1024;

    /// <summary>How long a command the device answered NotNow waits before it is offered again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan NotNowRetry { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The address devices reach this server at (https://...), for enrollment profiles; the request's host when unset.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>Shown as the profile's organization on the device.</summary>
    [Required]
    [StringLength(200, MinimumLength = 1)]
    public string Organization { get; set; } = "School district";

    /// <summary>How many enrollment profiles one enrollment token may download per minute (each carries a newly issued identity).</summary>
    [Range(1, 10_000)]
    public int EnrollmentProfilesPerTokenPerMinute { get; set; } = 60;

    /// <summary>
    /// How often the daily installed-apps schedule looks for Apple devices whose time of day has come
    /// (and newly enrolled ones): each device is asked once a day (<see cref="AppleAppInventorySchedule"/>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan AppInventoryCheckInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The key of the device identity in each enrollment profile.</summary>
    [EnumDataType(typeof(AppleIdentityKey))]
    public AppleIdentityKey IdentityKey { get; set; } = AppleIdentityKey.EcdsaP256;
}

/// <summary>The key type of the device identities Homeroom issues.</summary>
public enum AppleIdentityKey
{
    /// <summary>ECDSA on P-256: a fraction of a millisecond to generate. The default.</summary>
    EcdsaP256,

    /// <summary>RSA 2048: about 100 to 200 ms of CPU per enrollment profile; for devices that refuse an EC identity.</summary>
    Rsa2048,
}

/// <summary>Validates <see cref="AppleOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class AppleOptionsValidator : IValidateOptions<AppleOptions>;
