using Microsoft.Extensions.Options;

namespace Homeroom.Server.Hosting.Cluster;

/// <summary>Registers the node's identity and the leases of once-per-cluster jobs (before the features, whose jobs use them).</summary>
public static class JobLeasesServiceCollectionExtensions
{
    public static IServiceCollection AddJobLeases(this IServiceCollection services)
    {
        services.AddOptions<ClusterOptions>().BindConfiguration(ClusterOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClusterOptions>, ClusterOptionsValidator>();
        services.AddSingleton<ClusterNode>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterNode>());
        services.AddSingleton<JobLeases>();
        services.AddHostedService(sp => sp.GetRequiredService<JobLeases>());
        return services;
    }
}
