using Homeroom.Server.Commands;

namespace Homeroom.Server.Apple;

/// <summary>Registers the apple feature's services.</summary>
public static class AppleServiceCollectionExtensions
{
    public static IServiceCollection AddApple(this IServiceCollection services)
    {
        services.AddOptions<AppleOptions>().BindConfiguration(AppleOptions.Section)
            .Validate(o => o.MaxBodyBytes is >= 16 * 1024 and <= 16 * 1024 * 1024 && o.NotNowRetry >= TimeSpan.FromSeconds(1), "Apple MDM limits are out of range.")
            .Validate(o => o.MaxSignatureBytes is >= 1024 and <= 256 * 1024, "Homeroom:Apple:MaxSignatureBytes must be 1 KB to 256 KB.")
            .Validate(o => o.EnrollmentProfilesPerTokenPerMinute is >= 1 and <= 10_000, "Homeroom:Apple:EnrollmentProfilesPerTokenPerMinute must be 1 to 10,000.")
            .Validate(o => Enum.IsDefined(o.IdentityKey), "Homeroom:Apple:IdentityKey must be EcdsaP256 or Rsa2048.")
            .ValidateOnStart();
        services.AddOptions<ApnsOptions>().BindConfiguration(ApnsOptions.Section);
        services.AddOptions<PushCertificateOptions>().BindConfiguration(PushCertificateOptions.Section)
            .Validate(o => o.VendorCertificatePath is null || File.Exists(o.VendorCertificatePath), "Homeroom:Apple:PushCertificate:VendorCertificatePath names a file that does not exist.")
            .Validate(o => o.VendorChainPath is null || File.Exists(o.VendorChainPath), "Homeroom:Apple:PushCertificate:VendorChainPath names a file that does not exist.")
            .Validate(o => o.ExpiryWarning >= TimeSpan.FromDays(1) && o.ExpiryWarning <= TimeSpan.FromDays(180) && o.MaxUploadBytes is >= 4096 and <= 1024 * 1024, "Push certificate options are out of range.")
            .ValidateOnStart();
        services.AddSingleton<PushCertificateStore>();
        services.AddSingleton<MdmVendorSigner>();
        services.AddSingleton<ApplePushCertificate>();
        services.AddHostedService<PushCertificateMonitor>();
        services.AddSingleton<ApnsClient>();
        services.AddSingleton<ICommandWaker, MdmWaker>();
        services.AddSingleton<DeviceCertificateAuthority>();
        services.AddSingleton<EnrollmentProfileLimiter>();
        services.AddSingleton<MdmIdentity>();
        services.AddSingleton<MdmQueue>();
        services.AddSingleton<MdmReplayGuard>();
        services.AddSingleton<AuthenticateAppleDevice>();
        services.AddSingleton<AppleDeviceStatus>();
        return services;
    }
}
