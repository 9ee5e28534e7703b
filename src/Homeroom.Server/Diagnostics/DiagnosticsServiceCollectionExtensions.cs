using Microsoft.Extensions.Options;

namespace Homeroom.Server.Diagnostics;

/// <summary>Registers device diagnostics (requests, stored reports; their retention runs in the support retention job).</summary>
public static class DiagnosticsServiceCollectionExtensions
{
    public static IServiceCollection AddDiagnostics(this IServiceCollection services)
    {
        services.AddOptions<DiagnosticsOptions>().BindConfiguration(DiagnosticsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DiagnosticsOptions>, DiagnosticsOptionsValidator>();
        services.AddSingleton<DiagnosticsNotifier>();
        services.AddSingleton<DiagnosticsWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<DiagnosticsWriter>());
        services.AddSingleton<DiagnosticsStore>();
        services.AddSingleton<DiagnosticSites>();
        services.AddSingleton<DeviceDiagnostics>();
        return services;
    }
}
