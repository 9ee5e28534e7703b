namespace Homeroom.Server.Demo;

/// <summary>Registers the demo feature's services.</summary>
public static class DemoServiceCollectionExtensions
{
    public static IServiceCollection AddDemo(this IServiceCollection services)
    {
        services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DemoDistrict>();
        services.AddSingleton<DemoFleetService>();
        services.AddHostedService(sp => sp.GetRequiredService<DemoFleetService>());
        return services;
    }
}
