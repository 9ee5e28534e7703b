using Microsoft.Extensions.Options;

namespace Homeroom.Server.Audit;

/// <summary>Registers the audit feature's services.</summary>
public static class AuditServiceCollectionExtensions
{
    public static IServiceCollection AddAudit(this IServiceCollection services)
    {
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<AuditQueries>();
        services.AddHostedService<AuditRetention>();
        return services;
    }
}
