namespace Homeroom.Server.Roster.Rollover;

internal static partial class RolloverLog
{
    [LoggerMessage(EventId = 21001, Level = LogLevel.Information, Message = "School year rollover applied by {User} (school {SchoolId}): {Promoted} promoted, {Graduated} graduated, {Classes} class(es) archived in {ElapsedMs} ms")]
    public static partial void Applied(ILogger logger, string user, Guid? schoolId, int promoted, int graduated, int classes, long elapsedMs);

    [LoggerMessage(EventId = 21002, Level = LogLevel.Warning, Message = "School year rollover by {User} refused: one was applied at {PreviousAt:o}")]
    public static partial void Refused(ILogger logger, string user, DateTime previousAt);
}
