using Homeroom.Server.Apps;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>Registers Apple School Manager: automated device enrollment and Apps and Books licences.</summary>
public static class AppleSchoolManagerServiceCollectionExtensions
{
    public static IServiceCollection AddAppleSchoolManager(this IServiceCollection services)
    {
        services.AddOptions<AppleSchoolManagerOptions>().BindConfiguration(AppleSchoolManagerOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AppleSchoolManagerOptions>, AppleSchoolManagerOptionsValidator>();
        services.AddHttpClient(AppleHttp.ClientName, client => client.Timeout = TimeSpan.FromSeconds(60));
        services.AddSingleton<AppleHttp>();
        services.AddSingleton<AsmTokenVault>();
        services.AddSingleton<AsmKeyStore>();
        services.AddSingleton<AsmContentTokenCache>();
        services.AddSingleton<DeviceAssignmentClient>();
        services.AddSingleton<AppsAndBooksClient>();
        services.AddSingleton<AdeSync>();
        services.AddSingleton<AppsAndBooksLicenceSync>();
        services.AddSingleton<AppleSchoolManagerService>();
        // Licences go through Apple's Apps and Books once a content token is uploaded; until then this
        // counts locally, exactly as the default it replaces.
        services.Replace(ServiceDescriptor.Singleton<IVolumePurchaseLicences, AppleVolumePurchaseLicences>());
        services.AddHostedService<AppleSchoolManagerSchedule>();
        return services;
    }
}
