namespace Homeroom.Server.Support;

internal static partial class SupportLog
{
    [LoggerMessage(EventId = 28001, Level = LogLevel.Information, Message = "Help request {RequestId} reached the IT queue: asked device {DeviceId} for diagnostics (command {CommandId})")]
    public static partial void DiagnosticsRequested(ILogger logger, Guid requestId, Guid deviceId, Guid commandId);

    [LoggerMessage(EventId = 28002, Level = LogLevel.Warning, Message = "Help request {RequestId} reached the IT queue, but device {DeviceId} could not be asked for diagnostics; the request stands")]
    public static partial void DiagnosticsNotRequested(ILogger logger, Guid requestId, Guid deviceId, Exception exception);
}
