namespace Homeroom.Server.Scripts;

internal static partial class ScriptsLog
{
    [LoggerMessage(EventId = 20001, Level = LogLevel.Warning, Message = "Device {DeviceId} sent a script result for command {CommandId}, which is not a runScript command sent to it: ignored")]
    public static partial void UnknownCommand(ILogger logger, Guid deviceId, Guid commandId);

    [LoggerMessage(EventId = 20002, Level = LogLevel.Information, Message = "Stored the script result of device {DeviceId} for command {CommandId} (exit code {ExitCode}, timed out {TimedOut})")]
    public static partial void Stored(ILogger logger, Guid deviceId, Guid commandId, int? exitCode, bool timedOut);

    [LoggerMessage(EventId = 20003, Level = LogLevel.Information, Message = "Created the script-signing key in {Path}")]
    public static partial void KeyCreated(ILogger logger, string path);
}
