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

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "The cluster's keys in the database are sealed with {Path}: copy this file to the data directory of every other node (keys/cluster.key)")]
    public static partial void ClusterKeyAdopted(ILogger logger, string path);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Imported this node's {Keys} data-protection key file(s) and secret file(s) [{Secrets}] from {DataDirectory} into the database; the files are no longer read")]
    public static partial void FilesImported(ILogger logger, int keys, string secrets, string dataDirectory);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Files of this node's own in {DataDirectory} are not used, the database holds the cluster's: {Files}")]
    public static partial void FilesNotImported(ILogger logger, string files, string dataDirectory);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Made the cluster's data-protection key {KeyId} in the database")]
    public static partial void DataProtectionKeyCreated(ILogger logger, Guid keyId);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Cluster key rotation: {Step}")]
    public static partial void ClusterKeyRotation(ILogger logger, string step);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "SQLite checkpoint of the write-ahead log failed; trying again next round")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);
}
