using Microsoft.Extensions.Options;

namespace Homeroom.Server.Policies;

/// <summary>Registers policies: profiles, assignments, explanations and the distributor.</summary>
public static class PoliciesServiceCollectionExtensions
{
    public static IServiceCollection AddPolicies(this IServiceCollection services)
    {
        services.AddOptions<PolicyOptions>().BindConfiguration(PolicyOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PolicyOptions>, PolicyOptionsValidator>();
        services.AddSingleton<PolicyDistributor>();
        services.AddSingleton<SharedPolicyModel>();
        services.AddHostedService(sp => sp.GetRequiredService<PolicyDistributor>());
        services.AddSingleton<ProfileDirectory>();
        services.AddSingleton<AssignmentDirectory>();
        services.AddSingleton<PolicyQueries>();
        return services;
    }
}
