namespace Homeroom.Server.Devices;

/// <summary>Registers devices: presence, inventory, live state and the device use cases.</summary>
public static class DevicesServiceCollectionExtensions
{
    public static IServiceCollection AddDevices(this IServiceCollection services)
    {
        services.AddOptions<PresenceOptions>().BindConfiguration(PresenceOptions.Section)
            .Validate(o => o.FlushInterval >= TimeSpan.FromMilliseconds(100) && o.FlushInterval <= TimeSpan.FromMinutes(10), "Presence flush interval must be 100 ms to 10 minutes.")
            .ValidateOnStart();
        services.AddSingleton<PresenceTracker>();
        services.AddSingleton<DeviceLiveState>();
        services.AddHostedService(sp => sp.GetRequiredService<PresenceTracker>());
        services.AddSingleton<InventoryWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<InventoryWriter>());
        services.AddSingleton<DeviceDirectory>();
        services.AddSingleton<UpdateDevice>();
        services.AddSingleton<RevokeDevice>();
        return services;
    }
}
