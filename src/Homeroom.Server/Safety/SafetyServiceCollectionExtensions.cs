using Microsoft.Extensions.Options;

namespace Homeroom.Server.Safety;

/// <summary>Registers the student safety feature's services.</summary>
public static class SafetyServiceCollectionExtensions
{
    public static IServiceCollection AddSafety(this IServiceCollection services)
    {
        services.AddOptions<SafetyOptions>().BindConfiguration(SafetyOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SafetyOptions>, SafetyOptionsValidator>();
        services.AddSingleton<SignalBudget>();
        services.AddSingleton<SafetyConsent>();
        services.AddSingleton<SafetyLexicons>();
        services.AddSingleton<SafetyCaptures>();
        services.AddSingleton<SafetyIngestion>();
        services.AddSingleton<SafetyCases>();
        services.AddSingleton<SafetyLexiconDirectory>();
        services.AddSingleton<SafetySettingsDirectory>();
        services.AddSingleton<SafetyEscalation>();
        services.AddHostedService(sp => sp.GetRequiredService<SafetyEscalation>());
        services.AddSingleton<SafetyQuietHours>();
        services.AddHostedService(sp => sp.GetRequiredService<SafetyQuietHours>());
        services.AddSingleton<SafetyRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<SafetyRetention>());
        return services;
    }
}
