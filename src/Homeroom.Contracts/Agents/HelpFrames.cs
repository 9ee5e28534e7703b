namespace Homeroom.Contracts.Agents;

/// <summary>
/// A student asks for help from their device. Sent once per press of "I need help"; an agent that
/// loses its connection before the <see cref="HelpRequestAckFrame"/> sends the same frame again (same
/// <see cref="RequestId"/>), and the server stores it only once.
/// </summary>
/// <param name="RequestId">Chosen by the agent (a random UUID); identifies the request to the device.</param>
/// <param name="CreatedAt">When the student pressed the button.</param>
/// <param name="Note">What the student wrote, at most <see cref="HelpRequestLimits.MaxNoteLength"/> characters.</param>
/// <param name="Screenshot">A JPEG of the current tab, only when the student chose to attach it; at most <see cref="HelpRequestLimits.MaxScreenshotBytes"/> bytes (base64 on the wire).</param>
public sealed record HelpRequestFrame(Guid RequestId, DateTimeOffset CreatedAt, string? Note = null, byte[]? Screenshot = null) : AgentFrame;

/// <summary>The answer to a <see cref="HelpRequestFrame"/>: stored (with where it went) or refused.</summary>
/// <param name="RequestId">The agent's request id.</param>
/// <param name="Status">See <see cref="HelpStatuses"/>; absent when refused.</param>
/// <param name="Refused">Why nothing was stored (<see cref="HelpRefusals"/>); absent when stored.</param>
public sealed record HelpRequestAckFrame(Guid RequestId, string? Status = null, string? Refused = null) : AgentFrame;

/// <summary>A help request of this device changed; sent live and again on connecting for recent requests.</summary>
/// <param name="RequestId">The agent's request id.</param>
/// <param name="Status">See <see cref="HelpStatuses"/>.</param>
/// <param name="Taken">True once someone (the teacher or a technician) has taken it.</param>
public sealed record HelpStatusFrame(Guid RequestId, string Status, bool Taken) : AgentFrame;

/// <summary>Where a help request is.</summary>
public static class HelpStatuses
{
    /// <summary>With the teacher of the class in session when it was sent.</summary>
    public const string WithTeacher = "withTeacher";
    /// <summary>The teacher sent it on to the school's IT queue.</summary>
    public const string Escalated = "escalated";
    /// <summary>In the school's IT queue (no class was in session).</summary>
    public const string ItQueue = "itQueue";
    /// <summary>Done.</summary>
    public const string Resolved = "resolved";

    /// <summary>Every status.</summary>
    public static readonly IReadOnlyList<string> All = [WithTeacher, Escalated, ItQueue, Resolved];
}

/// <summary>Why a help request was not stored.</summary>
public static class HelpRefusals
{
    /// <summary>The device already has as many open requests as allowed; it may ask again once one is resolved.</summary>
    public const string TooManyOpen = "tooManyOpen";
}

/// <summary>The limits of a <see cref="HelpRequestFrame"/>, and its check.</summary>
public static class HelpRequestLimits
{
    /// <summary>Longest note, in characters.</summary>
    public const int MaxNoteLength = 500;

    /// <summary>Largest screenshot, in bytes (its base64 fits a 64 KiB text frame).</summary>
    public const int MaxScreenshotBytes = 40_000;

    /// <summary>Returns null when the frame is valid, otherwise a short reason fit for a close message.</summary>
    public static string? Validate(HelpRequestFrame f)
    {
        if (f.RequestId == Guid.Empty)
        {
            return "help requestId missing";
        }

        if (f.CreatedAt == default)
        {
            return "help createdAt missing";
        }

        if (f.Note is { Length: > MaxNoteLength })
        {
            return "help note too long";
        }

        if (f.Screenshot is { } image)
        {
            if (image.Length > MaxScreenshotBytes)
            {
                return "help screenshot too large";
            }

            if (!IsJpeg(image))
            {
                return "help screenshot is not a JPEG";
            }
        }

        return null;
    }

    /// <summary>Starts with the JPEG start-of-image and frame marker and ends with end-of-image.</summary>
    public static bool IsJpeg(ReadOnlySpan<byte> image) =>
        image.Length >= 8 && image[0] == 0xFF && image[1] == 0xD8 && image[2] == 0xFF && image[^2] == 0xFF && image[^1] == 0xD9;
}
