using System.Text.Json;
using System.Text.Json.Serialization;

namespace Homeroom.Agent.Session;

/// <summary>
/// One message on the local channel between the service and the user-session helper (length-prefixed
/// JSON, <see cref="SessionChannel"/>). Which fields a type carries, and their limits, are checked by
/// <see cref="SessionMessages.Validate"/> on the receiving side.
/// </summary>
/// <param name="Type">helper → service: <c>hello</c>, <c>done</c>, <c>thumbnail</c>, <c>foreground</c>; service → helper: <c>welcome</c>, <c>refused</c>, <c>lock</c>, <c>unlock</c>, <c>message</c>, <c>screenView</c>.</param>
/// <param name="Id">The command a <c>lock</c>, <c>unlock</c>, <c>message</c> or <c>done</c> is about.</param>
/// <param name="Display">The X display the helper serves (<c>hello</c>); one helper per display.</param>
/// <param name="Title">A message's title, or the foreground window's title.</param>
/// <param name="Text">A lock's or a message's text, or the result of a <c>done</c>.</param>
/// <param name="Ok">Whether a command was carried out (<c>done</c>).</param>
/// <param name="Active">Whether a teacher watches (<c>screenView</c>).</param>
/// <param name="ViewerName">Who watches, for the banner.</param>
/// <param name="IntervalMilliseconds">Time between thumbnails.</param>
/// <param name="MaxWidth">A thumbnail's largest width in pixels.</param>
/// <param name="App">The foreground window's application (its WM_CLASS class).</param>
/// <param name="Image">A thumbnail's JPEG (base64 in the JSON).</param>
/// <param name="CapturedAt">When the thumbnail was captured.</param>
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
    DateTimeOffset? CapturedAt = null);

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

    /// <summary>The largest message either side reads (a thumbnail's JPEG travels base64 inside it).</summary>
    public const int MaxMessageBytes = 128 * 1024;

    /// <summary>The largest thumbnail the service takes from a helper (the helper aims for <see cref="TargetThumbnailBytes"/>).</summary>
    public const int MaxThumbnailBytes = 64 * 1024;

    /// <summary>The helper's budget per thumbnail.</summary>
    public const int TargetThumbnailBytes = 15 * 1024;

    public const int MaxText = 4096;
    public const int MaxTitle = 1024;

    /// <summary>Null when <paramref name="message"/> is well formed for a receiver on the <paramref name="fromHelper"/> side, else why not.</summary>
    public static string? Validate(SessionMessage message, bool fromHelper)
    {
        var types = fromHelper ? (string[])[Hello, Done, Thumbnail, Foreground] : [Welcome, Refused, Lock, Unlock, Message, ScreenView];
        if (!types.Contains(message.Type, StringComparer.Ordinal))
        {
            return $"unexpected message type '{Cut(message.Type)}'";
        }

        if (message.Text is { Length: > MaxText } || message.Title is { Length: > MaxTitle } || message.App is { Length: > MaxTitle } || message.ViewerName is { Length: > MaxTitle })
        {
            return "text too long";
        }

        return message.Type switch
        {
            Hello when message.Display is not { Length: > 0 and <= 64 } => "hello needs a display name of 1 to 64 characters",
            Done when message.Id is null || message.Ok is null => "done needs the command id and ok",
            Thumbnail when message.Image is not { Length: > 3 and <= MaxThumbnailBytes } || message.CapturedAt is null => "thumbnail needs a JPEG of at most 64 KB and its capture time",
            Thumbnail when message.Image is not [0xFF, 0xD8, 0xFF, ..] => "thumbnail is not a JPEG",
            Lock or Unlock or Message when message.Id is null => $"{message.Type} needs a command id",
            Message when message.Text is not { Length: > 0 } => "message needs text",
            ScreenView when message.Active is null => "screenView needs active",
            ScreenView when message.Active == true && (message.IntervalMilliseconds is not (>= 200 and <= 60_000) || message.MaxWidth is not (>= 16 and <= 1920)) => "screenView needs an interval of 200 to 60,000 ms and a width of 16 to 1,920",
            _ => null,
        };
    }

    private static string Cut(string? text) => text is null ? string.Empty : text.Length <= 32 ? text : text[..32];
}
