namespace Homeroom.Server.Classroom;

/// <summary>Registers the classroom: the <see cref="Classroom"/> service and live screen viewing.</summary>
public static class ClassroomServiceCollectionExtensions
{
    public static IServiceCollection AddClassroom(this IServiceCollection services)
    {
        services.AddSingleton<ScreenViews>();
        services.AddHostedService(sp => sp.GetRequiredService<ScreenViews>());
        services.AddSingleton<Classroom>();
        return services;
    }
}
