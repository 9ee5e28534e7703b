namespace Homeroom.Server.Data;

internal static partial class DataLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied schema migration {Version} ({Name})")]
    public static partial void MigrationApplied(ILogger logger, int version, string name);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Backed up the SQLite database to {Path} before migrating")]
    public static partial void BackupWritten(ILogger logger, string path);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Using {Provider} database {Location}")]
    public static partial void DatabaseSelected(ILogger logger, DatabaseProvider provider, string location);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "SQLite maintenance failed")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);
}
