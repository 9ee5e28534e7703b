using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>What went wrong talking to Apple, in the terms the callers act on.</summary>
public enum AppleFailure
{
    /// <summary>429 or 503 (with Retry-After), a timeout or a network error: nothing was done, try again later.</summary>
    RetryLater,

    /// <summary>401: the session (or the content token) was refused.</summary>
    Unauthorized,

    /// <summary>The answer was not the JSON Apple documents (or too large).</summary>
    Malformed,

    /// <summary>The sync cursor is older than Apple keeps (EXPIRED_CURSOR) or unknown (INVALID_CURSOR): fetch everything again.</summary>
    ExpiredCursor,

    /// <summary>Any other refusal, with Apple's code.</summary>
    Refused,
}

/// <summary>A call to Apple that did not succeed.</summary>
public sealed class AppleServiceException(AppleFailure failure, string message, string? code = null, TimeSpan? retryAfter = null) : Exception(message)
{
    public AppleFailure Failure { get; } = failure;

    /// <summary>Apple's error code (EXPIRED_CURSOR, an Apps and Books errorNumber), when it gave one.</summary>
    public string? Code { get; } = code;

    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>
/// One request to Apple with the shared rules: 429 and 503 wait for Retry-After (at most
/// <see cref="AppleSchoolManagerOptions.MaxRetryWait"/>, <see cref="AppleSchoolManagerOptions.MaxRetries"/> times)
/// and then give up with <see cref="AppleFailure.RetryLater"/>, so no work is lost, only postponed; answers
/// are read up to <see cref="AppleSchoolManagerOptions.MaxResponseBytes"/> and parsed as JSON.
/// </summary>
public sealed class AppleHttp(IHttpClientFactory clients, IOptions<AppleSchoolManagerOptions> options, TimeProvider time, ILogger<AppleHttp> logger)
{
    public const string ClientName = "apple-school-manager";

    /// <summary>Sends what <paramref name="build"/> makes (again for each retry) and returns the answer's status, body and headers.</summary>
    public async Task<AppleAnswer> SendAsync(Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        for (var attempt = 0; ; attempt++)
        {
            using var request = build();
            HttpResponseMessage response;
            try
            {
                response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException e)
            {
                throw new AppleServiceException(AppleFailure.RetryLater, $"Apple could not be reached ({e.HttpRequestError}).");
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new AppleServiceException(AppleFailure.RetryLater, "Apple did not answer in time.");
            }

            using (response)
            {
                if (response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
                {
                    var wait = RetryAfter(response) ?? TimeSpan.FromSeconds(Math.Pow(2, attempt));
                    AppleSchoolManagerLog.Throttled(logger, request.RequestUri?.AbsolutePath ?? "", (int)response.StatusCode, wait.TotalSeconds);
                    if (attempt >= settings.MaxRetries || wait > settings.MaxRetryWait)
                    {
                        throw new AppleServiceException(AppleFailure.RetryLater,
                            $"Apple is busy ({(int)response.StatusCode}); asked to wait {Math.Ceiling(wait.TotalSeconds)} s.", ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), wait);
                    }

                    await Task.Delay(wait, time, cancellationToken);
                    continue;
                }

                var body = await ReadLimitedAsync(response, settings.MaxResponseBytes, cancellationToken);
                return new AppleAnswer(response.StatusCode, body, response.Headers);
            }
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta < TimeSpan.Zero ? TimeSpan.Zero : delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero,
            _ => null,
        };

    private static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, int limit, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > limit)
        {
            throw new AppleServiceException(AppleFailure.Malformed, $"Apple's answer is larger than {limit} bytes.");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new AppleServiceException(AppleFailure.Malformed, $"Apple's answer is larger than {limit} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}

/// <summary>An answer from Apple.</summary>
public sealed record AppleAnswer(HttpStatusCode Status, byte[] Body, System.Net.Http.Headers.HttpResponseHeaders Headers)
{
    public bool Ok => (int)Status is >= 200 and < 300;

    public string Text => System.Text.Encoding.UTF8.GetString(Body);

    /// <summary>The body as JSON of the expected shape; anything else is <see cref="AppleFailure.Malformed"/>.</summary>
    public T Json<T>(string what)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(Body, AppleJson.Options) ?? throw new AppleServiceException(AppleFailure.Malformed, $"Apple's answer to {what} is empty.");
        }
        catch (JsonException)
        {
            throw new AppleServiceException(AppleFailure.Malformed, $"Apple's answer to {what} is not the JSON Apple documents.");
        }
    }
}

/// <summary>JSON as Apple writes it (names are given per property).</summary>
public static class AppleJson
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNameCaseInsensitive = false };
}
