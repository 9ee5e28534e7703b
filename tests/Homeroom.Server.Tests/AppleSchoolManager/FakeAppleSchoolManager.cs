using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Homeroom.Server.Tests.AppleSchoolManager;

/// <summary>
/// A stand-in for Apple's device assignment service and Apps and Books API on loopback (real Kestrel),
/// written from Apple's published descriptions: an OAuth 1.0a-signed <c>GET /session</c> (the signature
/// is checked here, independently of the server's signer) giving the X-ADM-Auth-Session token; device
/// fetch and sync with cursors and <c>more_to_follow</c>; profiles and their assignment; assets,
/// associate and disassociate events with <c>/status/{eventId}</c>. Failures are planned per path
/// (<see cref="Fail"/>): a status with Retry-After, or a malformed body.
/// </summary>
public sealed class FakeAppleSchoolManager : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, byte> _sessions = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Planned>> _failures = new();
    private readonly Lock _lock = new();
    private int _profiles;
    private int _events;

    private sealed class Planned(int status, string body, int? retryAfterSeconds, int after)
    {
        public int Status { get; } = status;
        public string Body { get; } = body;
        public int? RetryAfterSeconds { get; } = retryAfterSeconds;

        /// <summary>Calls to let through before this failure applies.</summary>
        public int After { get; set; } = after;
    }

    public sealed record Call(string Method, string Path, string? Body);

    public sealed class Device
    {
        public required string Serial { get; init; }
        public string Model { get; init; } = "iPad (10th generation)";
        public string Description { get; init; } = "IPAD WI-FI 64GB";
        public string Color { get; init; } = "SILVER";
        public string ProfileStatus { get; set; } = "empty";
        public string? ProfileUuid { get; set; }
        public string OpType { get; set; } = "added";
        public DateTime OpDate { get; set; } = DateTime.UtcNow;
    }

    public sealed class Asset
    {
        public required string AdamId { get; init; }
        public int Total { get; set; }
        public HashSet<string> Serials { get; } = new(StringComparer.Ordinal);
    }

    private sealed record Event(List<object> Failures, int PendingPolls);

    private FakeAppleSchoolManager(WebApplication app) => _app = app;

    public string ConsumerKey { get; } = "CK_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
    public string ConsumerSecret { get; } = "CS_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
    public string AccessToken { get; } = "AT_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
    public string AccessSecret { get; } = "AS_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
    public string ContentTokenSecret { get; } = "VPP_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    public Uri Url { get; private set; } = null!;

    /// <summary>Every device assigned to the MDM server, in fetch order.</summary>
    public List<Device> Devices { get; } = [];

    /// <summary>The change log a sync cursor points into.</summary>
    public List<Device> Changes { get; } = [];

    /// <summary>Serial numbers assigned to another MDM server (NOT_ACCESSIBLE).</summary>
    public HashSet<string> Foreign { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, Asset> Assets { get; } = new(StringComparer.Ordinal);

    /// <summary>Serial numbers Apps and Books does not know.</summary>
    public HashSet<string> UnknownSerials { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<Call> Calls { get; } = new();

    public List<JsonObject> ProfilesDefined { get; } = [];

    public int SessionsIssued => _sessionsIssued;

    private int _sessionsIssued;

    /// <summary>Sync cursors Apple no longer knows.</summary>
    public bool CursorsExpired { get; set; }

    /// <summary>
    /// After <paramref name="after"/> more calls to a path succeed, the next <paramref name="times"/> answer this
    /// instead (a body of JSON or anything else).
    /// </summary>
    public void Fail(string path, int status, int times = 1, string body = "", int? retryAfterSeconds = null, int after = 0)
    {
        var queue = _failures.GetOrAdd(path, _ => new ConcurrentQueue<Planned>());
        for (var i = 0; i < times; i++)
        {
            queue.Enqueue(new Planned(status, body, retryAfterSeconds, i == 0 ? after : 0));
        }
    }

    /// <summary>Drops the failures still planned for a path.</summary>
    public void Reset(string path) => _failures.TryRemove(path, out _);

    /// <summary>Forgets every session token, so the next call answers 401 as Apple does for an expired session.</summary>
    public void ExpireSessions() => _sessions.Clear();

    public void AddDevices(int count, string prefix = "DMP")
    {
        lock (_lock)
        {
            for (var i = 0; i < count; i++)
            {
                var device = new Device { Serial = $"{prefix}{Devices.Count:D6}" };
                Devices.Add(device);
            }
        }
    }

    /// <summary>A change at Apple: a device newly assigned (added) or removed (deleted), seen by the next sync.</summary>
    public Device Change(string serial, string opType)
    {
        lock (_lock)
        {
            var device = Devices.FirstOrDefault(d => d.Serial == serial);
            if (device is null)
            {
                device = new Device { Serial = serial };
                Devices.Add(device);
            }

            if (opType == "deleted")
            {
                Devices.Remove(device);
            }

            var change = new Device { Serial = serial, OpType = opType, OpDate = DateTime.UtcNow, ProfileStatus = device.ProfileStatus, ProfileUuid = device.ProfileUuid };
            Changes.Add(change);
            return change;
        }
    }

    /// <summary>The server token's decrypted message, as Apple School Manager writes it.</summary>
    public string ServerTokenMessage(DateTime expiry) =>
        "-----BEGIN MESSAGE-----\n" + JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["consumer_key"] = ConsumerKey, ["consumer_secret"] = ConsumerSecret, ["access_token"] = AccessToken, ["access_secret"] = AccessSecret,
            ["access_token_expiry"] = expiry.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        }) + "\n-----END MESSAGE-----";

    /// <summary>The content token file (.vpptoken): base64 of Apple's JSON; the whole is the bearer token.</summary>
    public string ContentTokenFile(DateTime expiry) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["token"] = ContentTokenSecret, ["expDate"] = expiry.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), ["orgName"] = "Seeds School District",
        })));

    private string? _issuedContentToken;

    /// <summary>Which content token file the Apps and Books side accepts as bearer.</summary>
    public void AcceptContentToken(string file) => _issuedContentToken = file;

    public static async Task<FakeAppleSchoolManager> StartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var fake = new FakeAppleSchoolManager(app);
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
            context.Request.Body.Position = 0;
            var path = context.Request.Path.Value ?? "";
            fake.Calls.Enqueue(new Call(context.Request.Method, path + context.Request.QueryString, body));
            var key = fake._failures.Keys.FirstOrDefault(k => path.StartsWith(k, StringComparison.Ordinal));
            if (key is not null && fake._failures[key].TryPeek(out var upcoming) && upcoming.After > 0)
            {
                upcoming.After--;
            }
            else if (key is not null && fake._failures[key].TryDequeue(out var planned))
            {
                context.Response.StatusCode = planned.Status;
                if (planned.RetryAfterSeconds is { } seconds)
                {
                    context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                }

                await context.Response.WriteAsync(planned.Body);
                return;
            }

            await next();
        });
        app.MapGet("/session", fake.Session);
        app.MapPost("/server/devices", (HttpContext c, CancellationToken _) => fake.WithSession(c, body => fake.FetchPage(body)));
        app.MapPost("/devices/sync", (HttpContext c, CancellationToken _) => fake.WithSession(c, body => fake.SyncPage(body)));
        app.MapPost("/profile", (HttpContext c, CancellationToken _) => fake.WithSession(c, body => fake.DefineProfile(body)));
        app.MapPut("/profile/devices", (HttpContext c, CancellationToken _) => fake.WithSession(c, body => fake.AssignProfile(body)));
        app.MapGet("/vpp/assets", (HttpContext c, CancellationToken _) => fake.WithBearer(c, _ => fake.AssetsPage(c)));
        app.MapPost("/vpp/assets/associate", (HttpContext c, CancellationToken _) => fake.WithBearer(c, body => fake.Associate(body, associate: true)));
        app.MapPost("/vpp/assets/disassociate", (HttpContext c, CancellationToken _) => fake.WithBearer(c, body => fake.Associate(body, associate: false)));
        app.MapGet("/vpp/status/{eventId}", (HttpContext c, string eventId) => fake.WithBearer(c, _ => fake.Status(eventId)));
        await app.StartAsync();
        fake.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        return fake;
    }

    /// <summary>Server settings pointing Homeroom at this fake.</summary>
    public string[] Settings =>
    [
        $"Homeroom:AppleSchoolManager:DeviceServiceUrl={Url.ToString().TrimEnd('/')}",
        $"Homeroom:AppleSchoolManager:AppsAndBooksUrl={Url.ToString().TrimEnd('/')}/vpp",
        "Homeroom:AppleSchoolManager:PageSize=100",
        "Homeroom:AppleSchoolManager:EventPollInterval=00:00:00.050",
        "Homeroom:AppleSchoolManager:SyncInterval=1.00:00:00",
        "Homeroom:AppleSchoolManager:MaxRetryWait=00:00:05",
        "Homeroom:AppleSchoolManager:Department=Seeds IT",
        "Homeroom:AppleSchoolManager:SupportPhoneNumber=+1 555 0100",
        "Homeroom:Apple:PublicUrl=https://homeroom.seeds.example",
    ];

    private IResult Session(HttpContext context)
    {
        // OAuth 1.0a, checked from RFC 5849 here rather than with the server's own signer.
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("OAuth ", StringComparison.Ordinal))
        {
            return Results.Text("UNAUTHORIZED", statusCode: 401);
        }

        var parameters = header[6..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1].Trim('"')), StringComparer.Ordinal);
        if (parameters.GetValueOrDefault("realm") != "ADM" || parameters.GetValueOrDefault("oauth_consumer_key") != ConsumerKey
            || parameters.GetValueOrDefault("oauth_token") != AccessToken || parameters.GetValueOrDefault("oauth_signature_method") != "HMAC-SHA1")
        {
            return Results.Text("UNAUTHORIZED", statusCode: 401);
        }

        static string E(string s) => Uri.EscapeDataString(s);
        var normalized = string.Join("&", parameters.Where(p => p.Key is not "realm" and not "oauth_signature").OrderBy(p => E(p.Key), StringComparer.Ordinal).Select(p => $"{E(p.Key)}={E(p.Value)}"));
        var baseString = "GET&" + E($"{context.Request.Scheme}://{context.Request.Host}/session") + "&" + E(normalized);
