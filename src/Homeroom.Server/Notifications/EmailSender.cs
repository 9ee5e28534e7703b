using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Homeroom.Server.Notifications;

/// <summary>
/// Sends e-mail through the configured SMTP relay (MailKit): a notification as one plain-text message to a
/// school's addresses, or any message another feature composes (the scheduled insights reports).
/// </summary>
public sealed class EmailSender(IOptions<NotificationOptions> options)
{
    /// <summary>Whether a relay is configured (nothing is sent without one).</summary>
    public bool IsConfigured => options.Value.Smtp.IsConfigured;

    /// <summary>A message from the configured sender, or null when no relay is configured.</summary>
    public MimeMessage? NewMessage()
    {
        var smtp = options.Value.Smtp;
        if (!smtp.IsConfigured)
        {
            return null;
        }

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(smtp.From!));
        return message;
    }

    public async Task<DeliveryOutcome> SendAsync(Notification notification, IReadOnlyList<string> addresses, CancellationToken cancellationToken)
    {
        var config = options.Value;
        if (NewMessage() is not { } message)
        {
            return new DeliveryOutcome(false, "No SMTP relay is configured.", false);
        }

        foreach (var address in addresses)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }

        message.Subject = $"[Homeroom] {notification.Title}";
        message.Body = new TextPart("plain")
        {
            Text = $"{notification.Text}\n\nSeverity: {notification.Severity.ToString().ToLowerInvariant()}\nWhen: {notification.At:yyyy-MM-dd HH:mm} UTC\n\nOpen it in Homeroom: {NotificationLinks.Absolute(config, notification.Link)}\n",
        };

        return await SendAsync(message, cancellationToken);
    }

    /// <summary>Sends a composed message (from <see cref="NewMessage"/>) within the configured timeout.</summary>
    public async Task<DeliveryOutcome> SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        var config = options.Value;
        var smtp = config.Smtp;
        if (!smtp.IsConfigured)
        {
            return new DeliveryOutcome(false, "No SMTP relay is configured.", false);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(config.EmailTimeout);
        using var client = new SmtpClient { Timeout = (int)config.EmailTimeout.TotalMilliseconds };
        try
        {
            var security = smtp.Security switch
            {
                "none" => SecureSocketOptions.None,
                "startTls" => SecureSocketOptions.StartTls,
                "sslOnConnect" => SecureSocketOptions.SslOnConnect,
                _ => SecureSocketOptions.Auto,
            };
            await client.ConnectAsync(smtp.Host!, smtp.Port, security, timeout.Token);
            if (!string.IsNullOrEmpty(smtp.Username))
            {
                await client.AuthenticateAsync(smtp.Username, smtp.Password ?? string.Empty, timeout.Token);
            }

            await client.SendAsync(message, timeout.Token);
            await client.DisconnectAsync(true, timeout.Token);
            return DeliveryOutcome.Ok($"Sent to {message.To.Count} address(es).");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeliveryOutcome(false, $"The SMTP relay did not answer within {config.EmailTimeout.TotalSeconds:0} s.", true);
        }
        catch (AuthenticationException e)
        {
            return new DeliveryOutcome(false, $"The SMTP relay refused the credentials: {e.Message}", false);
        }
        catch (SmtpCommandException e)
        {
            // 5xx answers are permanent (a refused recipient); 4xx may pass later.
            return new DeliveryOutcome(false, $"The SMTP relay answered {(int)e.StatusCode}: {e.Message}", (int)e.StatusCode < 500);
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or System.Net.Sockets.SocketException or SslHandshakeException)
        {
            return new DeliveryOutcome(false, $"The SMTP relay could not be reached: {e.Message}", true);
        }
    }
}
