using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Homeroom.Server.Roster.OneRoster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Homeroom.Server.Tests.Roster;

/// <summary>
/// A OneRoster rostering service on loopback, written from the 1.1 and 1.2 REST bindings: the
/// collections orgs, academicSessions, courses, classes, users and enrollments as JSON
/// (<c>{"users":[...]}</c>), paged with limit and offset (at most <see cref="MaxPageSize"/> a page,
/// X-Total-Count and a Link header with rel="next"). 1.1 requests must carry an OAuth 1.0a
/// HMAC-SHA256 signature (RFC 5849, checked here with its own code: a wrong signature, a timestamp
/// more than 5 minutes away, a nonce seen before are refused with 401); 1.2 requests a bearer token
/// from the client-credentials token endpoint (a wrong secret is refused, an expired token 401).
/// The data is a CSV set (from <see cref="Homeroom.OneRosterData.OneRosterSetBuilder"/>) turned into JSON
/// the way the specification maps the two bindings. Failure switches make it misbehave on purpose.
/// </summary>
public sealed class FakeOneRosterServer : IAsyncDisposable
{
    public const string ClientId = "district-client";
    public const string Secret = "district-secret-4f1c9a";
    public const string Scope = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, byte> _nonces = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _tokens = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private Dictionary<string, List<JsonObject>> _collections = [];
    private int _failures;

    private FakeOneRosterServer(WebApplication app, string version)
    {
        _app = app;
        Version = version;
    }

    public string Version { get; }

    public Uri BaseUrl { get; private set; } = null!;

    public string TokenUrl => BaseUrl + "oauth/token";

    /// <summary>The clock signatures and tokens are checked against (the server under test's, when it is moved).</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    public int MaxPageSize { get; set; } = 500;
    public bool SendTotal { get; set; } = true;
    public bool SendLinks { get; set; } = true;
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A collection answered with broken JSON, a page far too large, or headers and then nothing, forever.</summary>
    public string? GarbageFor { get; set; }
    public string? OversizeFor { get; set; }
    public string? HangFor { get; set; }

    private int _requests, _tokensIssued, _serverErrorsSent, _refused;

    public int Requests => Volatile.Read(ref _requests);
    public int TokensIssued => Volatile.Read(ref _tokensIssued);
    /// <summary>Answers 500 or 429 sent on purpose.</summary>
    public int ServerErrorsSent => Volatile.Read(ref _serverErrorsSent);

    /// <summary>Requests refused for their credentials (a wrong secret, signature, timestamp, nonce or token).</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>The next <paramref name="count"/> collection requests answer 500.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failures, count);

    /// <summary>The next <paramref name="count"/> collection requests answer 429 with Retry-After of <paramref name="seconds"/>.</summary>
    public void ThrottleNext(int count, int seconds)
    {
        _retryAfterSeconds = seconds;
        Interlocked.Exchange(ref _throttles, count);
    }

    private int _throttles, _retryAfterSeconds;

    /// <summary>Every token issued so far expires now (as a service revoking them would).</summary>
    public void ExpireTokens()
    {
        foreach (var token in _tokens.Keys)
        {
            _tokens[token] = DateTimeOffset.MinValue;
        }
    }

