using Microsoft.Extensions.Options;

namespace Homeroom.Server.RemoteSupport;

/// <summary>Registers remote support sessions (their records' retention runs in the support retention job) and schools' remote support settings.</summary>
public static class RemoteSupportServiceCollectionExtensions
{
    public static IServiceCollection AddRemoteSupport(this IServiceCollection services)
    {
        services.AddOptions<RemoteSupportOptions>().BindConfiguration(RemoteSupportOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RemoteSupportOptions>, RemoteSupportOptionsValidator>();
        services.AddSingleton<RemoteSupportSettingsDirectory>();
        services.AddSingleton<RemoteSessions>();
        services.AddHostedService(sp => sp.GetRequiredService<RemoteSessions>());
        return services;
    }
}
