using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Session;

/// <summary>
/// One message on the local channel between the service and the user-session helper (length-prefixed
/// JSON, <see cref="SessionChannel"/>). Which fields a type carries, and their limits, are checked by
/// <see cref="SessionMessages.Validate"/> on the receiving side.
/// </summary>
/// <param name="Type">helper → service: <c>hello</c>, <c>done</c>, <c>thumbnail</c>, <c>foreground</c>, <c>idle</c>, <c>remoteStatus</c>, <c>remoteScreen</c>, <c>remoteFileStatus</c>, <c>remoteClipboardContent</c>, <c>remoteFileRequestStatus</c>, <c>remoteFileUpload</c>, <c>helpRequest</c>, <c>safetyScreenshot</c>; service → helper: <c>welcome</c>, <c>refused</c>, <c>lock</c>, <c>unlock</c>, <c>message</c>, <c>screenView</c>, <c>remoteSession</c>, <c>remoteInput</c>, <c>remoteAck</c>, <c>remoteClipboard</c>, <c>remoteClipboardRead</c>, <c>remoteFile</c>, <c>remoteFileRequest</c>, <c>helpStatus</c>, <c>safetyCapture</c>.</param>
/// <param name="Id">The command a <c>lock</c>, <c>unlock</c>, <c>message</c> or <c>done</c> is about, the remote session a <c>remote*</c> message is about, the help request a <c>help*</c> message is about, or the server's capture id a <c>safetyCapture</c> or <c>safetyScreenshot</c> is about.</param>
/// <param name="Display">The X display the helper serves (<c>hello</c>); one helper per display.</param>
/// <param name="Title">A message's title, or the foreground window's title.</param>
/// <param name="Text">A lock's or a message's text, the result of a <c>done</c>, a <c>remoteClipboard</c>'s text, a <c>remoteClipboardContent</c>'s text (or, not <paramref name="Ok"/>, why none), a <c>helpRequest</c>'s note, or why a <c>safetyScreenshot</c> carries no image.</param>
/// <param name="Ok">Whether a command was carried out (<c>done</c>), the clipboard's text is sent (<c>remoteClipboardContent</c>), or the screen was captured (<c>safetyScreenshot</c>).</param>
/// <param name="Active">Whether a teacher watches (<c>screenView</c>), a remote session is on (<c>remoteSession</c>), the user is idle (<c>idle</c>), or someone took a help request (<c>helpStatus</c>).</param>
/// <param name="ViewerName">Who watches, for the banner.</param>
/// <param name="IntervalMilliseconds">Time between thumbnails.</param>
/// <param name="MaxWidth">A thumbnail's largest width in pixels.</param>
/// <param name="App">The foreground window's application (its WM_CLASS class).</param>
/// <param name="Image">A thumbnail's JPEG, the screenshot a student attached to a <c>helpRequest</c>, or the screen a <c>safetyScreenshot</c> answers with (base64 in the JSON).</param>
/// <param name="CapturedAt">When the thumbnail or safety screenshot was captured; for <c>idle</c>, when the last input came (idle) or when input came again (not idle); for <c>helpRequest</c>, when the student pressed Send.</param>
/// <param name="Mode">A remote session's mode (<c>view</c> or <c>control</c>).</param>
/// <param name="ConsentRequired">Whether the student must accept a remote session first.</param>
/// <param name="Status">A <c>remoteStatus</c>'s <see cref="RemoteSessionStatuses"/> value (its reason travels in <paramref name="Text"/>), or a <c>helpStatus</c>'s <see cref="HelpDeskStatuses"/> value.</param>
/// <param name="Sequence">The highest screen update a <c>remoteAck</c> acknowledges.</param>
/// <param name="Events">A <c>remoteInput</c>'s events.</param>
/// <param name="Frame">A <c>remoteScreen</c>'s binary frame (<see cref="RemoteScreenFrame"/>, base64 in the JSON), relayed unchanged; a <c>remoteFile</c>'s chunk.</param>
/// <param name="Transfer">The file transfer a <c>remoteFile</c>, <c>remoteFileStatus</c>, <c>remoteFileRequest</c>, <c>remoteFileRequestStatus</c> or <c>remoteFileUpload</c> is about, or the clipboard read a <c>remoteClipboardRead</c> or <c>remoteClipboardContent</c> is about.</param>
/// <param name="FileName">A <c>remoteFile</c>'s name.</param>
/// <param name="Size">A <c>remoteFile</c>'s whole size in bytes.</param>
/// <param name="Sha256">A <c>remoteFile</c>'s SHA-256 (lowercase hex).</param>
/// <param name="Offset">Where a <c>remoteFile</c>'s chunk goes.</param>
public sealed record SessionMessage(
    string Type,
    Guid? Id = null,
    string? Display = null,
    string? Title = null,
    string? Text = null,
    bool? Ok = null,
    bool? Active = null,
    string? ViewerName = null,
    int? IntervalMilliseconds = null,
    int? MaxWidth = null,
    string? App = null,
    byte[]? Image = null,
    DateTimeOffset? CapturedAt = null,
    string? Mode = null,
    bool? ConsentRequired = null,
    string? Status = null,
    long? Sequence = null,
    IReadOnlyList<RemoteInputEvent>? Events = null,
    byte[]? Frame = null,
    Guid? Transfer = null,
    string? FileName = null,
    long? Size = null,
    string? Sha256 = null,
    long? Offset = null);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SessionMessage))]
