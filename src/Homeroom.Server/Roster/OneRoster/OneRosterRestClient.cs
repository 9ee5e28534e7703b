using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>Why a OneRoster REST sync could not read the roster, in words an administrator can act on.</summary>
public sealed class OneRosterRestException(string message) : Exception(message);

/// <summary>Where and how to reach a OneRoster rostering service: what a connection holds, with its secret in the clear (in memory only).</summary>
public sealed record OneRosterEndpoint(Uri BaseUrl, string Version, string ClientId, string ClientSecret, Uri? TokenUrl, string? Scope)
{
    public bool V11 => Version == "1.1";

    /// <summary>The service's collection path: 1.1 <c>/ims/oneroster/v1p1/</c>, 1.2 <c>/ims/oneroster/rostering/v1p2/</c>.</summary>
    public Uri Collection(string name) =>
        new($"{BaseUrl.AbsoluteUri.TrimEnd('/')}/ims/oneroster/{(V11 ? "v1p1" : "rostering/v1p2")}/{name}");
}

/// <summary>
/// Reads a district's roster from its OneRoster REST service: orgs, academic sessions, courses, classes,
/// users and enrollments, each paged with limit/offset (following the Link header's next, else
/// X-Total-Count, else until a short page), every request signed with OAuth 1.0a (1.1) or carrying an
/// OAuth 2 client-credentials bearer token (1.2). Bounded: a page size, a byte cap per page, a record
/// cap per collection, a timeout per request; 429 and 5xx are retried with back-off (Retry-After when
/// given). Anything else (refused credentials, a page that is not the JSON the specification
/// describes, a link to another host) fails the whole read with <see cref="OneRosterRestException"/>.
/// </summary>
public sealed class OneRosterRestClient(IHttpClientFactory clients, IOptions<OneRosterOptions> options, TimeProvider time, ILogger<OneRosterRestClient> logger)
{
    public const string ClientName = "oneroster";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Until)> _tokens = new(StringComparer.Ordinal);

    /// <summary>Everything a full sync needs.</summary>
    public async Task<OneRosterRestData> FetchAsync(OneRosterEndpoint endpoint, CancellationToken cancellationToken)
    {
        var data = new OneRosterRestData
        {
            Orgs = await ReadAllAsync<OrgJson>(endpoint, "orgs", cancellationToken),
            AcademicSessions = await ReadAllAsync<SessionJson>(endpoint, "academicSessions", cancellationToken),
            Courses = await ReadAllAsync<CourseJson>(endpoint, "courses", cancellationToken),
            Classes = await ReadAllAsync<ClassJson>(endpoint, "classes", cancellationToken),
            Users = await ReadAllAsync<UserJson>(endpoint, "users", cancellationToken),
            Enrollments = await ReadAllAsync<EnrollmentJson>(endpoint, "enrollments", cancellationToken),
        };
        return data;
    }

    /// <summary>The first page of orgs: proves the address, the credentials and the format. Answers how many orgs the service has (or lists on that page).</summary>
    public async Task<int> TestAsync(OneRosterEndpoint endpoint, CancellationToken cancellationToken)
    {
        var (page, total, _) = await ReadPageAsync<OrgJson>(endpoint, "orgs", WithPage(endpoint.Collection("orgs"), Math.Min(100, options.Value.RestPageSize), 0), cancellationToken);
        return total ?? page.Count;
    }

    private async Task<List<T>> ReadAllAsync<T>(OneRosterEndpoint endpoint, string collection, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var all = new List<T>();
        var first = endpoint.Collection(collection);
        var next = WithPage(first, settings.RestPageSize, 0);
        while (true)
        {
            var (page, total, link) = await ReadPageAsync<T>(endpoint, collection, next, cancellationToken);
            all.AddRange(page);
            if (all.Count > settings.MaxRestRecords || total > settings.MaxRestRecords)
            {
                throw new OneRosterRestException($"The service lists more than {settings.MaxRestRecords:N0} {collection}; at most that many are read (Homeroom:OneRoster:MaxRestRecords).");
            }

            if (page.Count == 0)
            {
                return all;
            }

            if (link is not null)
            {
                // A next link is followed only on the service's own origin: credentials are never sent elsewhere.
                if (Uri.Compare(link, first, UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) != 0)
                {
                    throw new OneRosterRestException($"The service's next link for {collection} leads to another address ({Clip(link.GetLeftPart(UriPartial.Path))}); not followed.");
                }

                next = link;
            }
            else if (total is { } count)
            {
                if (all.Count >= count)
                {
                    return all;
                }

                next = WithPage(first, settings.RestPageSize, all.Count);
            }
            else if (page.Count < settings.RestPageSize)
            {
                return all;
            }
            else
            {
                next = WithPage(first, settings.RestPageSize, all.Count);
            }
        }
    }

    private static Uri WithPage(Uri collection, int limit, int offset) =>
        new($"{collection.AbsoluteUri}?limit={limit.ToString(CultureInfo.InvariantCulture)}&offset={offset.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>One page: its records, X-Total-Count if given, and the Link header's next if given.</summary>
    private async Task<(List<T> Page, int? Total, Uri? Next)> ReadPageAsync<T>(OneRosterEndpoint endpoint, string collection, Uri uri, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var refreshed = false;
        for (var attempt = 0; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(settings.RestRequestTimeout);
            TimeSpan? wait = null;
            string problem;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                await AuthorizeAsync(endpoint, request, timeout.Token);
                using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if (response.StatusCode == HttpStatusCode.Unauthorized && !endpoint.V11 && !refreshed)
                {
                    // The token may have been revoked or expired early: ask for a new one, once.
                    _tokens.TryRemove(TokenKey(endpoint), out _);
                    refreshed = true;
                    attempt--;
                    continue;
                }

                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    throw new OneRosterRestException($"The service refused the credentials ({(int)response.StatusCode}) for {collection}: check the {(endpoint.V11 ? "consumer key and secret" : "client id, secret and scope")}.");
                }

                if (response.StatusCode == HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500)
                {
                    problem = $"The service answered {(int)response.StatusCode} for {collection}";
                    wait = RetryAfter(response);
                }
                else if (!response.IsSuccessStatusCode)
                {
                    throw new OneRosterRestException($"The service answered {(int)response.StatusCode} for {collection} ({Clip(uri.AbsolutePath)}).");
                }
                else
                {
                    var body = await ReadLimitedAsync(response, settings.MaxRestPageBytes, collection, timeout.Token);
                    return (Parse<T>(body, collection), TotalCount(response, collection), NextLink(response, uri));
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                problem = $"The service did not answer {collection} within {settings.RestRequestTimeout.TotalSeconds:0.#} s";
            }
            catch (HttpRequestException e)
            {
                problem = $"The service could not be reached for {collection} ({e.HttpRequestError})";
            }
            catch (IOException) when (!cancellationToken.IsCancellationRequested)
            {
                problem = timeout.IsCancellationRequested
                    ? $"The service did not answer {collection} within {settings.RestRequestTimeout.TotalSeconds:0.#} s"
                    : $"The service broke off its answer for {collection}";
            }

            var delay = wait ?? TimeSpan.FromTicks(settings.RestRetryBaseDelay.Ticks * (1L << Math.Min(attempt, 16)));
            if (attempt >= settings.RestMaxRetries || delay > settings.RestMaxRetryWait)
            {
                throw new OneRosterRestException($"{problem}; gave up after {attempt + 1} attempt(s).");
            }

            OneRosterLog.RestRetry(logger, collection, problem, delay.TotalSeconds);
            await Task.Delay(delay, time, cancellationToken);
        }
    }

    private static List<T> Parse<T>(byte[] body, string collection)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty(collection, out var items) || items.ValueKind != JsonValueKind.Array)
            {
                throw new OneRosterRestException($"The service's answer for {collection} is not a OneRoster collection (an object with a '{collection}' array).");
            }

            var list = new List<T>(items.GetArrayLength());
            foreach (var item in items.EnumerateArray())
            {
                list.Add(item.ValueKind == JsonValueKind.Object && item.Deserialize<T>(Json) is { } record
                    ? record
                    : throw new OneRosterRestException($"The service's answer for {collection} holds something other than records."));
            }

            return list;
        }
        catch (JsonException e)
        {
            throw new OneRosterRestException($"The service's answer for {collection} is not valid OneRoster JSON (at byte {e.BytePositionInLine ?? 0} of line {e.LineNumber + 1}).");
        }
    }

    private static int? TotalCount(HttpResponseMessage response, string collection)
    {
        if (!response.Headers.TryGetValues("X-Total-Count", out var values))
        {
            return null;
        }

        return int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var total)
            ? total
            : throw new OneRosterRestException($"The service's X-Total-Count for {collection} is not a number.");
    }

    /// <summary>The <c>rel="next"</c> target of a Link header (RFC 8288), resolved against the request.</summary>
    private static Uri? NextLink(HttpResponseMessage response, Uri request)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var part in values.SelectMany(v => v.Split(',')))
        {
            var pieces = part.Split(';', StringSplitOptions.TrimEntries);
            if (pieces.Length < 2 || !pieces[0].StartsWith('<') || !pieces[0].EndsWith('>'))
            {
                continue;
            }

            if (pieces.Skip(1).Any(p => p.Replace(" ", "", StringComparison.Ordinal).Equals("rel=\"next\"", StringComparison.OrdinalIgnoreCase)
                || p.Replace(" ", "", StringComparison.Ordinal).Equals("rel=next", StringComparison.OrdinalIgnoreCase))
                && Uri.TryCreate(request, pieces[0][1..^1], out var next))
            {
                return next;
            }
        }

        return null;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta < TimeSpan.Zero ? TimeSpan.Zero : delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero,
            _ => null,
        };

    private static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, long limit, string collection, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > limit)
        {
            throw new OneRosterRestException($"A page of {collection} is larger than {limit:N0} bytes (Homeroom:OneRoster:MaxRestPageBytes); refused.");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new OneRosterRestException($"A page of {collection} is larger than {limit:N0} bytes (Homeroom:OneRoster:MaxRestPageBytes); refused.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private async Task AuthorizeAsync(OneRosterEndpoint endpoint, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (endpoint.V11)
        {
            var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            request.Headers.Authorization = new AuthenticationHeaderValue("OAuth",
                OAuth1Signature.Header(request.Method.Method, request.RequestUri!, endpoint.ClientId, endpoint.ClientSecret, nonce, time.GetUtcNow().ToUnixTimeSeconds()));
            return;
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(endpoint, cancellationToken));
    }

    private static string TokenKey(OneRosterEndpoint endpoint) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{endpoint.TokenUrl}\n{endpoint.ClientId}\n{endpoint.ClientSecret}\n{endpoint.Scope}")));

    /// <summary>An OAuth 2 client-credentials access token (RFC 6749 §4.4), cached until shortly before it expires.</summary>
    private async Task<string> TokenAsync(OneRosterEndpoint endpoint, CancellationToken cancellationToken)
    {
        var key = TokenKey(endpoint);
        var now = time.GetUtcNow();
        if (_tokens.TryGetValue(key, out var cached) && cached.Until > now)
        {
            return cached.Token;
        }

        var tokenUrl = endpoint.TokenUrl ?? throw new OneRosterRestException("A OneRoster 1.2 connection needs a token URL.");
        var form = new List<KeyValuePair<string, string>> { new("grant_type", "client_credentials") };
        if (!string.IsNullOrWhiteSpace(endpoint.Scope))
        {
            form.Add(new("scope", endpoint.Scope));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, tokenUrl) { Content = new FormUrlEncodedContent(form) };
        // RFC 6749 §2.3.1: the client id and secret, form-encoded, as HTTP Basic credentials.
        var basic = $"{Uri.EscapeDataString(endpoint.ClientId)}:{Uri.EscapeDataString(endpoint.ClientSecret)}";
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new OneRosterRestException($"The token endpoint could not be reached ({e.HttpRequestError}).");
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw new OneRosterRestException($"The token endpoint refused the client id and secret ({(int)response.StatusCode}).");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new OneRosterRestException($"The token endpoint answered {(int)response.StatusCode}.");
            }

            var body = await ReadLimitedAsync(response, 64 * 1024, "the token", cancellationToken);
            TokenJson? token;
            try
            {
                token = JsonSerializer.Deserialize<TokenJson>(body);
            }
            catch (JsonException)
            {
                token = null;
            }

            if (token is not { AccessToken.Length: > 0 and <= 8192 } || !string.Equals(token.TokenType, "bearer", StringComparison.OrdinalIgnoreCase))
            {
                throw new OneRosterRestException("The token endpoint's answer is not an OAuth 2 bearer token.");
            }

            // Renewed a minute early (or at half its life, if shorter), so a request never carries a token about to expire.
            var life = TimeSpan.FromSeconds(Math.Clamp(token.ExpiresIn ?? 3600, 1, 86_400));
            var margin = life > TimeSpan.FromMinutes(2) ? TimeSpan.FromMinutes(1) : life / 2;
            _tokens[key] = (token.AccessToken, now + life - margin);
            return token.AccessToken;
        }
    }

    private static string Clip(string value) => value.Length > 120 ? value[..120] + "…" : value;

    private sealed record TokenJson(
        [property: System.Text.Json.Serialization.JsonPropertyName("access_token")] string? AccessToken,
        [property: System.Text.Json.Serialization.JsonPropertyName("token_type")] string? TokenType,
        [property: System.Text.Json.Serialization.JsonPropertyName("expires_in")] int? ExpiresIn);
}

