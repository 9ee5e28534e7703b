using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Notifications;

/// <summary>
/// Posts one notification as JSON to a school's webhook, signed so the receiver can tell it came from
/// this server and was not replayed: header <c>Homeroom-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</c>,
/// where the hex is HMAC-SHA256, keyed with the webhook's secret (its UTF-8 bytes), of
/// <c>"&lt;t&gt;.&lt;body&gt;"</c>. Redirects are not followed (a webhook that moved is reconfigured, not chased).
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients, IOptions<NotificationOptions> options, TimeProvider time)
{
    public const string ClientName = "Homeroom.Notifications.Webhooks";
    public const string SignatureHeader = "Homeroom-Signature";
    public const string EventHeader = "Homeroom-Event";
    public const string DeliveryHeader = "Homeroom-Delivery";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<DeliveryOutcome> SendAsync(Notification notification, string url, string secret, CancellationToken cancellationToken)
    {
        var config = options.Value;
        var body = JsonSerializer.Serialize(new
        {
            id = Guid.CreateVersion7(),
            kind = notification.Kind,
            severity = notification.Severity,
            subjectId = notification.SubjectId,
            schoolId = notification.SchoolId,
            deviceId = notification.DeviceId,
            title = notification.Title,
            text = notification.Text,
            link = NotificationLinks.Absolute(config, notification.Link),
            at = notification.At,
        }, Json);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add(SignatureHeader, $"t={timestamp},v1={Sign(secret, timestamp, body)}");
        request.Headers.Add(EventHeader, notification.Kind);
        request.Headers.Add(DeliveryHeader, notification.SubjectId.ToString());

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(config.WebhookTimeout);
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return DeliveryOutcome.Ok($"HTTP {status}");
            }

            var retry = status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            return new DeliveryOutcome(false, $"The webhook answered HTTP {status}.", retry);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeliveryOutcome(false, $"The webhook did not answer within {config.WebhookTimeout.TotalSeconds:0} s.", true);
        }
        catch (HttpRequestException e)
        {
            return new DeliveryOutcome(false, $"The webhook could not be reached: {e.Message}", true);
        }
    }

    /// <summary>The lower-case hex HMAC-SHA256 of <c>"{timestamp}.{body}"</c> keyed with the secret (what a receiver recomputes).</summary>
    public static string Sign(string secret, string timestamp, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));
}
