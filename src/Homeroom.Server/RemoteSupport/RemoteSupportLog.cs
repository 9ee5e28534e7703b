namespace Homeroom.Server.RemoteSupport;

internal static partial class RemoteSupportLog
{
    [LoggerMessage(EventId = 22001, Level = LogLevel.Information, Message = "Remote session {SessionId} on device {DeviceId} started by {Technician} ({Mode})")]
    public static partial void Started(ILogger logger, Guid sessionId, Guid deviceId, string technician, string mode);

    [LoggerMessage(EventId = 22002, Level = LogLevel.Information, Message = "Remote session {SessionId}: the device answered {Consent}")]
    public static partial void Answered(ILogger logger, Guid sessionId, string consent);

    [LoggerMessage(EventId = 22003, Level = LogLevel.Information, Message = "Remote session {SessionId} on device {DeviceId} ended: {Reason}")]
    public static partial void Ended(ILogger logger, Guid sessionId, Guid deviceId, string reason);

    [LoggerMessage(EventId = 22004, Level = LogLevel.Warning, Message = "Remote session {SessionId} could not be stored: {Error}")]
    public static partial void SaveFailed(ILogger logger, Guid sessionId, string error);

    [LoggerMessage(EventId = 22005, Level = LogLevel.Warning, Message = "Remote session {SessionId}: the console broke a rule ({Code}: {Reason}); the session ends")]
    public static partial void ViewerViolation(ILogger logger, Guid sessionId, int code, string reason);

    [LoggerMessage(EventId = 22006, Level = LogLevel.Information, Message = "Remote session {SessionId}: file {Name} ({Size} bytes, SHA-256 {Sha256}) sent to the device")]
    public static partial void FileSent(ILogger logger, Guid sessionId, string name, long size, string sha256);

    [LoggerMessage(EventId = 22007, Level = LogLevel.Information, Message = "Remote session {SessionId}: file {Name} ({Size} bytes, SHA-256 {Sha256}) received from the device")]
    public static partial void FileReceived(ILogger logger, Guid sessionId, string name, long size, string sha256);
}
