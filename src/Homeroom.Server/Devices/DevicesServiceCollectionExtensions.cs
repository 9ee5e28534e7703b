namespace Homeroom.Server.Devices;

/// <summary>Registers the devices feature's services.</summary>
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
        services.AddSingleton<RevokeDevice>();
        services.AddOptions<ReenrollmentOptions>().BindConfiguration(ReenrollmentOptions.Section)
            .Validate(o => o.ApprovalWindow >= TimeSpan.FromMinutes(5) && o.ApprovalWindow <= TimeSpan.FromDays(30), "The re-enrollment approval window must be 5 minutes to 30 days.")
            .ValidateOnStart();
        services.AddSingleton<ApproveReenrollment>();
        return services;
    }
}
