using Microsoft.Extensions.Options;
namespace Homeroom.Server.Commands;

/// <summary>Registers the commands feature's services.</summary>
public static class CommandsServiceCollectionExtensions
{
    public static IServiceCollection AddCommands(this IServiceCollection services)
    {
        services.AddOptions<CommandOptions>().BindConfiguration(CommandOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CommandOptions>, CommandOptionsValidator>();
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
