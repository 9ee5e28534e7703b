namespace Homeroom.Server.Enrollment;

/// <summary>Registers the enrollment feature's services.</summary>
public static class EnrollmentServiceCollectionExtensions
{
    public static IServiceCollection AddEnrollment(this IServiceCollection services) => services.AddSingleton<EnrollDevice>();
}
