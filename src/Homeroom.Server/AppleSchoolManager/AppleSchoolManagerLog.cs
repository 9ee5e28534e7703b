namespace Homeroom.Server.AppleSchoolManager;

/// <summary>Log messages of the Apple School Manager feature (event ids 16001 to 16099).</summary>
internal static partial class AppleSchoolManagerLog
{
    [LoggerMessage(EventId = 16001, Level = LogLevel.Warning, Message = "Apple answered {Status} to {Path}; waiting {Seconds} s (Retry-After)")]
    public static partial void Throttled(ILogger logger, string path, int status, double seconds);

    [LoggerMessage(EventId = 16002, Level = LogLevel.Information, Message = "Apple refused the ADM session for {Path}; asking for a new one")]
    public static partial void SessionRenewed(ILogger logger, string path);

    [LoggerMessage(EventId = 16003, Level = LogLevel.Warning, Message = "Automated enrollment sync stopped ({Failure}): {Reason}; what was stored stays, the next run goes on from there")]
    public static partial void SyncStopped(ILogger logger, AppleFailure failure, string reason);

    [LoggerMessage(EventId = 16004, Level = LogLevel.Warning, Message = "Apple no longer knows the sync cursor ({Code}); fetching every device again")]
    public static partial void CursorExpired(ILogger logger, string code);

    [LoggerMessage(EventId = 16005, Level = LogLevel.Information, Message = "Defined the automated enrollment profile {ProfileUuid} at Apple")]
    public static partial void ProfileDefined(ILogger logger, string profileUuid);

    [LoggerMessage(EventId = 16006, Level = LogLevel.Warning, Message = "Apps and Books request for {AdamId} did not succeed ({Failure}): {Reason}")]
    public static partial void LicenceRequestFailed(ILogger logger, string adamId, AppleFailure failure, string reason);

    [LoggerMessage(EventId = 16007, Level = LogLevel.Error, Message = "The Apple School Manager schedule failed; it runs again at its next interval")]
    public static partial void ScheduleFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 16008, Level = LogLevel.Warning, Message = "Automated enrollment refused for {Serial}: {Reason}")]
    public static partial void EnrollRefused(ILogger logger, string serial, string reason);
}
