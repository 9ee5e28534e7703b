using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apps;

/// <summary>Registers the app catalog, app assignments and the per-device app status job.</summary>
public static class AppsServiceCollectionExtensions
{
    public static IServiceCollection AddApps(this IServiceCollection services)
    {
        services.AddSingleton<AppCatalog>();
        services.AddSingleton<AppAssignmentDirectory>();
        services.AddOptions<AppInstallOptions>().BindConfiguration(AppInstallOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AppInstallOptions>, AppInstallOptionsValidator>();
        services.AddSingleton<AppLicenceLedger>();
        services.AddSingleton<AppInstallStatuses>();
        services.AddSingleton<AppleManagedApps>();
        services.AddSingleton<AppInstallReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<AppInstallReconciler>());
        // Apple School Manager's Apps and Books replaces this when it is connected.
        services.TryAddSingleton<IVolumePurchaseLicences, LocalVolumePurchaseLicences>();
        return services;
    }
}
