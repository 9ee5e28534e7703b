namespace Homeroom.Server.Filtering;

/// <summary>Registers the filtering feature's services.</summary>
public static class FilteringServiceCollectionExtensions
{
    public static IServiceCollection AddFiltering(this IServiceCollection services)
    {
        services.AddSingleton<FilterListStore>();
        services.AddSingleton<UploadFilterList>();
        services.AddSingleton<FilterListDirectory>();
        services.AddHostedService<FilterListLoader>();
        return services;
    }
}
