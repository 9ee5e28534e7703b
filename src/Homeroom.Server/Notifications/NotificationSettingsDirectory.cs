using System.Net;
using System.Security.Cryptography;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Notifications;

/// <summary>The last attempt to deliver by one channel: when, whether it worked, and what happened.</summary>
public sealed record DeliveryResultDto(DateTime At, bool Succeeded, string Result);

/// <summary>
/// A school's notification settings. The webhook's secret is never shown again after it is created;
/// <c>HasWebhookSecret</c> says one exists. <c>EmailEnabled</c> is false while the server has no SMTP relay.
/// </summary>
public sealed record NotificationSettingsDto(
    Guid SchoolId,
    string SchoolName,
    IReadOnlyList<string> EmailKinds,
    IReadOnlyList<string> EmailAddresses,
    string? WebhookUrl,
    IReadOnlyList<string> WebhookKinds,
    bool HasWebhookSecret,
    bool EmailEnabled,
    DeliveryResultDto? LastEmail,
    DeliveryResultDto? LastWebhook,
    DateTime? UpdatedAt,
    string? UpdatedBy);

/// <summary>A school's new notification settings (the whole of them: lists left out are emptied).</summary>
public sealed record NotificationSettingsRequest(
    IReadOnlyList<string>? EmailKinds,
    IReadOnlyList<string>? EmailAddresses,
    string? WebhookUrl,
    IReadOnlyList<string>? WebhookKinds,
    bool RotateWebhookSecret = false);

/// <summary>Saved settings, and the webhook's signing secret when it was just created (shown this once).</summary>
public sealed record NotificationSettingsSaved(NotificationSettingsDto Settings, string? WebhookSecret);

/// <summary>A school the staff member may set notifications for.</summary>
public sealed record NotificationSchoolDto(Guid Id, string Name);

/// <summary>Where one notification goes for a school: the addresses and the webhook (with its secret, to sign).</summary>
internal sealed record DeliveryTargets(IReadOnlyList<string> EmailAddresses, string? WebhookUrl, string? WebhookSecret);

/// <summary>Which channel a delivery went by.</summary>
public enum DeliveryChannel
{
    Email,
    Webhook,
}

