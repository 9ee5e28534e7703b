using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Homeroom.Server.Notifications;

/// <summary>Sends one notification as one plain-text e-mail to a school's addresses through the configured SMTP relay (MailKit).</summary>
public sealed class EmailSender(IOptions<NotificationOptions> options)
{
    public async Task<DeliveryOutcome> SendAsync(Notification notification, IReadOnlyList<string> addresses, CancellationToken cancellationToken)
    {
        var config = options.Value;
        var smtp = config.Smtp;
        if (!smtp.IsConfigured)
        {
            return new DeliveryOutcome(false, "No SMTP relay is configured.", false);
        }

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(smtp.From!));
        foreach (var address in addresses)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }

        message.Subject = $"[Homeroom] {notification.Title}";
        message.Body = new TextPart("plain")
        {
            Text = $"{notification.Text}\n\nSeverity: {notification.Severity.ToString().ToLowerInvariant()}\nWhen: {notification.At:yyyy-MM-dd HH:mm} UTC\n\nOpen it in Homeroom: {NotificationLinks.Absolute(config, notification.Link)}\n",
        };

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
            return DeliveryOutcome.Ok($"Sent to {addresses.Count} address(es).");
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
