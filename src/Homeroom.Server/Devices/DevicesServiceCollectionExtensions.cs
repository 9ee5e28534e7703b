using Microsoft.Extensions.Options;

namespace Homeroom.Server.Devices;

/// <summary>Registers devices: presence, inventory, live state and the device use cases.</summary>
public static class DevicesServiceCollectionExtensions
{
    public static IServiceCollection AddDevices(this IServiceCollection services)
    {
        services.AddOptions<PresenceOptions>().BindConfiguration(PresenceOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PresenceOptions>, PresenceOptionsValidator>();
        services.AddSingleton<PresenceTracker>();
        services.AddSingleton<DeviceLiveState>();
        services.AddSingleton<ClusterDeviceState>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterDeviceState>());
        services.AddHostedService(sp => sp.GetRequiredService<PresenceTracker>());
        services.AddSingleton<InventoryWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<InventoryWriter>());
        services.AddSingleton<AppSnapshotWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<AppSnapshotWriter>());
        services.AddSingleton<DeviceDirectory>();
        services.AddSingleton<UpdateDevice>();
        services.AddSingleton<SharedDeviceSignIn>();
        services.AddSingleton<RevokeDevice>();
        services.AddSingleton<SwapDevice>();
        services.AddSingleton<DeviceRepairs>();
        services.AddHostedService<RepairRetention>();
        services.AddOptions<ReenrollmentOptions>().BindConfiguration(ReenrollmentOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReenrollmentOptions>, ReenrollmentOptionsValidator>();
        services.AddSingleton<ApproveReenrollment>();
        return services;
    }
}
