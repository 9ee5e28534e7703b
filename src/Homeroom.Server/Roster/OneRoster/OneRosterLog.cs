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

    [LoggerMessage(EventId = 20005, Level = LogLevel.Warning, Message = "OneRoster REST {Collection}: {Problem}; retrying in {Seconds} s")]
    public static partial void RestRetry(ILogger logger, string collection, string problem, double seconds);

    [LoggerMessage(EventId = 20006, Level = LogLevel.Warning, Message = "OneRoster sync started by {Trigger} failed: {Reason}")]
    public static partial void SyncFailed(ILogger logger, string trigger, string reason);

    [LoggerMessage(EventId = 20007, Level = LogLevel.Information, Message = "OneRoster sync started by {Trigger}: import {ImportId} {State} in {ElapsedMs} ms")]
    public static partial void Synced(ILogger logger, string trigger, Guid importId, string state, long elapsedMs);

    [LoggerMessage(EventId = 20008, Level = LogLevel.Warning, Message = "OneRoster sync {ImportId} held at its preview: {Reason}")]
    public static partial void Held(ILogger logger, Guid importId, string reason);

    [LoggerMessage(EventId = 20009, Level = LogLevel.Information, Message = "OneRoster connection saved by {User}: {Version} at {BaseUrl}, schedule {ScheduleHours} h")]
    public static partial void ConnectionSaved(ILogger logger, string user, string version, string baseUrl, int? scheduleHours);
}
