namespace Homeroom.Server.Insights;

internal static partial class InsightsReportsLog
{
    [LoggerMessage(EventId = 9851, Level = LogLevel.Warning, Message = "Recording classroom use of class {GroupId} failed")]
    public static partial void UsageRecordFailed(ILogger logger, Guid groupId, Exception exception);

    [LoggerMessage(EventId = 9852, Level = LogLevel.Information, Message = "Scheduled report {ScheduleId} ({Report}) due at {DueAt:u} sent: {Result}")]
    public static partial void ScheduledReportSent(ILogger logger, Guid scheduleId, string report, DateTime dueAt, string result);

    [LoggerMessage(EventId = 9853, Level = LogLevel.Error, Message = "Scheduled report {ScheduleId} ({Report}) due at {DueAt:u} failed: {Result}")]
    public static partial void ScheduledReportFailed(ILogger logger, Guid scheduleId, string report, DateTime dueAt, string result);
}
