using Microsoft.Extensions.Options;
using Homeroom.Server.Commands;

namespace Homeroom.Server.Apple;

/// <summary>Registers the apple feature's services.</summary>
public static class AppleServiceCollectionExtensions
{
    public static IServiceCollection AddApple(this IServiceCollection services)
    {
        services.AddOptions<AppleOptions>().BindConfiguration(AppleOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AppleOptions>, AppleOptionsValidator>();
        services.AddSingleton<WallpaperList>();
        services.AddOptions<ApnsOptions>().BindConfiguration(ApnsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApnsOptions>, ApnsOptionsValidator>();
        services.AddOptions<PushCertificateOptions>().BindConfiguration(PushCertificateOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PushCertificateOptions>, PushCertificateOptionsValidator>();
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
        services.AddSingleton<AppleAppEvents>();
        services.AddHostedService<AppleAppInventorySchedule>();
        services.AddSingleton<MdmReplayGuard>();
        services.AddSingleton<AuthenticateAppleDevice>();
        services.AddSingleton<AppleDeviceStatus>();
        return services;
    }
}
