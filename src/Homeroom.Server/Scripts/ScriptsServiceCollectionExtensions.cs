namespace Homeroom.Server.Scripts;

/// <summary>Registers remote scripts (the library, its signing key, runs and stored results; their retention runs in the support retention job).</summary>
public static class ScriptsServiceCollectionExtensions
{
    public static IServiceCollection AddScripts(this IServiceCollection services)
    {
        services.AddOptions<ScriptOptions>().BindConfiguration(ScriptOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<ScriptSigningKey>();
        services.AddSingleton<ScriptLibrary>();
        services.AddSingleton<ScriptRuns>();
        services.AddSingleton<ScriptResultWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<ScriptResultWriter>());
        return services;
    }
}
