using Microsoft.Extensions.Options;

namespace Homeroom.Server.Locations;

/// <summary>Registers the locations feature's services.</summary>
public static class LocationsServiceCollectionExtensions
{
    public static IServiceCollection AddLocations(this IServiceCollection services)
    {
        services.AddOptions<LocationOptions>().BindConfiguration(LocationOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LocationOptions>, LocationOptionsValidator>();
        services.AddOptions<MapOptions>().BindConfiguration(MapOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MapOptions>, MapOptionsValidator>();
        services.AddSingleton<ZoneDirectory>();
        services.AddSingleton<AlertDirectory>();
        services.AddSingleton<ZoneMembership>();
        services.AddHostedService<ZoneLoader>();
        services.AddSingleton<BoundsRules>();
        services.AddSingleton<LocationTrackWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<LocationTrackWriter>());
        services.AddSingleton<AlertService>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertService>());
        services.AddSingleton<LocationConsent>();
        services.AddSingleton<LocationTracker>();
        services.AddSingleton<LocationRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<LocationRetention>());
        return services;
    }
}
