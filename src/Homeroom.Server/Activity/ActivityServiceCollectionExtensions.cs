using Microsoft.Extensions.Options;

namespace Homeroom.Server.Activity;

/// <summary>Registers the activity feature's services.</summary>
public static class ActivityServiceCollectionExtensions
{
    public static IServiceCollection AddActivity(this IServiceCollection services)
    {
        services.AddOptions<ActivityOptions>().BindConfiguration(ActivityOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ActivityOptions>, ActivityOptionsValidator>();
        services.AddSingleton<ActivityQueries>();
        services.AddSingleton<ActivityBudget>();
        services.AddSingleton<ActivityWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<ActivityWriter>());
        services.AddSingleton<ActivityRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<ActivityRetention>());
        return services;
    }
}
