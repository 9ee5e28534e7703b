namespace Homeroom.Server.SelfUpdates;

/// <summary>Registers desktop agent self-updates (the builds, and the offers made to devices).</summary>
public static class AgentUpdatesServiceCollectionExtensions
{
    public static IServiceCollection AddAgentUpdates(this IServiceCollection services)
    {
        services.AddOptions<AgentUpdateOptions>().BindConfiguration(AgentUpdateOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AgentUpdateOffers>();
        services.AddSingleton<AgentBuildContent>();
        services.AddSingleton<AgentBuilds>();
        return services;
    }
}
