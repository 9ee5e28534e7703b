using Microsoft.Extensions.Options;

namespace Homeroom.Server.Support;

/// <summary>Registers help requests (students asking for help, the teacher's list, the IT queue).</summary>
public static class SupportServiceCollectionExtensions
{
    public static IServiceCollection AddSupport(this IServiceCollection services)
    {
        services.AddOptions<SupportOptions>().BindConfiguration(SupportOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SupportOptions>, SupportOptionsValidator>();
        services.AddSingleton<HelpRequestNotifier>();
        services.AddSingleton<HelpRequestDiagnostics>();
        services.AddSingleton<HelpRequests>();
        services.AddSingleton<SupportRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<SupportRetention>());
        return services;
    }
}
