namespace Homeroom.Server.Locations;

/// <summary>Registers the locations feature's services.</summary>
public static class LocationsServiceCollectionExtensions
{
    public static IServiceCollection AddLocations(this IServiceCollection services)
    {
        services.AddOptions<LocationOptions>().BindConfiguration(LocationOptions.Section)
            .Validate(o => o.MaxAccuracyMeters > 0 && o.ConsecutiveFixes is >= 1 and <= 20 && o.MinDwell >= TimeSpan.Zero, "Location hysteresis settings are out of range.")
            .Validate(o => o.Retention >= TimeSpan.FromDays(1) && o.AlertRetention >= TimeSpan.FromDays(1), "Location and alert retention must be at least a day.")
            .ValidateOnStart();
        services.AddSingleton<ZoneDirectory>();
        services.AddSingleton<AlertDirectory>();
        services.AddSingleton<ZoneMembership>();
        services.AddHostedService<ZoneLoader>();
        services.AddSingleton<BoundsRules>();
        services.AddSingleton<LocationTrackWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<LocationTrackWriter>());
        services.AddSingleton<AlertService>();
        services.AddHostedService(sp => sp.GetRequiredService<AlertService>());
        services.AddSingleton<LocationTracker>();
        services.AddSingleton<LocationRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<LocationRetention>());
        return services;
    }
}
