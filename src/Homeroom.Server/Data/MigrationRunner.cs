using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Homeroom.Server.Data;

/// <summary>One forward-only schema step: an embedded SQL script per provider.</summary>
public sealed record Migration(int Version, string Name, string Sql, string Checksum);

/// <summary>
/// Applies the ordered SQL scripts in Data/Migrations/{Sqlite,Postgres} that a database has not
/// seen yet, each in its own transaction, and records them in <c>schema_migrations</c>. Scripts are
/// forward-only and never edited once released: a changed checksum stops the server. A database
/// newer than this build is refused rather than silently used.
/// </summary>
public sealed partial class MigrationRunner(DatabaseOptions options, TimeProvider time, ILogger<MigrationRunner> logger)
{
    /// <summary>The PostgreSQL advisory lock a node holds while it migrates ("HRschema").</summary>
    public const long LockKey = 0x4852_7363_6865_6d61;

    public static IReadOnlyList<Migration> Load(DatabaseProvider provider)
    {
        var folder = provider == DatabaseProvider.Sqlite ? "Sqlite" : "Postgres";
        var assembly = typeof(MigrationRunner).Assembly;
        var prefix = $"{assembly.GetName().Name}.Data.Migrations.{folder}.";
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var fileName = resource[prefix.Length..];
            var match = ScriptName().Match(fileName);
            if (!match.Success)
            {
                throw new InvalidOperationException($"Migration script '{fileName}' is not named NNNN_name.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var sql = reader.ReadToEnd();
            var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n"))));
            migrations.Add(new Migration(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value, sql, checksum));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new InvalidOperationException($"Migration versions must run 1, 2, 3 without gaps; found {migrations[i].Version} at position {i + 1}.");
            }
        }

        return migrations;
    }

    /// <summary>Brings the database to <paramref name="targetVersion"/> (default: the newest). Returns the versions applied.</summary>
    public async Task<IReadOnlyList<int>> MigrateAsync(int? targetVersion = null, CancellationToken cancellationToken = default)
    {
        var migrations = Load(options.Provider);
        var target = targetVersion ?? migrations.Count;
        await using var connection = DatabaseSetup.CreateConnection(options);
        await connection.OpenAsync(cancellationToken);
        if (options.Provider == DatabaseProvider.Sqlite)
        {
            return await MigrateAsync(connection, migrations, target, cancellationToken);
        }

        // Nodes starting together on one database migrate one at a time: the next reads the history the first wrote
        // (and finds nothing to do) instead of running the same scripts beside it. Released explicitly: a pooled
        // connection keeps its session, and its session-level lock, after it is closed.
        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({LockKey})", 900, cancellationToken); // a migration of an empty database can take minutes
        try
        {
            return await MigrateAsync(connection, migrations, target, cancellationToken);
        }
        finally
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({LockKey})", 30, CancellationToken.None);
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, int timeoutSeconds, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = timeoutSeconds;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<int>> MigrateAsync(DbConnection connection, IReadOnlyList<Migration> migrations, int target, CancellationToken cancellationToken)
    {
        await EnsureHistoryTableAsync(connection, cancellationToken);
        var applied = await ReadHistoryAsync(connection, cancellationToken);

        foreach (var (version, checksum) in applied)
        {
            if (version > migrations.Count)
            {
                throw new InvalidOperationException(
                    $"The database is at schema version {applied.Keys.Max()}, newer than this Homeroom build knows ({migrations.Count}). Upgrade Homeroom or restore a backup.");
            }

            if (migrations[version - 1].Checksum != checksum)
            {
                throw new InvalidOperationException($"Migration {version} was changed after it was applied (checksum differs). Released migrations must never be edited.");
            }
        }

        var pending = migrations.Where(m => m.Version <= target && !applied.ContainsKey(m.Version)).ToList();
        if (pending.Count == 0)
        {
            return [];
        }

        if (options.Provider == DatabaseProvider.Sqlite && applied.Count > 0)
        {
            await BackupSqliteAsync((SqliteConnection)connection, applied.Keys.Max(), cancellationToken);
        }

        foreach (var migration in pending)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = migration.Sql;
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (@v, @n, @c, @a)";
                AddParameter(record, "@v", migration.Version);
                AddParameter(record, "@n", migration.Name);
                AddParameter(record, "@c", migration.Checksum);
                AddParameter(record, "@a", time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            DataLog.MigrationApplied(logger, migration.Version, migration.Name);
        }

        return pending.Select(m => m.Version).ToList();
    }

    /// <summary>The versions recorded in the database.</summary>
    public async Task<IReadOnlyList<int>> AppliedVersionsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = DatabaseSetup.CreateConnection(options);
        await connection.OpenAsync(cancellationToken);
        await EnsureHistoryTableAsync(connection, cancellationToken);
        return (await ReadHistoryAsync(connection, cancellationToken)).Keys.Order().ToList();
    }

    private async Task BackupSqliteAsync(SqliteConnection connection, int fromVersion, CancellationToken cancellationToken)
    {
        var stamp = time.GetUtcNow().ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        var backupPath = $"{options.SqlitePath}.v{fromVersion}-{stamp}.bak";
        DataFiles.CreatePrivateFile(backupPath); // VACUUM INTO fills an empty file and keeps its mode
        await using var command = connection.CreateCommand();
        command.CommandText = "VACUUM INTO @path";
        command.Parameters.AddWithValue("@path", backupPath);
        await command.ExecuteNonQueryAsync(cancellationToken);
        DataLog.BackupWritten(logger, backupPath);
    }

    private static async Task EnsureHistoryTableAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer NOT NULL PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at text NOT NULL
            )
            """;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<Dictionary<int, string>> ReadHistoryAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var applied = new Dictionary<int, string>();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, checksum FROM schema_migrations";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            applied[reader.GetInt32(0)] = reader.GetString(1);
        }

        return applied;
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\d{4})_([a-z0-9_]+)\.sql$")]
    private static partial System.Text.RegularExpressions.Regex ScriptName();
}
