namespace Homeroom.Server.Enrollment;

/// <summary>Registers enrollment: the tokens and the <see cref="EnrollDevice"/> use case.</summary>
public static class EnrollmentServiceCollectionExtensions
{
    public static IServiceCollection AddEnrollment(this IServiceCollection services)
    {
        services.AddSingleton<EnrollmentTokenDirectory>();
        services.AddSingleton<EnrollDevice>();
        return services;
    }
}
