using Microsoft.Extensions.Options;

namespace Homeroom.Server.Updates;

/// <summary>Registers the OS update rollouts and their periodic evaluation.</summary>
public static class UpdatesServiceCollectionExtensions
{
    public static IServiceCollection AddUpdates(this IServiceCollection services)
    {
        services.AddOptions<UpdateOptions>().BindConfiguration(UpdateOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<UpdateOptions>, UpdateOptionsValidator>();
        services.AddSingleton<UpdateRollouts>();
        services.AddSingleton<RolloutEvaluator>();
        services.AddHostedService(sp => sp.GetRequiredService<RolloutEvaluator>());
        return services;
    }
}