/// <summary>
/// OAuth 1.0a request signing (RFC 5849 §3.4) with HMAC-SHA256, as OneRoster 1.1 asks: the base string
/// is the method, the base URI and the normalized parameters (the query string's and the oauth_
/// protocol parameters, percent-encoded, sorted by name then value); the key is the consumer secret
/// and an empty token secret. No request body is signed (every OneRoster read is a GET).
/// </summary>
public static class OAuth1Signature
{
    public const string Method = "HMAC-SHA256";

    /// <summary>The Authorization header's parameters (after "OAuth ").</summary>
    public static string Header(string method, Uri uri, string consumerKey, string consumerSecret, string nonce, long timestamp)
    {
        var oauth = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["oauth_consumer_key"] = consumerKey,
            ["oauth_nonce"] = nonce,
            ["oauth_signature_method"] = Method,
            ["oauth_timestamp"] = timestamp.ToString(CultureInfo.InvariantCulture),
            ["oauth_version"] = "1.0",
        };
        oauth["oauth_signature"] = Sign(method, uri, oauth, consumerSecret);
        return string.Join(", ", oauth.Select(p => $"{Encode(p.Key)}=\"{Encode(p.Value)}\""));
    }

    /// <summary>The base64 signature of a request with these protocol parameters (oauth_signature excluded).</summary>
    public static string Sign(string method, Uri uri, IEnumerable<KeyValuePair<string, string>> oauthParameters, string consumerSecret)
    {
        var parameters = QueryParameters(uri).Concat(oauthParameters.Where(p => p.Key != "oauth_signature"))
            .Select(p => (Name: Encode(p.Key), Value: Encode(p.Value)))
            .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={p.Value}");
        var baseString = $"{method.ToUpperInvariant()}&{Encode(BaseUri(uri))}&{Encode(string.Join('&', parameters))}";
        var key = Encoding.ASCII.GetBytes(Encode(consumerSecret) + "&");
        return Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(baseString)));
    }

    /// <summary>RFC 5849 §3.4.1.2: scheme and host in lower case, the port only when not the default, the path, no query.</summary>
    public static string BaseUri(Uri uri) =>
        $"{uri.Scheme.ToLowerInvariant()}://{uri.Host.ToLowerInvariant()}{(uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(CultureInfo.InvariantCulture))}{uri.AbsolutePath}";

    /// <summary>RFC 5849 §3.6: UTF-8, then every octet but the unreserved characters as %XX in upper case.</summary>
    public static string Encode(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static IEnumerable<KeyValuePair<string, string>> QueryParameters(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            yield break;
        }

        foreach (var pair in query.Split('&'))
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            var name = at < 0 ? pair : pair[..at];
            var value = at < 0 ? "" : pair[(at + 1)..];
            yield return new(Decode(name), Decode(value));
        }

        static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));
    }
}
