using Homeroom.Server.Commands;
namespace Homeroom.Server.Apple;

/// <summary>Registers the apple feature's services.</summary>
public static class AppleServiceCollectionExtensions
{
    public static IServiceCollection AddApple(this IServiceCollection services)
    {
        services.AddOptions<AppleOptions>().BindConfiguration(AppleOptions.Section)
            .Validate(o => o.MaxBodyBytes is >= 16 * 1024 and <= 16 * 1024 * 1024 && o.NotNowRetry >= TimeSpan.FromSeconds(1), "Apple MDM limits are out of range.")
            .ValidateOnStart();
        services.AddOptions<ApnsOptions>().BindConfiguration(ApnsOptions.Section);
        services.AddSingleton<ApnsClient>();
        services.AddSingleton<ICommandWaker, MdmWaker>();
        services.AddSingleton<DeviceCertificateAuthority>();
        services.AddSingleton<MdmIdentity>();
        services.AddSingleton<MdmQueue>();
        services.AddSingleton<MdmReplayGuard>();
        return services;
    }
}
