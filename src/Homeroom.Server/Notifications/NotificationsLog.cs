namespace Homeroom.Server.Notifications;

internal static partial class NotificationsLog
{
    [LoggerMessage(EventId = 9601, Level = LogLevel.Warning, Message = "The notification queue is full; {Kind} notification {SubjectId} is not sent by e-mail or webhook")]
    public static partial void OutboundQueueFull(ILogger logger, string kind, Guid subjectId);

    [LoggerMessage(EventId = 9602, Level = LogLevel.Warning, Message = "The delivery queue is full; a {Channel} delivery of notification {SubjectId} is dropped")]
    public static partial void DeliveryQueueFull(ILogger logger, string channel, Guid subjectId);

    [LoggerMessage(EventId = 9603, Level = LogLevel.Information, Message = "{Channel} delivery of notification {SubjectId} for school {SchoolId} succeeded: {Result}")]
    public static partial void Delivered(ILogger logger, string channel, Guid subjectId, Guid schoolId, string result);

    [LoggerMessage(EventId = 9604, Level = LogLevel.Warning, Message = "{Channel} delivery of notification {SubjectId} for school {SchoolId} failed on attempt {Attempt}: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, string channel, Guid subjectId, Guid schoolId, int attempt, string reason);

    [LoggerMessage(EventId = 9605, Level = LogLevel.Error, Message = "{Channel} delivery of notification {SubjectId} for school {SchoolId} failed: {Result}")]
    public static partial void DeliveryFailed(ILogger logger, string channel, Guid subjectId, Guid schoolId, string result);

    [LoggerMessage(EventId = 9606, Level = LogLevel.Error, Message = "Preparing the deliveries of notification {SubjectId} failed")]
    public static partial void PrepareFailed(ILogger logger, Guid subjectId, Exception exception);

    [LoggerMessage(EventId = 9607, Level = LogLevel.Error, Message = "Recording the result of a delivery for school {SchoolId} failed")]
    public static partial void RecordFailed(ILogger logger, Guid schoolId, Exception exception);

    [LoggerMessage(EventId = 9608, Level = LogLevel.Warning, Message = "Writing {Count} notification change(s) for the other nodes failed ({Message}); their open pages miss them")]
    public static partial void ClusterWriteFailed(ILogger logger, int count, string message);

    [LoggerMessage(EventId = 9609, Level = LogLevel.Warning, Message = "The queue of notification changes for the other nodes is full; {Kind} {SubjectId} is not shown there")]
    public static partial void ClusterQueueFull(ILogger logger, string kind, Guid subjectId);

    [LoggerMessage(EventId = 9610, Level = LogLevel.Warning, Message = "A cluster notification row that is not Homeroom's was ignored (row {RowId}, {Length} characters)")]
    public static partial void ClusterRowMalformed(ILogger logger, Guid rowId, int length);
}
