using Microsoft.Extensions.Options;

namespace Homeroom.Server.Classroom;

/// <summary>Registers the classroom: the <see cref="Classroom"/> service, class schedules and live screen viewing.</summary>
public static class ClassroomServiceCollectionExtensions
{
    public static IServiceCollection AddClassroom(this IServiceCollection services)
    {
        services.AddOptions<ClassroomOptions>().BindConfiguration(ClassroomOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClassroomOptions>, ClassroomOptionsValidator>();
        services.AddSingleton<ScreenViewStore>();
        services.AddSingleton<ScreenViews>();
        services.AddHostedService(sp => sp.GetRequiredService<ScreenViews>());
        services.AddSingleton<ClassSchedules>();
        services.AddSingleton<Classroom>();
        return services;
    }
}
