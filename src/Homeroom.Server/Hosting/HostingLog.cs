namespace Homeroom.Server.Hosting;

internal static partial class HostingLog
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Error, Message = "{Writer} failed to write a batch of {Count} (attempt {Attempt}); retrying")]
    public static partial void BatchWriteFailed(ILogger logger, string writer, int count, int attempt, Exception exception);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Error, Message = "{Task} failed")]
    public static partial void MaintenanceFailed(ILogger logger, string task, Exception exception);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Information, Message = "{Task} removed {Count} rows")]
    public static partial void RetentionPurged(ILogger logger, string task, int count);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Error, Message = "{Writer} dropped {Item}: the database refused its data")]
    public static partial void ItemRejected(ILogger logger, string writer, string item, Exception exception);

    [LoggerMessage(EventId = 9007, Level = LogLevel.Information, Message = "Stopping: /readyz answers 503; agents stay connected {Seconds:F1} s more so the load balancer can take this node out first")]
    public static partial void Draining(ILogger logger, double seconds);
}
