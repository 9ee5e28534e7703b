namespace Homeroom.Server.Enrollment;

/// <summary>Registers enrollment: the tokens, the <see cref="EnrollDevice"/> use case and desktops' browser companions (<see cref="CompanionBrowsers"/>, <see cref="CompanionRetention"/>).</summary>
public static class EnrollmentServiceCollectionExtensions
{
    public static IServiceCollection AddEnrollment(this IServiceCollection services)
    {
        services.AddSingleton<EnrollmentTokenDirectory>();
        services.AddSingleton<EnrollDevice>();
        services.AddSingleton<CompanionBrowsers>();
        services.AddSingleton<CompanionRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<CompanionRetention>());
        return services;
    }
}
