namespace Homeroom.Server.SelfUpdates;

internal static partial class AgentUpdatesLog
{
    [LoggerMessage(EventId = 27001, Level = LogLevel.Information, Message = "Device {DeviceId} runs agent {Version}; offered {Target} (command {CommandId})")]
    public static partial void Offered(ILogger logger, Guid deviceId, string version, string target, Guid commandId);

    [LoggerMessage(EventId = 27002, Level = LogLevel.Warning, Message = "The agent update for device {DeviceId} could not be issued: {Reason}")]
    public static partial void OfferFailed(ILogger logger, Guid deviceId, string reason);

    [LoggerMessage(EventId = 27003, Level = LogLevel.Information, Message = "Agent build {Rid} {Version} stored ({Size} bytes, SHA-256 {Sha256})")]
    public static partial void Stored(ILogger logger, string rid, string version, long size, string sha256);

    [LoggerMessage(EventId = 27004, Level = LogLevel.Information, Message = "Device {DeviceId}: {Count} waiting agent update offer(s) expired (a build it should no longer take)")]
    public static partial void StaleExpired(ILogger logger, Guid deviceId, int count);

    [LoggerMessage(EventId = 27005, Level = LogLevel.Information, Message = "Agent build {Rid} {Version}: pilot {Action} (group {Group})")]
    public static partial void Pilot(ILogger logger, string rid, string version, string action, string group);
}
