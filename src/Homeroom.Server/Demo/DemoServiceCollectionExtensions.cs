using Microsoft.Extensions.Options;

namespace Homeroom.Server.Demo;

/// <summary>Registers the demo feature's services.</summary>
public static class DemoServiceCollectionExtensions
{
    public static IServiceCollection AddDemo(this IServiceCollection services)
    {
        services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DemoOptions>, DemoOptionsValidator>();
        services.AddSingleton<DemoDistrict>();
        services.AddSingleton<DemoRollout>();
        services.AddSingleton<DemoFleetService>();
        services.AddHostedService(sp => sp.GetRequiredService<DemoFleetService>());
        return services;
    }
}