    public static async Task<FakeOneRosterServer> StartAsync(string version, IReadOnlyDictionary<string, string> csvSet)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var fake = new FakeOneRosterServer(app, version);
        fake.Load(csvSet);
        var prefix = version == "1.1" ? "/ims/oneroster/v1p1" : "/ims/oneroster/rostering/v1p2";
        app.MapPost("/oauth/token", fake.TokenAsync);
        app.MapGet(prefix + "/{collection}", fake.CollectionAsync);
        await app.StartAsync();
        var address = app.Urls.First();
        fake.BaseUrl = new Uri(address.TrimEnd('/') + "/");
        return fake;
    }

    /// <summary>The records of a collection, to change between syncs.</summary>
    public void Change(string collection, Action<List<JsonObject>> change)
    {
        lock (_lock)
        {
            change(_collections[collection]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task TokenAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        string? id = null, secret = null;
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..]));
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                (id, secret) = (WebUtility.UrlDecode(pair[..colon]), WebUtility.UrlDecode(pair[(colon + 1)..]));
            }
        }

        var form = await context.Request.ReadFormAsync();
        if (form["grant_type"] != "client_credentials")
        {
            await Json(context, 400, new JsonObject { ["error"] = "unsupported_grant_type" });
            return;
        }

        if (id != ClientId || secret != Secret)
        {
            Interlocked.Increment(ref _refused);
            await Json(context, 401, new JsonObject { ["error"] = "invalid_client" });
            return;
        }

        if (form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries).Any(s => s != Scope))
        {
            await Json(context, 400, new JsonObject { ["error"] = "invalid_scope" });
            return;
        }

        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        _tokens[token] = Clock.GetUtcNow() + TokenLifetime;
        Interlocked.Increment(ref _tokensIssued);
        await Json(context, 200, new JsonObject { ["access_token"] = token, ["token_type"] = "bearer", ["expires_in"] = (int)TokenLifetime.TotalSeconds, ["scope"] = Scope });
    }

    private async Task CollectionAsync(string collection, HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        if ((Version == "1.1" ? CheckSignature(context.Request) : CheckBearer(context.Request)) is { } refusal)
        {
            Interlocked.Increment(ref _refused);
            context.Response.Headers.WWWAuthenticate = Version == "1.1" ? "OAuth" : "Bearer";
            await Json(context, 401, new JsonObject { ["imsx_codeMajor"] = "failure", ["imsx_severity"] = "error", ["imsx_description"] = refusal });
            return;
        }

        if (Interlocked.Decrement(ref _throttles) >= 0)
        {
            Interlocked.Increment(ref _serverErrorsSent);
            context.Response.Headers.RetryAfter = _retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            context.Response.StatusCode = 429;
            return;
        }

        if (Interlocked.Decrement(ref _failures) >= 0)
        {
            Interlocked.Increment(ref _serverErrorsSent);
            context.Response.StatusCode = 500;
            return;
        }

        List<JsonObject> records;
        lock (_lock)
        {
            if (!_collections.TryGetValue(collection, out var all))
            {
                context.Response.StatusCode = 404;
                return;
            }

            records = all;
        }

        if (collection == HangFor)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"" + collection + "\":[");
            await context.Response.Body.FlushAsync();
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        if (collection == GarbageFor)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"" + collection + "\":[{\"sourcedId\":\"x\",\"status\":");
            return;
        }

        if (collection == OversizeFor)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"" + collection + "\":[],\"padding\":\"");
            var chunk = new string('x', 64 * 1024);
            for (var i = 0; i < 64; i++)
            {
                await context.Response.WriteAsync(chunk);
            }

            await context.Response.WriteAsync("\"}");
            return;
        }

        var limit = int.TryParse(context.Request.Query["limit"], CultureInfo.InvariantCulture, out var l) && l > 0 ? Math.Min(l, MaxPageSize) : 100;
        var offset = int.TryParse(context.Request.Query["offset"], CultureInfo.InvariantCulture, out var o) && o >= 0 ? o : 0;
        JsonArray page;
        int total;
        lock (_lock)
        {
            total = records.Count;
            page = [.. records.Skip(offset).Take(limit).Select(r => r.DeepClone())];
        }

        if (SendTotal)
        {
            context.Response.Headers["X-Total-Count"] = total.ToString(CultureInfo.InvariantCulture);
        }

        if (SendLinks && offset + limit < total)
        {
            var path = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.Path}";
            context.Response.Headers.Link = $"<{path}?limit={limit}&offset={offset + limit}>; rel=\"next\", <{path}?limit={limit}&offset={(total - 1) / limit * limit}>; rel=\"last\"";
        }

        await Json(context, 200, new JsonObject { [collection] = page });
    }

    /// <summary>RFC 5849 §3.2 checks, independent of the client's signing code.</summary>
    private string? CheckSignature(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("OAuth ", StringComparison.Ordinal))
        {
            return "OAuth 1.0a signature required";
        }

        var oauth = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in header[6..].Split(','))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                return "malformed Authorization header";
            }

            oauth[Uri.UnescapeDataString(part[..eq].Trim())] = Uri.UnescapeDataString(part[(eq + 1)..].Trim().Trim('"'));
        }

        if (oauth.GetValueOrDefault("oauth_consumer_key") != ClientId)
        {
            return "unknown consumer key";
        }

        if (oauth.GetValueOrDefault("oauth_signature_method") != "HMAC-SHA256" || !oauth.TryGetValue("oauth_signature", out var signature)
            || !oauth.TryGetValue("oauth_nonce", out var nonce) || !long.TryParse(oauth.GetValueOrDefault("oauth_timestamp"), CultureInfo.InvariantCulture, out var timestamp))
        {
            return "missing or unsupported OAuth parameters";
        }

        if (Math.Abs(Clock.GetUtcNow().ToUnixTimeSeconds() - timestamp) > 300)
        {
            return "stale timestamp";
        }

        var parameters = request.Query.SelectMany(q => q.Value.Select(v => (q.Key, Value: v ?? "")))
            .Concat(oauth.Where(p => p.Key != "oauth_signature" && p.Key != "realm").Select(p => (p.Key, p.Value)))
            .Select(p => (Key: Uri.EscapeDataString(p.Key), Value: Uri.EscapeDataString(p.Value)))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal);
        var normalized = string.Join("&", parameters.Select(p => p.Key + "=" + p.Value));
        var baseUri = $"{request.Scheme}://{request.Host.Value!.ToLowerInvariant()}{request.PathBase}{request.Path}";
        var baseString = $"{request.Method}&{Uri.EscapeDataString(baseUri)}&{Uri.EscapeDataString(normalized)}";
        var expected = Convert.ToBase64String(HMACSHA256.HashData(Encoding.ASCII.GetBytes(Uri.EscapeDataString(Secret) + "&"), Encoding.ASCII.GetBytes(baseString)));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
        {
            return "bad signature";
        }

        return _nonces.TryAdd($"{timestamp}:{nonce}", 0) ? null : "nonce used before";
    }

    private string? CheckBearer(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || !_tokens.TryGetValue(header[7..], out var until))
        {
            return "bearer token required";
        }

        return until > Clock.GetUtcNow() ? null : "token expired";
    }

    private static async Task Json(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    /// <summary>The CSV set as the REST binding's JSON records.</summary>
    private void Load(IReadOnlyDictionary<string, string> files)
    {
        var v11 = Version == "1.1";
        List<Dictionary<string, string>> Rows(string file)
        {
            var records = CsvRecords.Parse(files[file], out _);
            var header = records[0].Fields;
            return [.. records.Skip(1).Select(r => header.Select((h, i) => (h, v: i < r.Fields.Length ? r.Fields[i] : "")).ToDictionary(p => p.h, p => p.v))];
        }

        static JsonObject Ref(string id, string type) => new() { ["href"] = $"/{type}s/{id}", ["sourcedId"] = id, ["type"] = type };
        static JsonArray List(string value) => [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => (JsonNode)v)];
        const string Modified = "2026-11-30T12:00:00.000Z";

        var collections = new Dictionary<string, List<JsonObject>>(StringComparer.Ordinal)
        {
            ["orgs"] = [.. Rows("orgs.csv").Select(r => new JsonObject
            {
                ["sourcedId"] = r["sourcedId"], ["status"] = "active", ["dateLastModified"] = Modified, ["name"] = r["name"], ["type"] = r["type"],
                ["identifier"] = r["identifier"], ["parent"] = r["parentSourcedId"].Length > 0 ? Ref(r["parentSourcedId"], "org") : null,
            })],
            ["academicSessions"] = [.. Rows("academicSessions.csv").Select(r => new JsonObject
            {
                ["sourcedId"] = r["sourcedId"], ["status"] = "active", ["dateLastModified"] = Modified, ["title"] = r["title"], ["type"] = r["type"],
                ["startDate"] = r["startDate"], ["endDate"] = r["endDate"], ["schoolYear"] = r["schoolYear"],
            })],
            ["courses"] = [.. Rows("courses.csv").Select(r => new JsonObject
            {
                ["sourcedId"] = r["sourcedId"], ["status"] = "active", ["dateLastModified"] = Modified, ["title"] = r["title"], ["courseCode"] = r["courseCode"],
                ["grades"] = List(r["grades"]), ["org"] = Ref(r["orgSourcedId"], "org"), ["schoolYear"] = Ref(r["schoolYearSourcedId"], "academicSession"),
            })],
            ["classes"] = [.. Rows("classes.csv").Select(r => new JsonObject
            {
                ["sourcedId"] = r["sourcedId"], ["status"] = "active", ["dateLastModified"] = Modified, ["title"] = r["title"], ["classCode"] = r["classCode"],
                ["classType"] = r["classType"], ["location"] = r["location"], ["grades"] = List(r["grades"]), ["course"] = Ref(r["courseSourcedId"], "course"),
                ["school"] = Ref(r["schoolSourcedId"], "org"), ["terms"] = new JsonArray(Ref(r["termSourcedIds"], "academicSession")),
            })],
            ["enrollments"] = [.. Rows("enrollments.csv").Select(r => new JsonObject
            {
                ["sourcedId"] = r["sourcedId"], ["status"] = "active", ["dateLastModified"] = Modified, ["role"] = r["role"],
                ["primary"] = v11 ? r["primary"] : (JsonNode)(r["primary"] == "true"),
                ["user"] = Ref(r["userSourcedId"], "user"), ["class"] = Ref(r["classSourcedId"], "class"), ["school"] = Ref(r["schoolSourcedId"], "org"),
            })],
        };

        var roles = (v11 ? [] : Rows("roles.csv")).ToLookup(r => r["userSourcedId"], StringComparer.Ordinal);
        collections["users"] = [.. Rows("users.csv").Select(r =>
        {
            var user = new JsonObject
            {
                ["sourcedId"] = r["sourcedId"], ["status"] = "active", ["dateLastModified"] = Modified, ["username"] = r["username"],
                ["enabledUser"] = v11 ? "true" : (JsonNode)true, ["givenName"] = r["givenName"], ["familyName"] = r["familyName"], ["identifier"] = r["identifier"],
                ["email"] = r["email"], ["grades"] = List(r["grades"]),
            };
            if (v11)
            {
                user["role"] = r["role"];
                user["orgs"] = new JsonArray([.. List(r["orgSourcedIds"]).Select(o => (JsonNode)Ref(o!.GetValue<string>(), "org"))]);
            }
            else
            {
                user["primaryOrg"] = Ref(r["primaryOrgSourcedId"], "org");
                user["roles"] = new JsonArray([.. roles[r["sourcedId"]].Select(role => (JsonNode)new JsonObject
                {
                    ["roleType"] = role["roleType"], ["role"] = role["role"], ["org"] = Ref(role["orgSourcedId"], "org"),
                })]);
            }

            return user;
        })];
        _collections = collections;
    }
}
