namespace Homeroom.Server.Commands;

/// <summary>Registers the commands feature's services.</summary>
public static class CommandsServiceCollectionExtensions
{
    public static IServiceCollection AddCommands(this IServiceCollection services)
    {
        services.AddOptions<CommandOptions>().BindConfiguration(CommandOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.DefaultTimeToLive > TimeSpan.Zero && o.DefaultTimeToLive <= o.MaxTimeToLive, "Default time to live must be positive and at most the maximum.")
            .Validate(o => o.Retention >= TimeSpan.FromHours(1), "Command retention must be at least an hour.")
            .Validate(o => o.MaintenanceInterval >= TimeSpan.FromSeconds(1), "Maintenance interval must be at least a second.")
            .ValidateOnStart();
        services.AddSingleton<CommandProgress>();
        services.AddSingleton<CommandStatusWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandStatusWriter>());
        services.AddSingleton<CommandDispatcher>();
        services.AddSingleton<IssueCommand>();
        services.AddSingleton<CommandLog>();
        services.AddSingleton<CommandMaintenance>();
        services.AddHostedService(sp => sp.GetRequiredService<CommandMaintenance>());
        return services;
    }
}
