using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Homeroom.Server.Notifications;

/// <summary>
/// A school's choice of which notifications leave the console: kinds by e-mail to a few addresses,
/// kinds to one webhook. Lists are stored comma-separated (they are short and always read whole).
/// The webhook secret is kept encrypted with ASP.NET Core Data Protection, not hashed: the server
/// needs the secret itself to sign each delivery.
/// </summary>
public sealed class NotificationSettings
{
    public Guid SchoolId { get; set; }
    public string EmailKinds { get; set; } = string.Empty;
    public string EmailAddresses { get; set; } = string.Empty;
    public string? WebhookUrl { get; set; }
    public string WebhookKinds { get; set; } = string.Empty;
    public string? WebhookSecret { get; set; }
    public DateTime UpdatedAt { get; set; }
    public required string UpdatedBy { get; set; }
    public DateTime? LastEmailAt { get; set; }
    public bool? LastEmailSucceeded { get; set; }
    public string? LastEmailResult { get; set; }
    public DateTime? LastWebhookAt { get; set; }
    public bool? LastWebhookSucceeded { get; set; }
    public string? LastWebhookResult { get; set; }
}

internal sealed class NotificationSettingsConfiguration : IEntityTypeConfiguration<NotificationSettings>
{
    public void Configure(EntityTypeBuilder<NotificationSettings> builder)
    {
        builder.ToTable("notification_settings");
        builder.HasKey(s => s.SchoolId);
    }
}