internal sealed partial class SessionJsonContext : JsonSerializerContext;

/// <summary>The channel's message types and limits.</summary>
public static class SessionMessages
{
    public const string Hello = "hello";
    public const string Welcome = "welcome";
    public const string Refused = "refused";
    public const string Lock = "lock";
    public const string Unlock = "unlock";
    public const string Message = "message";
    public const string ScreenView = "screenView";
    public const string Done = "done";
    public const string Thumbnail = "thumbnail";
    public const string Foreground = "foreground";
    public const string Idle = "idle";
    public const string RemoteSession = "remoteSession";
    public const string RemoteInput = "remoteInput";
    public const string RemoteAck = "remoteAck";
    public const string RemoteClipboard = "remoteClipboard";
    public const string RemoteClipboardRead = "remoteClipboardRead";
    public const string RemoteClipboardContent = "remoteClipboardContent";
    public const string RemoteStatus = "remoteStatus";
    public const string RemoteScreen = "remoteScreen";
    public const string RemoteFile = "remoteFile";
    public const string RemoteFileStatus = "remoteFileStatus";
    public const string RemoteFileRequest = "remoteFileRequest";
    public const string RemoteFileRequestStatus = "remoteFileRequestStatus";
    public const string RemoteFileUpload = "remoteFileUpload";
    public const string HelpRequest = "helpRequest";
    public const string HelpStatus = "helpStatus";
    public const string SafetyCapture = "safetyCapture";
    public const string SafetyScreenshot = "safetyScreenshot";

    /// <summary>The largest message either side reads (a thumbnail's JPEG or a remote screen update travels base64 inside it).</summary>
    public const int MaxMessageBytes = 320 * 1024;

    /// <summary>The largest remote screen update a helper sends (it splits larger updates; within the server's binary frame limit).</summary>
    public const int MaxRemoteFrameBytes = 192 * 1024;

    /// <summary>The largest thumbnail the service takes from a helper (the helper aims for <see cref="TargetThumbnailBytes"/>).</summary>
    public const int MaxThumbnailBytes = 64 * 1024;

    /// <summary>
    /// The largest safety screenshot a helper sends (it lowers the quality, then halves the width, until it fits): with the
    /// kind-2 header within the server's binary frame limit (256 KB), and base64 in a message within <see cref="MaxMessageBytes"/>.
    /// </summary>
    public const int MaxSafetyScreenshotBytes = 192 * 1024;

    /// <summary>The widest safety screenshot, as the Chrome extension's (scaled down as thumbnails are).</summary>
    public const int SafetyScreenshotMaxWidth = 1280;

    /// <summary>The helper's budget per thumbnail.</summary>
    public const int TargetThumbnailBytes = 15 * 1024;

    public const int MaxText = 4096;
    public const int MaxTitle = 1024;

