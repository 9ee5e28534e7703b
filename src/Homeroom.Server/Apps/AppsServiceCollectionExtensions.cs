using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Homeroom.Server.Apps;

/// <summary>Registers the app catalog and app assignments.</summary>
public static class AppsServiceCollectionExtensions
{
    public static IServiceCollection AddApps(this IServiceCollection services)
    {
        services.AddSingleton<AppCatalog>();
        services.AddSingleton<AppAssignmentDirectory>();
        // Apple School Manager's Apps and Books replaces this when it is connected.
        services.TryAddSingleton<IVolumePurchaseLicences, LocalVolumePurchaseLicences>();
        return services;
    }
}
