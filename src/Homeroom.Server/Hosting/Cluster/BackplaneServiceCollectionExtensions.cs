using Microsoft.Extensions.Options;

namespace Homeroom.Server.Hosting.Cluster;

/// <summary>Registers the PostgreSQL LISTEN/NOTIFY backplane; on SQLite its services do nothing.</summary>
public static class BackplaneServiceCollectionExtensions
{
    public static IServiceCollection AddBackplane(this IServiceCollection services)
    {
        services.AddOptions<BackplaneOptions>().BindConfiguration(BackplaneOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BackplaneOptions>, BackplaneOptionsValidator>();
        services.AddSingleton<BackplanePublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<BackplanePublisher>());
        services.AddSingleton<BackplaneListener>();
        services.AddHostedService(sp => sp.GetRequiredService<BackplaneListener>());
        return services;
    }
}
