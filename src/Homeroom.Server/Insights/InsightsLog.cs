namespace Homeroom.Server.Insights;

internal static partial class InsightsLog
{
    [LoggerMessage(EventId = 15001, Level = LogLevel.Warning, Message = "Time zone {Zone} is unknown here; insight rollups file its events by UTC days")]
    public static partial void UnknownTimeZone(ILogger logger, string zone);

    [LoggerMessage(EventId = 15002, Level = LogLevel.Information, Message = "Rebuilding insight rollups: {Done} raw events folded")]
    public static partial void RebuildProgress(ILogger logger, long done);

    [LoggerMessage(EventId = 15003, Level = LogLevel.Information, Message = "Deleted {Count} insight rollup rows past retention")]
    public static partial void RetentionPurged(ILogger logger, int count);

    [LoggerMessage(EventId = 15004, Level = LogLevel.Debug, Message = "Folded {Count} activity events into the insight rollups")]
    public static partial void Folded(ILogger logger, long count);

    [LoggerMessage(EventId = 15005, Level = LogLevel.Warning, Message = "Folding activity events into the insight rollups failed; trying again shortly")]
    public static partial void FoldFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 15006, Level = LogLevel.Debug, Message = "Wrote {Rows} insight rollup rows in {Milliseconds} ms")]
    public static partial void Flushed(ILogger logger, long rows, double milliseconds);

    [LoggerMessage(EventId = 15007, Level = LogLevel.Information, Message = "Filled the district insight rollups from the school rollups: {Rows} rows")]
    public static partial void DistrictFilled(ILogger logger, long rows);
}
