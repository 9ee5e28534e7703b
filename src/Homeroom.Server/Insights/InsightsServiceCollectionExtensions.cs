using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>Registers the insights feature's services.</summary>
public static class InsightsServiceCollectionExtensions
{
    public static IServiceCollection AddInsights(this IServiceCollection services)
    {
        services.AddOptions<InsightsOptions>().BindConfiguration(InsightsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<InsightsOptions>, InsightsOptionsValidator>();
        services.AddSingleton<InsightRollups>();
        services.AddSingleton<InsightFolder>();
        services.AddHostedService(sp => sp.GetRequiredService<InsightFolder>());
        services.AddSingleton<InsightsRebuild>();
        services.AddSingleton<InsightsQueries>();
        services.AddSingleton<InsightReports>();
        services.AddSingleton<InsightsRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<InsightsRetention>());
        return services;
    }
}