    /// <summary>Null when <paramref name="message"/> is well formed for a receiver on the <paramref name="fromHelper"/> side, else why not.</summary>
    public static string? Validate(SessionMessage message, bool fromHelper)
    {
        var types = fromHelper
            ? (string[])[Hello, Done, Thumbnail, Foreground, Idle, RemoteStatus, RemoteScreen, RemoteFileStatus, RemoteClipboardContent, RemoteFileRequestStatus, RemoteFileUpload, HelpRequest, SafetyScreenshot]
            : [Welcome, Refused, Lock, Unlock, Message, ScreenView, RemoteSession, RemoteInput, RemoteAck, RemoteClipboard, RemoteClipboardRead, RemoteFile, RemoteFileRequest, HelpStatus, SafetyCapture];
        if (!types.Contains(message.Type, StringComparer.Ordinal))
        {
            return $"unexpected message type '{Cut(message.Type)}'";
        }

        // Clipboard text has its own limit (RemoteLimits.MaxClipboardBytes), checked below.
        if ((message.Text is { Length: > MaxText } && message.Type is not (RemoteClipboard or RemoteClipboardContent)) || message.Title is { Length: > MaxTitle } || message.App is { Length: > MaxTitle } || message.ViewerName is { Length: > MaxTitle })
        {
            return "text too long";
        }

        return message.Type switch
        {
            Hello when message.Display is not { Length: > 0 and <= 64 } => "hello needs a display name of 1 to 64 characters",
            Done when message.Id is null || message.Ok is null => "done needs the command id and ok",
            Thumbnail when message.Image is not { Length: > 3 and <= MaxThumbnailBytes } || message.CapturedAt is null => "thumbnail needs a JPEG of at most 64 KB and its capture time",
            Thumbnail when message.Image is not [0xFF, 0xD8, 0xFF, ..] => "thumbnail is not a JPEG",
            Idle when message.Active is null || message.CapturedAt is null => "idle needs active and the time",
            Lock or Unlock or Message when message.Id is null => $"{message.Type} needs a command id",
            Message when message.Text is not { Length: > 0 } => "message needs text",
            ScreenView when message.Active is null => "screenView needs active",
            ScreenView when message.Active == true && (message.IntervalMilliseconds is not (>= 200 and <= 60_000) || message.MaxWidth is not (>= 16 and <= 1920)) => "screenView needs an interval of 200 to 60,000 ms and a width of 16 to 1,920",
            RemoteSession when message.Id is null || message.Active is null => "remoteSession needs the session id and active",
            RemoteSession when message.Active == true && (!RemoteModes.IsKnown(message.Mode) || message.ConsentRequired is null || message.IntervalMilliseconds is not (>= 50 and <= 1000))
                => "remoteSession needs a mode, consentRequired and an interval of 50 to 1,000 ms",
            RemoteInput when message.Id is null || RemoteLimits.ValidateInput(message.Events, RemoteLimits.MaxScreenSide, RemoteLimits.MaxScreenSide) is not null => "remoteInput needs the session id and valid events",
            RemoteClipboard when message.Id is null || RemoteLimits.ValidateClipboard(message.Text) is not null => "remoteClipboard needs the session id and at most 8 KiB of text without control characters",
            RemoteClipboardRead when message.Id is null || message.Transfer is null => "remoteClipboardRead needs the session id and the read's id",
            RemoteClipboardContent when message.Id is null || message.Transfer is null || message.Ok is not { } sent
                || (sent ? RemoteLimits.ValidateClipboard(message.Text) is not null : message.Text is not { Length: > 0 and <= ProtocolLimits.MaxShortText })
                => "remoteClipboardContent needs the session and read ids, and at most 8 KiB of text without control characters or a short reason",
            RemoteAck when message.Id is null || message.Sequence is not >= 1 => "remoteAck needs the session id and a sequence",
            RemoteStatus when message.Id is null || message.Status is not (RemoteSessionStatuses.Accepted or RemoteSessionStatuses.Declined or RemoteSessionStatuses.Ended)
                || message.Text is { Length: > ProtocolLimits.MaxShortText } => "remoteStatus needs the session id, a known status and a short reason",
            RemoteFile when message.Id is not { } fileSession || message.Transfer is not { } transfer || RemoteFileLimits.Validate(new RemoteFileFrame(
                fileSession, transfer, message.FileName!, message.Size ?? 0, message.Sha256!, message.Offset ?? -1, message.Frame!)) is not null
                => "remoteFile needs the session and transfer ids, a safe name, the size, the SHA-256, the offset and a chunk of at most 32 KiB inside the file",
            RemoteFileRequest when message.Id is null || message.Transfer is null || RemoteFileLimits.ValidateRequestPath(message.Text) is not null || message.Size is not >= 1
                => "remoteFileRequest needs the session and transfer ids, a path relative to the home folder and the size limit",
            RemoteFileRequestStatus when message.Id is null || message.Transfer is null
                || message.Status is not (RemoteFileRequestStatuses.Allowed or RemoteFileRequestStatuses.Denied or RemoteFileRequestStatuses.Refused)
                || message.Text is { Length: > ProtocolLimits.MaxShortText } => "remoteFileRequestStatus needs the session and transfer ids, allowed, denied or refused and a short text",
            RemoteFileUpload when message.Id is not { } uploadSession || message.Transfer is not { } upload || RemoteFileLimits.Validate(new RemoteFileUploadFrame(
                uploadSession, upload, message.FileName!, message.Size ?? 0, message.Sha256!, message.Offset ?? -1, message.Frame!)) is not null
                => "remoteFileUpload needs the session and transfer ids, a safe name, the size, the SHA-256, the offset and a chunk of at most 32 KiB inside the file",
            RemoteFileStatus when message.Id is null || message.Transfer is null || message.Status is not (RemoteFileStatuses.Saved or RemoteFileStatuses.Refused)
                || message.Text is { Length: > ProtocolLimits.MaxShortText } => "remoteFileStatus needs the session and transfer ids, saved or refused and a short text",
            // The same limits as the protocol's helpRequest (HelpRequestLimits), so nothing the service passes on can close its connection.
            HelpRequest when message.Id is null || message.Id == Guid.Empty || message.CapturedAt is null => "helpRequest needs the request id and its time",
            HelpRequest when message.Text is { Length: > HelpRequestLimits.MaxNoteLength } => "helpRequest note too long",
            HelpRequest when message.Image is { } shot && (shot.Length > HelpRequestLimits.MaxScreenshotBytes || !HelpRequestLimits.IsJpeg(shot)) => "helpRequest screenshot must be a JPEG of at most 40,000 bytes",
            HelpStatus when message.Id is null || !HelpDeskStatuses.IsKnown(message.Status) => "helpStatus needs the request id and a known status",
            SafetyCapture when message.Id is null || message.Id == Guid.Empty => "safetyCapture needs the capture id",
            SafetyScreenshot when message.Id is null || message.Id == Guid.Empty || message.Ok is null => "safetyScreenshot needs the capture id and ok",
            SafetyScreenshot when message.Ok == true && (message.Image is not { Length: > 3 and <= MaxSafetyScreenshotBytes } || message.CapturedAt is null)
                => "safetyScreenshot needs a JPEG of at most 192 KiB and its capture time",
            SafetyScreenshot when message.Ok == true && message.Image is not [0xFF, 0xD8, 0xFF, ..] => "safetyScreenshot is not a JPEG",
            SafetyScreenshot when message.Ok == false && (message.Image is not null || message.Text is not { Length: > 0 and <= ProtocolLimits.MaxShortText })
                => "safetyScreenshot without an image needs a short reason and no image",
            RemoteScreen when message.Frame is not { Length: <= MaxRemoteFrameBytes } frame || !RemoteScreenFrame.TryDecode(frame, out _, out _, out _, out _, out _)
                => "remoteScreen needs a well-formed screen update of at most 192 KB",
            _ => null,
        };
    }

