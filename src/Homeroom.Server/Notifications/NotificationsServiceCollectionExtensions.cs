using Microsoft.Extensions.Options;

namespace Homeroom.Server.Notifications;

/// <summary>Registers the notifier, its delivery by e-mail and webhook, and the schools' settings.</summary>
public static class NotificationsServiceCollectionExtensions
{
    public static IServiceCollection AddNotifications(this IServiceCollection services)
    {
        services.AddOptions<NotificationOptions>().BindConfiguration(NotificationOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<NotificationOptions>, NotificationOptionsValidator>();
        services.AddSingleton<IValidateOptions<NotificationOptions>, NotificationOptionsRules>();
        services.AddSingleton<Notifier>();
        services.AddSingleton<NotificationSettingsDirectory>();
        services.AddSingleton<EmailSender>();
        services.AddSingleton<WebhookSender>();
        services.AddHttpClient(WebhookSender.ClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan); // Each request has its own (WebhookTimeout).
        services.AddHostedService<NotificationDelivery>();
        services.AddSingleton<ClusterNotifications>();
        services.AddHostedService(sp => sp.GetRequiredService<ClusterNotifications>());
        return services;
    }
}
