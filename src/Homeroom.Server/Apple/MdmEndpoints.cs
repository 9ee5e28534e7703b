using System.Collections.Concurrent;
using System.Security.Cryptography;
using Homeroom.Contracts.Apple;
using Homeroom.Rules.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Filtering;
using Homeroom.Server.Locations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>
/// Apple's MDM protocol: the check-in endpoint (Authenticate, TokenUpdate, CheckOut,
/// DeclarativeManagement) and the command endpoint (Idle and answers). Bodies are property lists,
/// every request is tied to the identity certificate the device enrolled with, and a refusal is a
/// 4xx ProblemDetails (devices act on the status only). The signature is checked against the raw
/// body before the property list is read, so an unauthenticated caller never reaches the parser.
/// </summary>
public static class MdmEndpoints
{
    public const string CheckInPath = "/mdm/checkin";
    public const string ConnectPath = "/mdm/connect";

    public static IEndpointRouteBuilder MapMdmEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapMethods(CheckInPath, ["PUT", "POST"], CheckInAsync).AllowAnonymous().ExcludeFromDescription();
        app.MapMethods(ConnectPath, ["PUT", "POST"], ConnectAsync).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    /// <summary>A refused MDM request, as a ProblemDetails with the reason.</summary>
    internal static IResult Refuse(int status, string detail) => Results.Problem(
        statusCode: status,
        detail: detail,
        title: status switch
        {
            StatusCodes.Status401Unauthorized => "Not signed by an identity of this server",
            StatusCodes.Status403Forbidden => "Refused",
            StatusCodes.Status404NotFound => "Not found",
            StatusCodes.Status409Conflict => "Conflict",
            StatusCodes.Status413PayloadTooLarge => "Too large",
            _ => "Bad MDM request",
        });

    private sealed record Message(Dictionary<string, object> Body, string Udid, string Thumbprint, string BodyHash);

    // Order matters: size, then the signature over the raw bytes, and only then the property list.
    private static async Task<(Message? Message, IResult? Error)> ReadAsync(HttpContext context, MdmIdentity identity, AppleOptions options)
    {
        if (await Hosting.RequestBody.ReadLimitedAsync(context.Request, options.MaxBodyBytes, context.RequestAborted) is not { } body)
        {
            return (null, Refuse(StatusCodes.Status413PayloadTooLarge, $"The body is larger than {options.MaxBodyBytes} bytes."));
        }

        var thumbprint = identity.Identify(context.Request, body, out var error);
        if (thumbprint is null)
        {
            return (null, Refuse(StatusCodes.Status401Unauthorized, error!));
        }

        Dictionary<string, object> plist;
        try
        {
            plist = PropertyList.ReadDictionary(body, PropertyListLimits.ForDocument(options.MaxBodyBytes));
        }
        catch (PropertyListException e)
        {
            return (null, Refuse(StatusCodes.Status400BadRequest, $"Malformed property list: {e.Message}"));
        }

        if (plist.GetValueOrDefault("UDID") is not string udid || udid.Length is 0 or > 64 || !udid.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return (null, Refuse(StatusCodes.Status400BadRequest, "UDID is missing or malformed."));
        }

        // A replay is the same body signed by the same identity.
        var hash = Convert.ToHexStringLower(SHA256.HashData([.. body, .. System.Text.Encoding.ASCII.GetBytes(thumbprint)]));
        return (new Message(plist, udid, thumbprint, hash), null);
    }

