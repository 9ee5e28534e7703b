namespace Homeroom.Server.Agents;

internal static partial class AgentsLog
{
    [LoggerMessage(EventId = 3021, Level = LogLevel.Information, Message = "{Connects} agents connected since the last compaction and the connecting stopped: a full collection took {PauseMilliseconds:F0} ms, the managed heap went from {HeapBeforeMegabytes:F0} MB to {HeapAfterMegabytes:F0} MB and the memory the GC holds from {CommittedBeforeMegabytes:F0} MB to {CommittedAfterMegabytes:F0} MB")]
    public static partial void StormCompacted(ILogger logger, long connects, double pauseMilliseconds, double heapBeforeMegabytes, double heapAfterMegabytes, double committedBeforeMegabytes, double committedAfterMegabytes);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Warning, Message = "The agent of device {DeviceId} is not reporting while the computer runs: alert {Kind} raised")]
    public static partial void AgentAway(ILogger logger, Guid deviceId, string kind);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Agent {DeviceId} connected from {RemoteAddress}")]
    public static partial void Connected(ILogger logger, Guid deviceId, string? remoteAddress);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Agent {DeviceId} disconnected (close {CloseCode}: {Reason})")]
    public static partial void Disconnected(ILogger logger, Guid deviceId, int? closeCode, string? reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Agent connection from {RemoteAddress} rejected before authentication: {CloseCode} {Reason}")]
    public static partial void Rejected(ILogger logger, string? remoteAddress, int closeCode, string reason);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Agent {DeviceId} closed for a protocol violation: {CloseCode} {Reason}")]
    public static partial void Violation(ILogger logger, Guid deviceId, int closeCode, string reason);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Agent connection ended abruptly: {Message}")]
    public static partial void Aborted(ILogger logger, string message);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Device {DeviceId} enrolled ({Platform} {Serial}, re-enrollment: {Reenrolled})")]
    public static partial void Enrolled(ILogger logger, Guid deviceId, string platform, string serial, bool reenrolled);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Enrollment refused from {RemoteAddress}: {Reason}")]
    public static partial void EnrollmentRefused(ILogger logger, string? remoteAddress, string reason);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Error, Message = "Agent connection failed with an unexpected error")]
    public static partial void ServerFault(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "Enrollment that would take over device {DeviceId} refused from {RemoteAddress}: {Reason}")]
    public static partial void TakeoverRefused(ILogger logger, Guid deviceId, string? remoteAddress, string reason);
}
