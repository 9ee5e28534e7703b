namespace Homeroom.Server.Diagnostics;

internal static partial class DiagnosticsLog
{
    [LoggerMessage(EventId = 19001, Level = LogLevel.Warning, Message = "Device {DeviceId} sent a diagnostics report for command {CommandId}, which is not a diagnose command sent to it: ignored")]
    public static partial void UnknownCommand(ILogger logger, Guid deviceId, Guid commandId);

    [LoggerMessage(EventId = 19002, Level = LogLevel.Information, Message = "Stored the diagnostics report of device {DeviceId} for command {CommandId} ({Failed} failed check(s))")]
    public static partial void Stored(ILogger logger, Guid deviceId, Guid commandId, int failed);
}