#pragma warning disable CA5350 // the protocol's algorithm
        var expected = Convert.ToBase64String(HMACSHA1.HashData(Encoding.ASCII.GetBytes(E(ConsumerSecret) + "&" + E(AccessSecret)), Encoding.ASCII.GetBytes(baseString)));
#pragma warning restore CA5350
        if (parameters.GetValueOrDefault("oauth_signature") != expected)
        {
            return Results.Text("UNAUTHORIZED", statusCode: 401);
        }

        var session = "S_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        _sessions[session] = 0;
        Interlocked.Increment(ref _sessionsIssued);
        return Results.Json(new Dictionary<string, string> { ["auth_session_token"] = session });
    }

    private async Task<IResult> WithSession(HttpContext context, Func<JsonObject, IResult> handle)
    {
        if (context.Request.Headers["X-Server-Protocol-Version"] != "3")
        {
            return Results.Text("MISSING_PROTOCOL_VERSION", statusCode: 400);
        }

        if (!_sessions.ContainsKey(context.Request.Headers["X-ADM-Auth-Session"].ToString()))
        {
            return Results.Text("UNAUTHORIZED", statusCode: 401);
        }

        var body = JsonNode.Parse(await new StreamReader(context.Request.Body).ReadToEndAsync()) as JsonObject ?? [];
        lock (_lock)
        {
            return handle(body);
        }
    }

    private async Task<IResult> WithBearer(HttpContext context, Func<JsonObject, IResult> handle)
    {
        if (_issuedContentToken is null || context.Request.Headers.Authorization.ToString() != "Bearer " + _issuedContentToken)
        {
            return Results.Json(new { errorNumber = 9622, errorMessage = "Invalid authentication token" }, statusCode: 401);
        }

        var text = await new StreamReader(context.Request.Body).ReadToEndAsync();
        var body = text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject ?? [];
        lock (_lock)
        {
            return handle(body);
        }
    }

    private static object Describe(Device d, bool withOp) => withOp
        ? new { serial_number = d.Serial, model = d.Model, description = d.Description, color = d.Color, profile_status = d.ProfileStatus, profile_uuid = d.ProfileUuid, op_type = d.OpType, op_date = d.OpDate }
        : new { serial_number = d.Serial, model = d.Model, description = d.Description, color = d.Color, profile_status = d.ProfileStatus, profile_uuid = d.ProfileUuid, op_type = (string?)null, op_date = (DateTime?)null };

    private IResult FetchPage(JsonObject body)
    {
        var limit = Math.Clamp(body["limit"]?.GetValue<int>() ?? 100, 100, 1000);
        var cursor = body["cursor"]?.GetValue<string>();
        var offset = cursor is null ? 0 : cursor.StartsWith("f:", StringComparison.Ordinal) ? int.Parse(cursor[2..], CultureInfo.InvariantCulture) : -1;
        if (offset < 0)
        {
            return Results.Text("INVALID_CURSOR", statusCode: 400);
        }

        var page = Devices.Skip(offset).Take(limit).Select(d => Describe(d, withOp: false)).ToList();
        var more = offset + limit < Devices.Count;
        return Results.Json(new { devices = page, cursor = more ? $"f:{offset + limit}" : $"s:{Changes.Count}", more_to_follow = more, fetched_until = DateTime.UtcNow });
    }

    private IResult SyncPage(JsonObject body)
    {
        var cursor = body["cursor"]?.GetValue<string>() ?? "";
        if (CursorsExpired)
        {
            return Results.Text("EXPIRED_CURSOR", statusCode: 400);
        }

        if (!cursor.StartsWith("s:", StringComparison.Ordinal))
        {
            return Results.Text("INVALID_CURSOR", statusCode: 400);
        }

        var limit = Math.Clamp(body["limit"]?.GetValue<int>() ?? 100, 100, 1000);
        var offset = int.Parse(cursor[2..], CultureInfo.InvariantCulture);
        var page = Changes.Skip(offset).Take(limit).Select(d => Describe(d, withOp: true)).ToList();
        var next = Math.Min(offset + limit, Changes.Count);
        return Results.Json(new { devices = page, cursor = $"s:{next}", more_to_follow = next < Changes.Count, fetched_until = DateTime.UtcNow });
    }

    private IResult DefineProfile(JsonObject body)
    {
        if (body["profile_name"] is null || body["url"] is null)
        {
            return Results.Text("CONFIG_NAME_REQUIRED", statusCode: 400);
        }

        ProfilesDefined.Add(body);
        var uuid = $"PROFILE{++_profiles:D4}";
        return Results.Json(new { profile_uuid = uuid, devices = new Dictionary<string, string>() });
    }

    private IResult AssignProfile(JsonObject body)
    {
        var uuid = body["profile_uuid"]!.GetValue<string>();
        var results = new Dictionary<string, string>();
        foreach (var serial in body["devices"]!.AsArray().Select(n => n!.GetValue<string>()))
        {
            var device = Devices.FirstOrDefault(d => d.Serial == serial);
            if (device is null || Foreign.Contains(serial))
            {
                results[serial] = "NOT_ACCESSIBLE";
                continue;
            }

            device.ProfileUuid = uuid;
            device.ProfileStatus = "assigned";
            results[serial] = "SUCCESS";
        }

        return Results.Json(new { profile_uuid = uuid, devices = results });
    }

    private IResult AssetsPage(HttpContext context)
    {
        var index = int.TryParse(context.Request.Query["pageIndex"], CultureInfo.InvariantCulture, out var i) ? i : 0;
        var all = Assets.Values.OrderBy(a => a.AdamId, StringComparer.Ordinal).ToList();
        const int Size = 2;
        var pages = Math.Max(1, (all.Count + Size - 1) / Size);
        var page = all.Skip(index * Size).Take(Size).Select(a => new
        {
            adamId = a.AdamId, pricingParam = "STDQ", assignedCount = a.Serials.Count, availableCount = a.Total - a.Serials.Count, totalCount = a.Total,
            deviceAssignable = true, productType = "App", retiredCount = 0, revocable = true,
        }).ToList();
        return Results.Json(new { assets = page, currentPageIndex = index, totalPages = pages, size = page.Count, nextPageIndex = index + 1 < pages ? index + 1 : (int?)null });
    }

    private IResult Associate(JsonObject body, bool associate)
    {
        var adamId = body["assets"]?[0]?["adamId"]?.GetValue<string>() ?? "";
        var serials = body["serialNumbers"]?.AsArray().Select(n => n!.GetValue<string>()).ToList() ?? [];
        if (!Assets.TryGetValue(adamId, out var asset))
        {
            return Results.Json(new { errorNumber = 9610, errorMessage = "Asset not found" }, statusCode: 400);
        }

        var failures = new List<object>();
        foreach (var serial in serials)
        {
            if (UnknownSerials.Contains(serial))
            {
                failures.Add(new { adamId, serialNumber = serial, errorNumber = 9628, errorMessage = "Serial number not found" });
            }
            else if (associate && !asset.Serials.Contains(serial) && asset.Serials.Count >= asset.Total)
            {
                failures.Add(new { adamId, serialNumber = serial, errorNumber = 9709, errorMessage = "Insufficient licenses" });
            }
            else if (associate)
            {
                asset.Serials.Add(serial);
            }
            else
            {
                asset.Serials.Remove(serial);
            }
        }

        var id = $"EVENT{Interlocked.Increment(ref _events):D5}";
        _eventsById[id] = new Event(failures, PendingPolls: 1);
        return Results.Json(new { eventId = id, tokenExpirationDate = DateTime.UtcNow.AddYears(1), uId = "2049025000431439", versionId = "1" });
    }

    private readonly Dictionary<string, Event> _eventsById = [];

    private IResult Status(string eventId)
    {
        if (!_eventsById.TryGetValue(eventId, out var e))
        {
            return Results.Json(new { errorNumber = 9704, errorMessage = "Event not found" }, statusCode: 400);
        }

        if (e.PendingPolls > 0)
        {
            _eventsById[eventId] = e with { PendingPolls = e.PendingPolls - 1 };
            return Results.Json(new { eventStatus = "PENDING", eventType = "ASSOCIATE" });
        }

        return Results.Json(new { eventStatus = "COMPLETE", eventType = "ASSOCIATE", numCompleted = 1, numRequested = 1, failures = e.Failures });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
