using Homeroom.Server.Accounts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Homeroom.Server.Notifications;

/// <summary>A school's notification settings over HTTP: thin calls into <see cref="NotificationSettingsDirectory"/>.</summary>
public static class NotificationEndpoints
{
    public static IEndpointRouteBuilder MapNotificationEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/schools/{id:guid}/notifications").WithTags("Notifications");
        group.MapGet("/", GetAsync).RequireStaff(ScopedResource.School, Permission.ManageNotifications)
            .WithDescription("The school's notification settings: which kinds go by e-mail to which addresses and to which webhook, and the last delivery result of each. The webhook secret is never shown here.");
        group.MapPut("/", UpdateAsync).RequireStaff(ScopedResource.School, Permission.ManageNotifications).ProducesValidationProblem()
            .WithDescription($"Replaces the school's notification settings. At most {NotificationSettingsDirectory.MaxEmailAddresses} addresses; the webhook over https:// (http:// only to loopback), at most {NotificationSettingsDirectory.MaxWebhookUrlLength} characters. A new webhook, or rotateWebhookSecret=true, answers with its signing secret (webhookSecret), shown this once. Audited.");
        return app;
    }

    private static async Task<Results<Ok<NotificationSettingsDto>, NotFound>> GetAsync(Guid id, StaffScope scope, NotificationSettingsDirectory settings, CancellationToken cancellationToken) =>
        await settings.GetAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Results<Ok<NotificationSettingsSaved>, NotFound>> UpdateAsync(
        Guid id, NotificationSettingsRequest request, StaffScope scope, NotificationSettingsDirectory settings, CancellationToken cancellationToken) =>
        await settings.UpdateAsync(scope, id, request, cancellationToken) is { } saved ? TypedResults.Ok(saved) : TypedResults.NotFound();
}
