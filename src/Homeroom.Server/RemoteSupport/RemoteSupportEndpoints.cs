using System.Net.WebSockets;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Throttling;
using Homeroom.Server.Accounts;
using Homeroom.Server.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.RemoteSupport;

/// <summary>The close codes of the console's session socket (docs/remote-support.md).</summary>
public static class RemoteViewerCloseCodes
{
    /// <summary>The session ended (the reason says how).</summary>
    public const int Ended = 1000;

    /// <summary>A message that is not JSON, not a known type, or whose events are invalid.</summary>
    public const int Malformed = AgentCloseCodes.MalformedFrame;

    /// <summary>
    /// A message larger than <see cref="RemoteSupportOptions.MaxViewerMessageBytes"/> (a <c>clipboard</c> one larger than
    /// <see cref="RemoteSupportOptions.MaxViewerClipboardMessageBytes"/>, or with more than <see cref="RemoteLimits.MaxClipboardBytes"/>
    /// of text), or a binary one.
    /// </summary>
    public const int TooLarge = AgentCloseCodes.FrameTooLarge;

    /// <summary>More messages than <see cref="RemoteSupportOptions.ViewerMessagesPerSecond"/> allows.</summary>
    public const int RateLimited = AgentCloseCodes.RateLimited;
}

/// <summary>
/// Remote support over HTTP: start, end and read a device's sessions, and the technician's session socket
/// (<c>GET /api/devices/{id}/remote-session/{sessionId}/stream</c>, a WebSocket: cookie or API key auth like every endpoint,
/// the device in the caller's scope, only the technician who started the session, and from a browser only from this
/// server's own origin).
/// </summary>
public static class RemoteSupportEndpoints
{
    public static IEndpointRouteBuilder MapRemoteSupportEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/devices/{id:guid}/remote-session").WithTags("Remote support");
        group.MapPost("/", StartAsync).RequireStaff(ScopedResource.Device, Permission.RemoteSupport)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription("Starts a remote session (`mode` view or control) on a device whose agent offers it (the Linux desktop agent; view only on a Chromebook's extension); 409 when the device is offline, its agent lacks the capability, control is asked of a view-only agent, or a session is already open. 409 also when the school's remote support settings turn sessions off. The student is asked to consent or only told, as the school's settings (or the district's defaults) say for the caller's role. Audited. IT technicians and district administrators.");
        group.MapDelete("/", StopAsync).RequireStaff(ScopedResource.Device, Permission.RemoteSupport)
            .WithDescription("Ends the device's open remote session. Audited.");
        group.MapGet("/", DeviceAsync).RequireStaff(ScopedResource.Device, Permission.RemoteSupport)
            .WithDescription("Whether the device can take a remote session (and why not), its open session, and its recent sessions with consent, duration and bytes.");
        group.MapPost("/{sessionId:guid}/files", SendFileAsync).RequireStaff(ScopedResource.Device, Permission.RemoteSupport)
            .Accepts<Stream>("application/octet-stream")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithDescription("Sends a file (the raw body; `?name=` names it, at most 1,024 characters, and a safe name is used when it has path separators, control characters or is too long) to the device of the caller's own open session, in chunks on the device's socket; the device keeps it in the signed-in user's Downloads/Homeroom only once its SHA-256 matched, and the answer (`saved` or `refused`) reaches the session socket. 413 over Homeroom:RemoteSupport:MaxFileBytes (25 MB by default); 409 (with the reason, also told on the session socket) outside an accepted control session, where the school's remote support settings do not allow file transfer, while another file is being sent, or when the device's agent does not take files. Audited with the name, size and SHA-256. IT technicians and district administrators.");
        group.MapPost("/{sessionId:guid}/device-files", RequestDeviceFileAsync).RequireStaff(ScopedResource.Device, Permission.RemoteSupport)
            .WithMetadata(new RequestSizeLimitAttribute(MaxDeviceFileRequestBytes))
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithDescription($"Asks the device of the caller's own open session for a file in the signed-in user's home folder (`{{\"path\":\"Documents/essay.docx\"}}`: relative, no `..`, no control characters, at most {RemoteFileLimits.MaxRequestPathLength} characters; body at most {MaxDeviceFileRequestBytes} bytes). The student is asked to allow or deny it (denied after 60 s); the answers (`allowed`, `denied`, `refused`, `ready`) reach the session socket, and a ready file is downloaded from `.../device-files/{{transferId}}`. 409 (with the reason, also told on the session socket) outside an accepted control session, where the school's remote support settings do not allow file transfer, while another file is being asked for, or when the device's agent does not send files. Audited with the path. IT technicians and district administrators.");
        group.MapGet("/{sessionId:guid}/device-files/{transferId:guid}", DownloadDeviceFileAsync).RequireStaff(ScopedResource.Device, Permission.RemoteSupport)
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream").ProducesProblem(StatusCodes.Status404NotFound)
            .WithDescription("Downloads the file that came from the device of the caller's own open session, whole and its SHA-256 checked. Kept in memory only: gone when the session ends, when another file is asked for, or after Homeroom:RemoteSupport:DeviceFileLifetime (15 minutes); then 404. Audited. IT technicians and district administrators.");
        group.MapGet("/{sessionId:guid}/stream", StreamAsync).RequireStaff(ScopedResource.Device, Permission.RemoteSupport)
            .ExcludeFromDescription();

