namespace Homeroom.Server.Hosting.Cluster;

internal static partial class BackplaneLog
{
    [LoggerMessage(EventId = 9751, Level = LogLevel.Information, Message = "Backplane: node {Node} listening for other nodes on PostgreSQL channel {Channel}")]
    public static partial void Listening(ILogger logger, string node, string channel);

    [LoggerMessage(EventId = 9752, Level = LogLevel.Warning, Message = "Backplane: the listener lost PostgreSQL ({Message}); connecting again in {Delay}")]
    public static partial void ListenerLost(ILogger logger, string message, TimeSpan delay);

    [LoggerMessage(EventId = 9753, Level = LogLevel.Warning, Message = "Backplane: publishing {Count} notification(s) failed ({Message}); trying again in {Delay}, then every node sweeps")]
    public static partial void PublishFailed(ILogger logger, int count, string message, TimeSpan delay);

    [LoggerMessage(EventId = 9754, Level = LogLevel.Warning, Message = "Backplane: a notification that is not Homeroom's was ignored ({Length} characters)")]
    public static partial void Malformed(ILogger logger, int length);

    [LoggerMessage(EventId = 9755, Level = LogLevel.Warning, Message = "Backplane: {What} overflowed its limit; the nodes sweep instead")]
    public static partial void Overflow(ILogger logger, string what);

    [LoggerMessage(EventId = 9756, Level = LogLevel.Information, Message = "Backplane: device {DeviceId} connected to node {Node}; its older connection here is closed")]
    public static partial void ReplacedElsewhere(ILogger logger, Guid deviceId, string node);

    [LoggerMessage(EventId = 9757, Level = LogLevel.Information, Message = "Backplane: swept {Devices} connected device(s), {Pending} with pending commands")]
    public static partial void Swept(ILogger logger, int devices, int pending);

    [LoggerMessage(EventId = 9758, Level = LogLevel.Error, Message = "Backplane: delivering pending commands after a notification failed")]
    public static partial void DeliveryFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 9759, Level = LogLevel.Warning, Message = "Backplane: the classroom across nodes failed {What}; it is tried again shortly")]
    public static partial void ClassroomSyncFailed(ILogger logger, string what, Exception exception);

    [LoggerMessage(EventId = 9760, Level = LogLevel.Information, Message = "Backplane: node {Node} went silent; its {Devices} device(s) show offline here until it is heard again")]
    public static partial void NodeSilent(ILogger logger, string node, int devices);

    [LoggerMessage(EventId = 9761, Level = LogLevel.Information, Message = "Backplane: the sweep found {Count} device(s) connected here with a newer connection on another node (its connect notice was missed); closed their connections here")]
    public static partial void ReplacedFoundBySweep(ILogger logger, int count);
}
