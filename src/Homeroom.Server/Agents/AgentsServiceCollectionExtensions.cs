using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Agents;

/// <summary>Registers the agent gateway, its connection registry, limits and the enrollment rate limit.</summary>
public static class AgentsServiceCollectionExtensions
{
    public static IServiceCollection AddAgents(this IServiceCollection services)
    {
        services.AddOptions<AgentOptions>().BindConfiguration(AgentOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<AgentGateway>();
        services.AddSingleton<AgentWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentWatch>());
        services.AddSingleton<ConnectStormCompaction>();
        services.AddHostedService(sp => sp.GetRequiredService<ConnectStormCompaction>());
        services.Configure<RateLimiterOptions>(o => o.AddPolicy(AgentEndpoints.EnrollRateLimit, context =>
            AgentEndpoints.EnrollPartition(context, context.RequestServices.GetRequiredService<IOptions<AgentOptions>>().Value)));
        return services;
    }
}
