namespace Homeroom.Server.Apps;

internal static partial class AppsLog
{
    [LoggerMessage(EventId = 1601, Level = LogLevel.Information, Message = "App status pass: {Rows} row(s), {Installs} install(s), {Removals} removal(s), {Lists} app list request(s), {Dropped} dropped")]
    public static partial void Pass(ILogger logger, int rows, int installs, int removals, int lists, int dropped);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "App status pass stopped: another server wrote the same rows first; the next pass continues")]
    public static partial void PassConflict(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Error, Message = "App status pass started by an assignment change failed")]
    public static partial void NudgeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Warning, Message = "Could not send {Kind} for app {AppId} to {Count} device(s): {Reason}")]
    public static partial void CommandRefused(ILogger logger, string kind, Guid appId, int count, string reason);

    [LoggerMessage(EventId = 1605, Level = LogLevel.Warning, Message = "Removed app {AppId}: Apple did not take back its licence from {Serial}: {Outcome} {Reason}")]
    public static partial void ReleaseRefused(ILogger logger, Guid appId, string serial, VolumeLicenceOutcome outcome, string? reason);
}
