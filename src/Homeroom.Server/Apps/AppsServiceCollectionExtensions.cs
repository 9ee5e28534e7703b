namespace Homeroom.Server.Apps;

/// <summary>Registers the app catalog and app assignments.</summary>
public static class AppsServiceCollectionExtensions
{
    public static IServiceCollection AddApps(this IServiceCollection services)
    {
        services.AddSingleton<AppCatalog>();
        services.AddSingleton<AppAssignmentDirectory>();
        return services;
    }
}
