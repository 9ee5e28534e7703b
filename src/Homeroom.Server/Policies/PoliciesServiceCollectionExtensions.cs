namespace Homeroom.Server.Policies;

/// <summary>Registers the policies feature's services.</summary>
public static class PoliciesServiceCollectionExtensions
{
    public static IServiceCollection AddPolicies(this IServiceCollection services)
    {
        services.AddSingleton<PolicyDistributor>();
        services.AddHostedService(sp => sp.GetRequiredService<PolicyDistributor>());
        return services;
    }
}
