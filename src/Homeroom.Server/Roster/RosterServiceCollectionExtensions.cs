namespace Homeroom.Server.Roster;

/// <summary>Registers the roster: schools, groups and people.</summary>
public static class RosterServiceCollectionExtensions
{
    public static IServiceCollection AddRoster(this IServiceCollection services)
    {
        services.AddSingleton<SchoolDirectory>();
        services.AddSingleton<GroupDirectory>();
        services.AddSingleton<PeopleDirectory>();
        services.AddSingleton<SchoolTimeZones>();
        return services;
    }
}