/// <summary>
/// Reads and changes schools' notification settings (school administrators their school, district
/// administrators every school), validated whole, audited; and, for <see cref="NotificationDelivery"/>,
/// where a notification goes and what became of the last delivery.
/// </summary>
public sealed class NotificationSettingsDirectory(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AuditTrail audit,
    TimeProvider time,
    IDataProtectionProvider protection,
    IOptions<NotificationOptions> options)
{
    public const int MaxEmailAddresses = 20;
    public const int MaxEmailAddressLength = 254;
    public const int MaxWebhookUrlLength = 2000;
    public const int MaxResultLength = 500;

    private readonly IDataProtector _secrets = protection.CreateProtector("Homeroom.Notifications.WebhookSecret");

    /// <summary>The schools of the scope, by name (the settings page's choice).</summary>
    public async Task<List<NotificationSchoolDto>> SchoolsAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageNotifications);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.Schools(db).OrderBy(s => s.Name).Select(s => new NotificationSchoolDto(s.Id, s.Name)).ToListAsync(cancellationToken);
    }

    /// <summary>A school's settings (empty ones when never set); null when the school is not in the scope.</summary>
    public async Task<NotificationSettingsDto?> GetAsync(StaffScope scope, Guid schoolId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageNotifications);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var school = await scope.Schools(db).Where(s => s.Id == schoolId).Select(s => s.Name).FirstOrDefaultAsync(cancellationToken);
        if (school is null)
        {
            return null;
        }

        var settings = await db.Set<NotificationSettings>().AsNoTracking().FirstOrDefaultAsync(s => s.SchoolId == schoolId, cancellationToken);
        return ToDto(schoolId, school, settings);
    }

    /// <summary>
    /// Replaces a school's settings after checking all of them (nothing is saved when one is wrong).
    /// A webhook gets a new signing secret when it is first set or when asked to rotate; removing the
    /// webhook removes its secret. Audited, without the secret. Null when the school is not in the scope.
    /// </summary>
    public async Task<NotificationSettingsSaved?> UpdateAsync(StaffScope scope, Guid schoolId, NotificationSettingsRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageNotifications);
        var (emailKinds, addresses, webhookUrl, webhookKinds) = Validate(request);

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Schools(db).AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            return null;
        }

        var settings = await db.Set<NotificationSettings>().FirstOrDefaultAsync(s => s.SchoolId == schoolId, cancellationToken);
        if (settings is null)
        {
            settings = new NotificationSettings { SchoolId = schoolId, UpdatedBy = scope.Username };
            db.Add(settings);
        }

        string? newSecret = null;
        if (webhookUrl is null)
        {
            settings.WebhookSecret = null;
        }
        else if (settings.WebhookSecret is null || request.RotateWebhookSecret)
        {
            newSecret = "whsec_" + Base64Url(RandomNumberGenerator.GetBytes(32));
            settings.WebhookSecret = _secrets.Protect(newSecret);
        }

        settings.EmailKinds = string.Join(',', emailKinds);
        settings.EmailAddresses = string.Join(',', addresses);
        settings.WebhookUrl = webhookUrl;
        settings.WebhookKinds = string.Join(',', webhookKinds);
        settings.UpdatedAt = time.GetUtcNow().UtcDateTime;
        settings.UpdatedBy = scope.Username;

        var webhook = webhookUrl is null ? "none" : $"{new Uri(webhookUrl).GetLeftPart(UriPartial.Authority)} ({Kinds(webhookKinds)})";
        audit.Record(db, "notifications.update", "school", schoolId.ToString(),
            $"E-mail: {Kinds(emailKinds)} to {addresses.Count} address(es); webhook: {webhook}{(newSecret is null ? "" : "; new signing secret")}", schoolId);
        await db.SaveChangesAsync(cancellationToken);

        var name = await db.Schools.Where(s => s.Id == schoolId).Select(s => s.Name).FirstAsync(cancellationToken);
        return new NotificationSettingsSaved(ToDto(schoolId, name, settings), newSecret);
    }

    internal async Task<DeliveryTargets?> TargetsAsync(Guid schoolId, string kind, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var settings = await db.Set<NotificationSettings>().AsNoTracking().FirstOrDefaultAsync(s => s.SchoolId == schoolId, cancellationToken);
        if (settings is null)
        {
            return null;
        }

        var emails = Split(settings.EmailKinds).Contains(kind) ? Split(settings.EmailAddresses) : [];
        var webhook = settings.WebhookUrl is not null && settings.WebhookSecret is not null && Split(settings.WebhookKinds).Contains(kind);
        return new DeliveryTargets(emails, webhook ? settings.WebhookUrl : null, webhook ? _secrets.Unprotect(settings.WebhookSecret!) : null);
    }

    internal async Task RecordAsync(Guid schoolId, DeliveryChannel channel, bool succeeded, string result, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var settings = await db.Set<NotificationSettings>().FirstOrDefaultAsync(s => s.SchoolId == schoolId, cancellationToken);
        if (settings is null)
        {
            return;
        }

        var now = time.GetUtcNow().UtcDateTime;
        result = result.Length > MaxResultLength ? result[..MaxResultLength] : result;
        if (channel == DeliveryChannel.Email)
        {
            (settings.LastEmailAt, settings.LastEmailSucceeded, settings.LastEmailResult) = (now, succeeded, result);
        }
        else
        {
            (settings.LastWebhookAt, settings.LastWebhookSucceeded, settings.LastWebhookResult) = (now, succeeded, result);
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Whether a webhook address is acceptable: HTTPS; plain HTTP only to this machine (a local relay, tests), where nothing crosses a network.</summary>
    public static string? WebhookUrlProblem(string url)
    {
        if (url.Length > MaxWebhookUrlLength)
        {
            return $"Must be at most {MaxWebhookUrlLength} characters.";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || string.IsNullOrEmpty(uri.Host))
        {
            return "Must be an absolute https:// address.";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Fragment))
        {
            return "Must not contain a user name, password or #fragment.";
        }

        if (uri.Scheme == "http" && !IsLoopback(uri))
        {
            return "Must use https:// (plain http:// only to this machine: localhost, 127.0.0.1, ::1).";
        }

        return null;
    }

    /// <summary>Whether an e-mail address is a plain, valid address (no display name, no list).</summary>
    public static bool IsEmailAddress(string address) =>
        address.Length <= MaxEmailAddressLength
        && !address.Any(char.IsWhiteSpace)
        && address.IndexOf('@', StringComparison.Ordinal) is > 0 and var at && at < address.Length - 1
        && address.IndexOf('@', at + 1) < 0
        && MimeKit.MailboxAddress.TryParse(address, out var parsed)
        && string.Equals(parsed.Address, address, StringComparison.Ordinal);

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.DnsSafeHost, out var ip) && IPAddress.IsLoopback(ip));

    private static (List<string> EmailKinds, List<string> Addresses, string? WebhookUrl, List<string> WebhookKinds) Validate(NotificationSettingsRequest request)
    {
        var validation = new Validation();
        var emailKinds = CheckKinds(validation, "emailKinds", request.EmailKinds);
        var webhookKinds = CheckKinds(validation, "webhookKinds", request.WebhookKinds);

        var addresses = (request.EmailAddresses ?? []).Select(a => (a ?? string.Empty).Trim()).Where(a => a.Length > 0).ToList();
        if (addresses.Count > MaxEmailAddresses)
        {
            validation.Add("emailAddresses", $"At most {MaxEmailAddresses} addresses.");
        }
        else if (addresses.FirstOrDefault(a => !IsEmailAddress(a)) is { } bad)
        {
            validation.Add("emailAddresses", $"'{(bad.Length > 60 ? bad[..60] + "…" : bad)}' is not a valid e-mail address (name@example.org, at most {MaxEmailAddressLength} characters).");
        }
        else if (addresses.Count != addresses.Distinct(StringComparer.OrdinalIgnoreCase).Count())
        {
            validation.Add("emailAddresses", "An address is listed twice.");
        }
        else if (emailKinds.Count > 0 && addresses.Count == 0)
        {
            validation.Add("emailAddresses", "Name at least one address to send e-mail to, or choose no kinds for e-mail.");
        }

        var webhookUrl = string.IsNullOrWhiteSpace(request.WebhookUrl) ? null : request.WebhookUrl.Trim();
        if (webhookUrl is not null && WebhookUrlProblem(webhookUrl) is { } problem)
        {
            validation.Add("webhookUrl", problem);
        }
        else if (webhookKinds.Count > 0 && webhookUrl is null)
        {
            validation.Add("webhookUrl", "Give the webhook's address, or choose no kinds for the webhook.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        return (emailKinds, addresses, webhookUrl, webhookKinds);
    }

    private static List<string> CheckKinds(Validation validation, string field, IReadOnlyList<string>? kinds)
    {
        var list = (kinds ?? []).Distinct(StringComparer.Ordinal).ToList();
        if (list.FirstOrDefault(k => !NotificationKinds.All.Contains(k)) is { } unknown)
        {
            validation.Add(field, $"Unknown kind '{(unknown is { Length: > 40 } ? unknown[..40] + "…" : unknown)}'; one of {string.Join(", ", NotificationKinds.All)}.");
        }

        return list;
    }

    private NotificationSettingsDto ToDto(Guid schoolId, string schoolName, NotificationSettings? s) => new(
        schoolId,
        schoolName,
        Split(s?.EmailKinds),
        Split(s?.EmailAddresses),
        s?.WebhookUrl,
        Split(s?.WebhookKinds),
        s?.WebhookSecret is not null,
        options.Value.Smtp.IsConfigured,
        s is { LastEmailAt: { } ea, LastEmailSucceeded: { } eok } ? new DeliveryResultDto(ea, eok, s.LastEmailResult ?? string.Empty) : null,
        s is { LastWebhookAt: { } wa, LastWebhookSucceeded: { } wok } ? new DeliveryResultDto(wa, wok, s.LastWebhookResult ?? string.Empty) : null,
        s?.UpdatedAt,
        s?.UpdatedBy);

    private static List<string> Split(string? list) => string.IsNullOrEmpty(list) ? [] : [.. list.Split(',')];

    private static string Kinds(List<string> kinds) => kinds.Count == 0 ? "nothing" : string.Join(", ", kinds);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