        var settings = app.MapGroup("/api/schools/{id:guid}/remote-support").WithTags("Remote support")
            .WithMetadata(new RequestSizeLimitAttribute(RemoteSupportSettingsDirectory.MaxRequestBytes));
        settings.MapGet("/", GetSettingsAsync).RequireStaff(ScopedResource.School, Permission.ManageRemoteSupport)
            .WithDescription("The school's remote support settings (the district's defaults while it has none of its own): whether sessions may start, consent or notice for IT technicians and for district administrators, and whether the clipboard and file transfer are allowed. District administrators and the school's administrators.");
        settings.MapPut("/", UpdateSettingsAsync).RequireStaff(ScopedResource.School, Permission.ManageRemoteSupport)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
            .WithDescription($"Replaces the school's remote support settings (`sessionsAllowed`, `technicianConsent` and `districtAdminConsent` each `consent` or `notice`, `clipboardAllowed`, all required; `fileTransferAllowed`, kept as it is when omitted; body at most {RemoteSupportSettingsDirectory.MaxRequestBytes} bytes). A school administrator may not set the school looser than the district's defaults (403). Audited.");
        return app;
    }

    private static async Task<Results<Ok<RemoteSupportSettingsDto>, NotFound>> GetSettingsAsync(
        Guid id, StaffScope scope, RemoteSupportSettingsDirectory directory, CancellationToken cancellationToken) =>
        await directory.GetAsync(scope, id, cancellationToken) is { } found ? TypedResults.Ok(found) : TypedResults.NotFound();

    private static async Task<Results<Ok<RemoteSupportSettingsDto>, NotFound>> UpdateSettingsAsync(
        Guid id, RemoteSupportSettingsRequest request, StaffScope scope, RemoteSupportSettingsDirectory directory, CancellationToken cancellationToken) =>
        await directory.UpdateAsync(scope, id, request, cancellationToken) is { } saved ? TypedResults.Ok(saved) : TypedResults.NotFound();

    private static async Task<Results<Created<RemoteSessionDto>, ValidationProblem>> StartAsync(
        Guid id, StartRemoteSessionRequest request, StaffScope scope, RemoteSessions sessions, CancellationToken cancellationToken)
    {
        if (!RemoteModes.IsKnown(request.Mode))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["mode"] = ["The mode must be view or control."] });
        }

        var started = await sessions.StartAsync(scope, id, request.Mode!, cancellationToken);
        return TypedResults.Created($"/api/devices/{id}/remote-session", started);
    }

    /// <summary>The longest <c>?name=</c> read (a longer one is refused, a shorter unsafe one replaced by a safe name).</summary>
    public const int MaxFileNameQueryLength = 1024;

    private static async Task<Results<Accepted<RemoteFileTransferDto>, ValidationProblem, ProblemHttpResult>> SendFileAsync(
        Guid id, Guid sessionId, string? name, HttpContext context, StaffScope scope, RemoteSessions sessions, IOptions<RemoteSupportOptions> options, CancellationToken cancellationToken)
    {
        if (name is { Length: > MaxFileNameQueryLength })
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = [$"At most {MaxFileNameQueryLength} characters."] });
        }

        var limit = options.Value.MaxFileBytes;
        if (await RequestBody.ReadLimitedAsync(context.Request, limit, cancellationToken) is not { } content)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too large", detail: $"A file may be at most {limit:N0} bytes.");
        }

        if (content.Length == 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["The body must be the file's bytes (an empty file is not sent)."] });
        }

        var sent = await sessions.SendFileAsync(scope, id, sessionId, name, content, cancellationToken);
        return TypedResults.Accepted($"/api/devices/{id}/remote-session", sent);
    }

    /// <summary>The largest body of a file request (a path of at most 512 characters, escaped).</summary>
    public const int MaxDeviceFileRequestBytes = 4096;

    private static async Task<Results<Accepted<DeviceFileRequestDto>, ValidationProblem>> RequestDeviceFileAsync(
        Guid id, Guid sessionId, RequestDeviceFileRequest request, StaffScope scope, RemoteSessions sessions, CancellationToken cancellationToken)
    {
        if (RemoteFileLimits.ValidateRequestPath(request.Path) is { } invalid)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["path"] = [char.ToUpperInvariant(invalid[0]) + invalid[1..] + "."] });
        }

        var asked = await sessions.RequestFileAsync(scope, id, sessionId, request.Path!, cancellationToken);
        return TypedResults.Accepted($"/api/devices/{id}/remote-session", asked);
    }

    private static async Task<Results<FileContentHttpResult, NotFound>> DownloadDeviceFileAsync(
        Guid id, Guid sessionId, Guid transferId, StaffScope scope, RemoteSessions sessions, CancellationToken cancellationToken) =>
        await sessions.DownloadFileAsync(scope, id, sessionId, transferId, cancellationToken) is { } file
            ? TypedResults.File(file.Content, "application/octet-stream", file.Name)
            : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> StopAsync(Guid id, StaffScope scope, RemoteSessions sessions) =>
        await sessions.StopAsync(scope, id) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Ok<DeviceRemoteSupportDto>> DeviceAsync(Guid id, StaffScope scope, RemoteSessions sessions, CancellationToken cancellationToken) =>
        TypedResults.Ok(await sessions.DeviceAsync(scope, id, cancellationToken));

    private static async Task<IResult> StreamAsync(
        Guid id, Guid sessionId, HttpContext context, StaffScope scope, RemoteSessions sessions, IOptions<RemoteSupportOptions> options, TimeProvider time)
    {
        scope.EnsureCan(Permission.RemoteSupport);
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a WebSocket request", detail: "The session stream is a WebSocket.");
        }

        // A browser always names the page's origin on a WebSocket handshake; a page of another site must not reach a session
        // with the technician's cookie (WebSockets are not covered by CORS).
        if (context.Request.Headers.Origin is { Count: > 0 } origin
            && !(Uri.TryCreate(origin.ToString(), UriKind.Absolute, out var originUri)
                && string.Equals(originUri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase)))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Cross-origin session socket", detail: "The session stream is opened only by this server's console.");
        }

        if (sessions.ForViewer(scope, id, sessionId) is not { } session)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such session", detail: "No open session of yours on this device has that id.");
        }

        if (!sessions.Attach(session))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already watched", detail: "Another console is attached to this session, or it has ended.");
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var close = (Code: RemoteViewerCloseCodes.Ended, Reason: "session ended");
        var sender = SendAsync();
        var opt = options.Value;
        var bucket = new TokenBucket(opt.ViewerMessagesPerSecond, opt.ViewerMessagesPerSecond * 2, time.GetUtcNow().UtcTicks);
        var largest = Math.Max(opt.MaxViewerMessageBytes, opt.MaxViewerClipboardMessageBytes);
        var buffer = new byte[largest + 1];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer.AsMemory(length), context.RequestAborted);
                    length += result.Count;
                }
                while (!result.EndOfMessage && length < buffer.Length && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await sessions.EndAsync(session, "the technician closed the session", notifyDevice: true);
                    break;
                }

                var violation = length > largest || result.MessageType == WebSocketMessageType.Binary ? (RemoteViewerCloseCodes.TooLarge, "message too large or binary")
                    : !bucket.TryTake(time.GetUtcNow().UtcTicks) ? (RemoteViewerCloseCodes.RateLimited, "too many messages")
                    : await HandleAsync(buffer.AsMemory(0, length)) is { } reason ? reason
                    : ((int, string)?)null;
                if (violation is { } v)
                {
                    RemoteSupportLog.ViewerViolation(context.RequestServices.GetRequiredService<ILogger<RemoteSessions>>(), session.Record.Id, v.Item1, v.Item2);
                    close = (v.Item1, v.Item2);
                    await sessions.EndAsync(session, $"the console broke a rule: {v.Item2}", notifyDevice: true);
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            await sessions.EndAsync(session, "the technician's console went away", notifyDevice: true);
        }

        await sender;
        // Read what the console still sends until its close answers ours, so the connection ends with the close frame
        // delivered rather than reset over unread data.
        try
        {
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            drain.CancelAfter(TimeSpan.FromSeconds(2));
            while (socket.State == WebSocketState.CloseSent)
            {
                await socket.ReceiveAsync(buffer.AsMemory(), drain.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }

        return TypedResults.Empty;

        // Null when the message was handled; else the close code and why.
        async Task<(int, string)?> HandleAsync(ReadOnlyMemory<byte> json)
        {
            RemoteViewerMessage? message;
            try
            {
                message = JsonSerializer.Deserialize(json.Span, RemoteSupportJsonContext.Default.RemoteViewerMessage);
            }
            catch (JsonException)
            {
                return (RemoteViewerCloseCodes.Malformed, "not JSON");
            }

            // Only clipboard text may be longer than an input message.
            if (json.Length > (message?.Type == "clipboard" ? opt.MaxViewerClipboardMessageBytes : opt.MaxViewerMessageBytes))
            {
                return (RemoteViewerCloseCodes.TooLarge, "message too large");
            }

            switch (message?.Type)
            {
                case "end":
                    await sessions.EndAsync(session, "ended by the technician", notifyDevice: true);
                    return null;
                case "input":
                    int width, height;
                    lock (session.Gate)
                    {
                        (width, height) = (session.ScreenWidth, session.ScreenHeight);
                    }

                    // Before the first screen update the size is unknown: only the largest screen bounds positions.
                    if (RemoteLimits.ValidateInput(message.Events, width > 0 ? width : RemoteLimits.MaxScreenSide, height > 0 ? height : RemoteLimits.MaxScreenSide) is { } invalid)
                    {
                        return (RemoteViewerCloseCodes.Malformed, invalid);
                    }

                    await sessions.InputAsync(session, message.Events!);
                    return null;
                case "clipboard":
                    if (RemoteLimits.ValidateClipboard(message.Text) is { } bad)
                    {
                        return (System.Text.Encoding.UTF8.GetByteCount(message.Text ?? string.Empty) > RemoteLimits.MaxClipboardBytes ? RemoteViewerCloseCodes.TooLarge : RemoteViewerCloseCodes.Malformed, bad);
                    }

                    // Refused (not a control session, the school's settings, the device's agent): the console is told and the session goes on.
                    var refused = await sessions.ClipboardAsync(session, message.Text!);
                    sessions.PostClipboard(session, refused);
                    return null;
                case "readClipboard":
                    // Refused (not a control session, the school's settings, the device's agent, a read under way): the console is told and the session goes on.
                    await sessions.ReadClipboardAsync(session);
                    return null;
                default:
                    return (RemoteViewerCloseCodes.Malformed, "unknown message type");
            }
        }

        async Task SendAsync()
        {
            try
            {
                var reader = session.Outgoing.Reader;
                while (true)
                {
                    if (!reader.TryRead(out var item))
                    {
                        // Nothing to send: wait for the next message, but no longer than the pending acknowledgement allows.
                        if (sessions.AckDueIn(session) is { } dueIn)
                        {
                            using var wait = new CancellationTokenSource(dueIn, time);
                            using var linked = CancellationTokenSource.CreateLinkedTokenSource(wait.Token, context.RequestAborted);
                            try
                            {
                                if (!await reader.WaitToReadAsync(linked.Token))
                                {
                                    break;
                                }
                            }
                            catch (OperationCanceledException) when (wait.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
                            {
                                await sessions.FlushAckAsync(session);
                            }
                        }
                        else if (!await reader.WaitToReadAsync(context.RequestAborted))
                        {
                            break;
                        }

                        continue;
                    }

                    var (binary, payload) = item;
                    await socket.SendAsync(payload, binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, context.RequestAborted);
                    if (binary)
                    {
                        await sessions.DeliveredAsync(session, payload);
                    }
                }

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                if (socket.State == WebSocketState.Open)
                {
                    await socket.CloseOutputAsync((WebSocketCloseStatus)close.Code, close.Reason, timeout.Token);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The console went away; the receiving side ends the session.
            }
        }
    }
}
