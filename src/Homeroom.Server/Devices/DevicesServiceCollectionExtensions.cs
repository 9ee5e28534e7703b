namespace Homeroom.Server.Devices;

/// <summary>Registers the devices feature's services.</summary>
public static class DevicesServiceCollectionExtensions
{
    public static IServiceCollection AddDevices(this IServiceCollection services)
    {
        services.AddOptions<PresenceOptions>().BindConfiguration(PresenceOptions.Section)
            .Validate(o => o.FlushInterval >= TimeSpan.FromMilliseconds(100) && o.FlushInterval <= TimeSpan.FromMinutes(10), "Presence flush interval must be 100 ms to 10 minutes.")
            .Validate(o => o.MdmOnlineWindow >= TimeSpan.FromSeconds(10) && o.MdmOnlineWindow <= TimeSpan.FromDays(1), "The MDM online window must be 10 seconds to a day.")
            .ValidateOnStart();
        services.AddSingleton<PresenceTracker>();
        services.AddSingleton<DeviceLiveState>();
        services.AddHostedService(sp => sp.GetRequiredService<PresenceTracker>());
        services.AddSingleton<InventoryWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<InventoryWriter>());
        services.AddSingleton<RevokeDevice>();
        return services;
    }
}