    private static string Cut(string? text) => text is null ? string.Empty : text.Length <= 32 ? text : text[..32];
}

/// <summary>
/// Where a student's help request is, as the service tells the helper that sent it (<c>helpStatus</c>): the protocol's
/// <see cref="HelpStatuses"/>, and what only the device knows (waiting for a connection, or not sent).
/// </summary>
public static class HelpDeskStatuses
{
    /// <summary>Kept by the service until the device is online and the server acknowledged it.</summary>
    public const string Waiting = "waiting";

    /// <summary>The server stored nothing: the device has too many open requests (<see cref="HelpRefusals.TooManyOpen"/>).</summary>
    public const string TooManyOpen = HelpRefusals.TooManyOpen;

    /// <summary>The service kept nothing: as many requests as it keeps are already waiting to be sent.</summary>
    public const string TooManyWaiting = "tooManyWaiting";

    public static bool IsKnown(string? status) =>
        status is Waiting or TooManyOpen or TooManyWaiting || (status is not null && HelpStatuses.All.Contains(status, StringComparer.Ordinal));

    /// <summary>What the student reads (the same words as the Chrome extension's help page).</summary>
    public static string Describe(string status, bool taken) => status switch
    {
        Waiting => "Saved: it goes as soon as this device is back online.",
        TooManyOpen => "Not sent: you already have several requests waiting. Ask your teacher.",
        TooManyWaiting => "Not sent: several requests are already waiting to go. Ask your teacher.",
        HelpStatuses.WithTeacher => taken ? "Your teacher is on it." : "Sent to your teacher.",
        HelpStatuses.Escalated => taken ? "IT is on it." : "Your teacher passed it to IT.",
        HelpStatuses.ItQueue => taken ? "IT is on it." : "Sent to IT.",
        HelpStatuses.Resolved => "Resolved.",
        _ => status,
    };
}
