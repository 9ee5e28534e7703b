using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Session;

internal static partial class SessionLog
{
    [LoggerMessage(101, LogLevel.Information, "Listening for user-session helpers on {Name}")]
    public static partial void Listening(ILogger logger, string name);

    [LoggerMessage(102, LogLevel.Error, "Cannot listen for user-session helpers on {Name}: {Reason}")]
    public static partial void ListenFailed(ILogger logger, string name, string reason);

    [LoggerMessage(103, LogLevel.Warning, "Refused a session helper (pid {ProcessId}, uid {UserId}): {Reason}")]
    public static partial void HelperRefused(ILogger logger, int processId, uint userId, string reason);

    [LoggerMessage(104, LogLevel.Information, "Session helper connected (pid {ProcessId}, uid {UserId}) for display {Display}")]
    public static partial void HelperConnected(ILogger logger, int processId, uint userId, string display);

    [LoggerMessage(105, LogLevel.Information, "Session helper for display {Display} disconnected")]
    public static partial void HelperDisconnected(ILogger logger, string display);

    [LoggerMessage(106, LogLevel.Warning, "Session helper (pid {ProcessId}) broke the channel's rules: {Reason}")]
    public static partial void HelperBrokeProtocol(ILogger logger, int processId, string reason);

    [LoggerMessage(107, LogLevel.Error, "Refused to serve: the peer on @{Name} is pid {ProcessId}, uid {UserId}, not the Homeroom service")]
    public static partial void NotTheService(ILogger logger, string name, int processId, uint userId);

    [LoggerMessage(108, LogLevel.Error, "The Homeroom service refused this helper: {Reason}")]
    public static partial void RefusedByService(ILogger logger, string reason);

    [LoggerMessage(109, LogLevel.Information, "Connected to the Homeroom service for display {Display}")]
    public static partial void ConnectedToService(ILogger logger, string display);

    [LoggerMessage(110, LogLevel.Warning, "{Kind} failed: {Reason}")]
    public static partial void CommandFailed(ILogger logger, string kind, string reason);

    [LoggerMessage(111, LogLevel.Warning, "The technician's clipboard text could not be set: {Reason}")]
    public static partial void ClipboardFailed(ILogger logger, string reason);

    [LoggerMessage(112, LogLevel.Information, "A file from the technician ({Name}): {Status}, {Detail}")]
    public static partial void FileOutcome(ILogger logger, string name, string status, string detail);

    [LoggerMessage(113, LogLevel.Information, "Help request {RequestId} from display {Display} (note: {HasNote}, screenshot: {HasScreenshot}): {Status}")]
    public static partial void HelpRequested(ILogger logger, string display, Guid requestId, bool hasNote, bool hasScreenshot, string status);

    [LoggerMessage(114, LogLevel.Warning, "Cannot listen for help window requests on @{Name}: {Reason}")]
    public static partial void HelpListenFailed(ILogger logger, string name, string reason);

    [LoggerMessage(115, LogLevel.Warning, "The help request could not be sent to the service: {Reason}")]
    public static partial void HelpNotSent(ILogger logger, string reason);

    [LoggerMessage(116, LogLevel.Information, "The technician read the clipboard: {Outcome}")]
    public static partial void ClipboardRead(ILogger logger, string outcome);

    [LoggerMessage(117, LogLevel.Information, "The technician asked for the file {Path}: {Status}, {Detail}")]
    public static partial void FileRequestOutcome(ILogger logger, string path, string status, string detail);

    [LoggerMessage(118, LogLevel.Information, "{Count} help request(s) made while offline were kept through the restart and wait to be sent")]
    public static partial void HelpRequestsReloaded(ILogger logger, int count);

    [LoggerMessage(119, LogLevel.Warning, "The kept help requests ({File}) could not be read and start empty: {Reason}")]
    public static partial void HelpRequestsUnreadable(ILogger logger, string file, string reason);

    [LoggerMessage(120, LogLevel.Warning, "The kept help requests held more than {Capacity}: dropped {Count} oldest, {Total} in all")]
    public static partial void HelpRequestsDropped(ILogger logger, int capacity, int count, long total);

    [LoggerMessage(121, LogLevel.Debug, "Safety screenshot {CaptureId} not sent ({Outcome}): {Reason}")]
    public static partial void SafetyScreenshotNotSent(ILogger logger, Guid captureId, SafetyCaptureOutcome outcome, string reason);

    [LoggerMessage(122, LogLevel.Information, "Safety screenshot {CaptureId} sent ({Bytes} bytes)")]
    public static partial void SafetyScreenshotSent(ILogger logger, Guid captureId, int bytes);

    [LoggerMessage(123, LogLevel.Warning, "Lost the connection to the Homeroom service ({Kind}: {Reason}); connecting again")]
    public static partial void LostService(ILogger logger, string kind, string reason);
}
