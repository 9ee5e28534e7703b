using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Notifications;

/// <summary>How notifications leave the server (configuration section <c>Homeroom:Notifications</c>).</summary>
public sealed class NotificationOptions
{
    public const string Section = "Homeroom:Notifications";

    /// <summary>The console's public address (https://homeroom.example.org), for links in e-mails and webhooks; without it they carry paths only.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>The SMTP relay. Nothing is sent by e-mail while <see cref="SmtpOptions.Host"/> is empty.</summary>
    [ValidateObjectMembers]
    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>How long one webhook request may take.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one SMTP conversation may take.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan EmailTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Tries per delivery (the first and the retries).</summary>
    [Range(1, 10)]
    public int Attempts { get; set; } = 4;

    /// <summary>The wait before the first retry; it doubles with each further one.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Deliveries (one e-mail or one webhook call) that may wait; beyond it new ones are dropped and logged.</summary>
    [Range(10, 100_000)]
    public int QueueLength { get; set; } = 1000;

    /// <summary>Deliveries in flight at once.</summary>
    [Range(1, 32)]
    public int Senders { get; set; } = 2;
}

/// <summary>The SMTP relay (section <c>Homeroom:Notifications:Smtp</c>).</summary>
public sealed class SmtpOptions
{
    /// <summary>The relay's host name; empty: e-mail is off.</summary>
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 587;

    /// <summary><c>auto</c> (STARTTLS when offered; TLS on connect for port 465), <c>startTls</c> (required), <c>sslOnConnect</c> or <c>none</c> (a relay on this machine).</summary>
    [RegularExpression("^(auto|startTls|sslOnConnect|none)$")]
    public string Security { get; set; } = "auto";

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>The sender address, e.g. <c>Homeroom &lt;homeroom@district.example.org&gt;</c>; required when a host is set.</summary>
    public string? From { get; set; }

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Host);
}

/// <summary>Validates <see cref="NotificationOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class NotificationOptionsValidator : IValidateOptions<NotificationOptions>;

/// <summary>The checks attributes cannot state: a sender when a relay is set, an absolute public address.</summary>
public sealed class NotificationOptionsRules : IValidateOptions<NotificationOptions>
{
    public ValidateOptionsResult Validate(string? name, NotificationOptions options)
    {
        var failures = new List<string>();
        if (options.Smtp.IsConfigured && (string.IsNullOrWhiteSpace(options.Smtp.From) || !MimeKit.MailboxAddress.TryParse(options.Smtp.From, out _)))
        {
            failures.Add($"{NotificationOptions.Section}:Smtp:From must be a valid sender address when Smtp:Host is set.");
        }

        if (!string.IsNullOrEmpty(options.PublicUrl)
            && (!Uri.TryCreate(options.PublicUrl, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http")))
        {
            failures.Add($"{NotificationOptions.Section}:PublicUrl must be an absolute http(s) address.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