    private static async Task<IResult> CheckInAsync(
        HttpContext context, string? enroll, MdmIdentity identity, MdmReplayGuard replays, AuthenticateAppleDevice authenticate, IDbContextFactory<HomeroomDbContext> dbFactory,
        Audit.AuditTrail audit, ZoneMembership zones, FilterListStore lists, PresenceTracker presence, LocationTracker locations, IOptions<AppleOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var (message, error) = await ReadAsync(context, identity, options.Value);
        if (message is null)
        {
            return error!;
        }

        var type = message.Body.GetValueOrDefault("MessageType") as string;
        if (type is not ("Authenticate" or "TokenUpdate" or "CheckOut" or "DeclarativeManagement"))
        {
            return Refuse(StatusCodes.Status400BadRequest, $"MessageType '{Truncate(type)}' is not supported.");
        }

        if (type == "Authenticate")
        {
            if (!replays.FirstTime(message.BodyHash))
            {
                return Results.Ok(); // the same signed message again: it was applied once, so nothing changes
            }

            var outcome = await authenticate.ExecuteAsync(
                new AppleAuthentication(message.Udid, message.Thumbprint, message.Body), enroll, context.Connection.RemoteIpAddress?.ToString(), cancellationToken);
            if (outcome.DeviceId is { } enrolled)
            {
                presence.MdmContact(enrolled);
                return Results.Ok();
            }

            replays.Forget(message.BodyHash); // refused: it may be sent again once allowed
            return Refuse(outcome.Status, outcome.Detail!);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var apple = await db.AppleDevices.FirstOrDefaultAsync(a => a.Udid == message.Udid, cancellationToken);
        var revoked = apple is not null && await db.Devices.AnyAsync(d => d.Id == apple.DeviceId && d.RevokedAt != null, cancellationToken);
        if (apple is null || apple.IdentityThumbprint != message.Thumbprint || apple.CheckedOutAt is not null || revoked)
        {
            return Refuse(StatusCodes.Status403Forbidden, "This UDID is not enrolled with this identity.");
        }

        presence.MdmContact(apple.DeviceId);
        await locations.ObserveNetworkAsync(apple.DeviceId, context.Connection.RemoteIpAddress, null, false, cancellationToken);
        if (type == "DeclarativeManagement")
        {
            // Repeated legitimately (a device asks for its tokens often), so not subject to the replay guard.
            return await DeclarativeManagement.HandleAsync(db, apple, message.Body, zones, lists, time, cancellationToken);
        }

        if (!replays.FirstTime(message.BodyHash))
        {
            return Results.Ok();
        }

        var now = time.GetUtcNow().UtcDateTime;
        if (type == "TokenUpdate")
        {
            if (message.Body.GetValueOrDefault("Token") is byte[] token && token.Length is > 0 and <= 256)
            {
                apple.PushToken = Convert.ToHexStringLower(token);
            }

            if (message.Body.GetValueOrDefault("PushMagic") is string magic && magic.Length <= 128)
            {
                apple.PushMagic = magic;
            }

            apple.Topic = message.Body.GetValueOrDefault("Topic") as string is { Length: <= 255 } topic ? topic : apple.Topic;
            apple.LastCheckinAt = now;
            await db.SaveChangesAsync(cancellationToken);
            return Results.Ok();
        }

        apple.CheckedOutAt = now;
        apple.PushToken = null;
        audit.Record(db, "mdm.checkout", "device", apple.DeviceId.ToString(), $"UDID {message.Udid}");
        await db.SaveChangesAsync(cancellationToken);
        return Results.Ok();
    }

    private static async Task<IResult> ConnectAsync(
        HttpContext context, MdmIdentity identity, MdmQueue queue, IDbContextFactory<HomeroomDbContext> dbFactory, PresenceTracker presence, LocationTracker locations, IOptions<AppleOptions> options, CancellationToken cancellationToken)
    {
        var (message, error) = await ReadAsync(context, identity, options.Value);
        if (message is null)
        {
            return error!;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await (
            from a in db.AppleDevices
            join d in db.Devices on a.DeviceId equals d.Id
            where a.Udid == message.Udid
            select new { a.DeviceId, a.IdentityThumbprint, a.CheckedOutAt, a.Supervised, d.Platform, d.RevokedAt })
            .FirstOrDefaultAsync(cancellationToken);
        if (device is null || device.IdentityThumbprint != message.Thumbprint || device.CheckedOutAt is not null || device.RevokedAt is not null)
        {
            return Refuse(StatusCodes.Status403Forbidden, "This UDID is not enrolled with this identity.");
        }

        var status = message.Body.GetValueOrDefault("Status") as string;
        if (status is not ("Idle" or "Acknowledged" or "Error" or "CommandFormatError" or "NotNow"))
        {
            return Refuse(StatusCodes.Status400BadRequest, $"Status '{Truncate(status)}' is not valid.");
        }

        // A poll is a sign of life: kept in memory and written in the presence tracker's batches, never a row per poll.
        presence.MdmContact(device.DeviceId);
        // A poll from a school's public range is network presence (the address as seen after trusted proxies).
        await locations.ObserveNetworkAsync(device.DeviceId, context.Connection.RemoteIpAddress, null, false, cancellationToken);
        var facts = new AppleDeviceFacts(device.Platform, device.Supervised);
        if (status != "Idle")
        {
            if (message.Body.GetValueOrDefault("CommandUUID") is not string uuid || !Guid.TryParse(uuid, out var commandId))
            {
                return Refuse(StatusCodes.Status400BadRequest, "CommandUUID is missing or not a command of this server.");
            }

            facts = await queue.RecordAsync(db, device.DeviceId, facts, commandId, status, message.Body, cancellationToken);
        }

        var next = await queue.NextAsync(db, device.DeviceId, facts, cancellationToken);
        return next is null ? Results.Ok() : Results.Bytes(next, "application/xml");
    }

    private static string Truncate(string? text) => text is null ? "" : text.Length > 64 ? text[..64] : text;
}

/// <summary>
/// Check-ins already applied, by the hash of their signed body, for a day: a replayed Authenticate,
/// TokenUpdate or CheckOut is answered 200 and changes nothing (an old TokenUpdate cannot bring back
/// an old push token). Bounded; the oldest half is dropped when full.
/// </summary>
public sealed class MdmReplayGuard(TimeProvider time)
{
    private const int Capacity = 200_000;
    private static readonly TimeSpan Window = TimeSpan.FromDays(1);
    private readonly ConcurrentDictionary<string, DateTime> _seen = new(StringComparer.Ordinal);

    public bool FirstTime(string bodyHash)
    {
        var now = time.GetUtcNow().UtcDateTime;
        if (_seen.Count >= Capacity)
        {
            foreach (var old in _seen.Where(p => p.Value < now - Window).Select(p => p.Key).ToList())
            {
                _seen.TryRemove(old, out _);
            }

            if (_seen.Count >= Capacity)
            {
                foreach (var oldest in _seen.OrderBy(p => p.Value).Take(Capacity / 2).Select(p => p.Key).ToList())
                {
                    _seen.TryRemove(oldest, out _);
                }
            }
        }

        return _seen.TryAdd(bodyHash, now) || (_seen.TryGetValue(bodyHash, out var at) && at < now - Window && _seen.TryUpdate(bodyHash, now, at));
    }

    /// <summary>A message that was refused may be sent again (with a token this time).</summary>
    public void Forget(string bodyHash) => _seen.TryRemove(bodyHash, out _);
}

internal static partial class AppleLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {DeviceId} answered {Status} for command {CommandId}, which it was not sent; ignored")]
    public static partial void UnknownCommand(ILogger logger, Guid deviceId, Guid commandId, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "APNs did not accept the wake-up for device {DeviceId}; it will get its commands at its next check-in")]
    public static partial void PushFailed(ILogger logger, Guid deviceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    public static partial void PushCertificateExpiring(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Enrollment profile downloads for token {TokenId} are over the limit of {Limit} a minute; refused")]
    public static partial void ProfileDownloadsLimited(ILogger logger, Guid tokenId, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Asked {Devices} Apple devices for their installed apps (the daily listApps)")]
    public static partial void AppInventoryAsked(ILogger logger, int devices);
}
