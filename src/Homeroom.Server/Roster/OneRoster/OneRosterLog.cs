namespace Homeroom.Server.Roster.OneRoster;

internal static partial class OneRosterLog
{
    [LoggerMessage(EventId = 20001, Level = LogLevel.Information, Message = "OneRoster import {ImportId} previewed by {User}: {Changes} change(s), {Errors} error(s)")]
    public static partial void Previewed(ILogger logger, Guid importId, string user, int changes, int errors);

    [LoggerMessage(EventId = 20002, Level = LogLevel.Warning, Message = "OneRoster upload by {User} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string user, string reason);

    [LoggerMessage(EventId = 20003, Level = LogLevel.Information, Message = "OneRoster import {ImportId} applied by {User}: {Changes} change(s) in {ElapsedMs} ms")]
    public static partial void Applied(ILogger logger, Guid importId, string user, int changes, long elapsedMs);

    [LoggerMessage(EventId = 20004, Level = LogLevel.Warning, Message = "OneRoster import {ImportId} not applied: the roster changed since its preview, which was computed again")]
    public static partial void Stale(ILogger logger, Guid importId);
}
