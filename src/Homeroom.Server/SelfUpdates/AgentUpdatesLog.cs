namespace Homeroom.Server.SelfUpdates;

internal static partial class AgentUpdatesLog
{
    [LoggerMessage(EventId = 27001, Level = LogLevel.Information, Message = "Device {DeviceId} runs agent {Version}; offered {Target} (command {CommandId})")]
    public static partial void Offered(ILogger logger, Guid deviceId, string version, string target, Guid commandId);

    [LoggerMessage(EventId = 27002, Level = LogLevel.Warning, Message = "The agent update for device {DeviceId} could not be issued: {Reason}")]
    public static partial void OfferFailed(ILogger logger, Guid deviceId, string reason);

    [LoggerMessage(EventId = 27003, Level = LogLevel.Information, Message = "Agent build {Rid} {Version} stored ({Size} bytes, SHA-256 {Sha256})")]
    public static partial void Stored(ILogger logger, string rid, string version, long size, string sha256);
}
