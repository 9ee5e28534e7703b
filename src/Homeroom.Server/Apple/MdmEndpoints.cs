using System.Collections.Concurrent;
using System.Security.Cryptography;
using Homeroom.Contracts.Apple;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apple;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Enrollment;
using Homeroom.Server.Filtering;
using Homeroom.Server.Hosting;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apple;

/// <summary>
/// Apple's MDM protocol: the check-in endpoint (Authenticate, TokenUpdate, CheckOut) and the command
/// endpoint (Idle and answers). Bodies are property lists, every request is tied to the identity
/// certificate the device enrolled with, and any error is a status with a short plain-text reason
/// (Apple devices do not read ProblemDetails).
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

    private sealed record Message(Dictionary<string, object> Body, string Udid, string Thumbprint, string BodyHash);

    private static async Task<(Message? Message, IResult? Error)> ReadAsync(HttpContext context, MdmIdentity identity, AppleOptions options)
    {
        if (await RequestBody.ReadLimitedAsync(context.Request, options.MaxBodyBytes, context.RequestAborted) is not { } body)
        {
            return (null, Results.Text("The body is too large.", statusCode: StatusCodes.Status413PayloadTooLarge));
        }

        Dictionary<string, object> plist;
        try
        {
            plist = PropertyList.ReadDictionary(body, new PropertyListLimits(MaxBytes: options.MaxBodyBytes));
        }
        catch (PropertyListException e)
        {
            return (null, Results.Text($"Malformed property list: {e.Message}", statusCode: StatusCodes.Status400BadRequest));
        }

        if (plist.GetValueOrDefault("UDID") is not string udid || udid.Length is 0 or > 64 || !udid.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return (null, Results.Text("UDID is missing or malformed.", statusCode: StatusCodes.Status400BadRequest));
        }

        var thumbprint = identity.Identify(context.Request, body, out var error);
        if (thumbprint is null)
        {
            return (null, Results.Text(error!, statusCode: StatusCodes.Status401Unauthorized));
        }

        // A replay is the same body signed by the same identity.
        var hash = Convert.ToHexStringLower(SHA256.HashData([.. body, .. System.Text.Encoding.ASCII.GetBytes(thumbprint)]));
        return (new Message(plist, udid, thumbprint, hash), null);
    }

    private static async Task<IResult> CheckInAsync(
        HttpContext context, string? enroll, MdmIdentity identity, MdmReplayGuard replays, EnrollDevice enrollDevice, IDbContextFactory<HomeroomDbContext> dbFactory,
        AuditTrail audit, ZoneMembership zones, FilterListStore lists, PolicyDistributor policies, IOptions<AppleOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var (message, error) = await ReadAsync(context, identity, options.Value);
        if (message is null)
        {
            return error!;
        }

        var type = message.Body.GetValueOrDefault("MessageType") as string;
        if (type == "DeclarativeManagement")
        {
            // Repeated legitimately (a device asks for its tokens often), so not subject to the replay guard.
            await using var ddm = await dbFactory.CreateDbContextAsync(cancellationToken);
            var bound = await ddm.AppleDevices.FirstOrDefaultAsync(a => a.Udid == message.Udid, cancellationToken);
            return bound is null || bound.IdentityThumbprint != message.Thumbprint || bound.CheckedOutAt is not null
                ? Results.Text("This UDID is not enrolled with this identity.", statusCode: StatusCodes.Status403Forbidden)
                : await DeclarativeManagement.HandleAsync(ddm, bound, message.Body, zones, lists, time, cancellationToken);
        }

        if (type is not ("Authenticate" or "TokenUpdate" or "CheckOut"))
        {
            return Results.Text($"MessageType '{Truncate(type)}' is not supported.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (!replays.FirstTime(message.BodyHash))
        {
            return Results.Ok(); // the same signed message again: it was applied once, so nothing changes
        }

        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var apple = await db.AppleDevices.FirstOrDefaultAsync(a => a.Udid == message.Udid, cancellationToken);
        var boundHere = apple is not null && apple.IdentityThumbprint == message.Thumbprint && apple.CheckedOutAt is null;

        if (type == "Authenticate")
        {
            if (boundHere)
            {
                apple!.LastCheckinAt = now;
                await db.SaveChangesAsync(cancellationToken);
                return Results.Ok();
            }

            if (string.IsNullOrEmpty(enroll))
            {
                replays.Forget(message.BodyHash);
                return Results.Text("Enrolling needs an enrollment token (the check-in URL's enroll parameter).", statusCode: StatusCodes.Status403Forbidden);
            }

            var serial = message.Body.GetValueOrDefault("SerialNumber") as string;
            var product = message.Body.GetValueOrDefault("ProductName") as string ?? "";
            var platform = product.StartsWith("Mac", StringComparison.Ordinal) ? DevicePlatform.MacOS
                : product.StartsWith("iPhone", StringComparison.Ordinal) ? DevicePlatform.IOS
                : DevicePlatform.IPadOS;
            EnrollResponse enrolled;
            try
            {
                enrolled = await enrollDevice.ExecuteAsync(
                    new EnrollRequest(enroll, platform, serial ?? message.Udid, message.Body.GetValueOrDefault("Model") as string ?? product, "Apple",
                        message.Body.GetValueOrDefault("OSVersion") as string, "mdm"),
                    context.Connection.RemoteIpAddress?.ToString(), cancellationToken);
            }
            catch (Exception e) when (e is EnrollmentRefusedException or Hosting.RequestValidationException)
            {
                replays.Forget(message.BodyHash);
                return Results.Text($"Enrollment refused: {e.Message}", statusCode: e is EnrollmentRefusedException refused ? refused.StatusCode : StatusCodes.Status400BadRequest);
            }

            if (apple is null)
            {
                apple = new AppleDevice { DeviceId = enrolled.DeviceId, Udid = message.Udid, IdentityThumbprint = message.Thumbprint, EnrolledAt = now };
                db.AppleDevices.Add(apple);
            }
            else
            {
                // Re-enrolled (a new identity, or after checking out): bind the new identity, forget the old push token.
                apple.DeviceId = enrolled.DeviceId;
                apple.IdentityThumbprint = message.Thumbprint;
                apple.PushToken = null;
                apple.PushMagic = null;
                apple.CheckedOutAt = null;
                apple.EnrolledAt = now;
            }

            apple.Topic = message.Body.GetValueOrDefault("Topic") as string;
            apple.LastCheckinAt = now;
            audit.Record(db, "mdm.authenticate", "device", enrolled.DeviceId.ToString(), $"UDID {message.Udid}");
            await db.SaveChangesAsync(cancellationToken);
            policies.RequestDevice(enrolled.DeviceId); // its policy, as a profile, is queued for its first poll
            return Results.Ok();
        }

        if (!boundHere)
        {
            replays.Forget(message.BodyHash);
            return Results.Text("This UDID is not enrolled with this identity.", statusCode: StatusCodes.Status403Forbidden);
        }

        if (type == "TokenUpdate")
        {
            if (message.Body.GetValueOrDefault("Token") is byte[] token && token.Length is > 0 and <= 256)
            {
                apple!.PushToken = Convert.ToHexStringLower(token);
            }

            if (message.Body.GetValueOrDefault("PushMagic") is string magic && magic.Length <= 128)
            {
                apple!.PushMagic = magic;
            }

            apple!.Topic = message.Body.GetValueOrDefault("Topic") as string ?? apple.Topic;
            apple.LastCheckinAt = now;
            await db.SaveChangesAsync(cancellationToken);
            return Results.Ok();
        }

        apple!.CheckedOutAt = now;
        apple.PushToken = null;
        audit.Record(db, "mdm.checkout", "device", apple.DeviceId.ToString(), $"UDID {message.Udid}");
        await db.SaveChangesAsync(cancellationToken);
        return Results.Ok();
    }

    private static async Task<IResult> ConnectAsync(
        HttpContext context, MdmIdentity identity, MdmQueue queue, IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<AppleOptions> options, TimeProvider time, CancellationToken cancellationToken)
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
            return Results.Text("This UDID is not enrolled with this identity.", statusCode: StatusCodes.Status403Forbidden);
        }

        var status = message.Body.GetValueOrDefault("Status") as string;
        if (status is not ("Idle" or "Acknowledged" or "Error" or "CommandFormatError" or "NotNow"))
        {
            return Results.Text($"Status '{Truncate(status)}' is not valid.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (status != "Idle")
        {
            if (message.Body.GetValueOrDefault("CommandUUID") is not string uuid || !Guid.TryParse(uuid, out var commandId))
            {
                return Results.Text("CommandUUID is missing or not a command of this server.", statusCode: StatusCodes.Status400BadRequest);
            }

            await queue.RecordAsync(db, device.DeviceId, commandId, status, message.Body, cancellationToken);
        }

        await db.AppleDevices.Where(a => a.DeviceId == device.DeviceId).ExecuteUpdateAsync(s => s.SetProperty(a => a.LastPollAt, time.GetUtcNow().UtcDateTime), cancellationToken);
        var next = await queue.NextAsync(db, device.DeviceId, new AppleDeviceFacts(device.Platform, device.Supervised), cancellationToken);
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
}
