using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Data;

public static class DatabaseSetup
{
    /// <summary>
    /// Contexts kept for reuse. One is taken per unit of work and given back when disposed; beyond this many at once the
    /// extra ones are built and discarded as before. Each kept context holds its services (tens of KB), so the pool is
    /// sized for a connect storm's concurrency, not for the most contexts ever open.
    /// </summary>
    public const int ContextPoolSize = 128;

    public static IServiceCollection AddHomeroomData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatabaseOptions>()
            .Configure(o =>
            {
                o.DataDirectory = configuration["Homeroom:DataDirectory"] ?? o.DataDirectory;
                o.PostgresConnectionString = configuration.GetConnectionString("Postgres");
                o.StrictQueries = configuration.GetValue("Homeroom:StrictQueries", false);
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<DatabaseOptions>>().Value);
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<SqlitePragmaInterceptor>();
        // Pooled: a context is reset and reused instead of built anew. Building one (EF's internal service scope, its
        // state manager and the options' cache key) was the largest allocation of an agent's enrollment and
        // authentication (docs/performance.md, 2026-12-06 PostgreSQL memory); a connect storm creates several per device.
        services.AddPooledDbContextFactory<HomeroomDbContext>((sp, builder) =>
        {
            var options = sp.GetRequiredService<DatabaseOptions>();
            if (options.Provider == DatabaseProvider.Postgres)
            {
                builder.UseNpgsql(options.PostgresConnectionString);
            }
            else
            {
                builder.UseSqlite(options.SqliteConnectionString).AddInterceptors(sp.GetRequiredService<SqlitePragmaInterceptor>());
            }

            builder.ConfigureWarnings(w =>
            {
                w.Ignore(RelationalEventId.PendingModelChangesWarning);
                if (options.StrictQueries)
                {
                    w.Throw(CoreEventId.RowLimitingOperationWithoutOrderByWarning, CoreEventId.FirstWithoutOrderByAndFilterWarning);
                }
            });
        }, ContextPoolSize);
        services.AddSingleton<SqliteMaintenance>();
        services.AddHostedService(sp => sp.GetRequiredService<SqliteMaintenance>());
        services.AddSingleton<SqliteCheckpointer>();
        services.AddHostedService(sp => sp.GetRequiredService<SqliteCheckpointer>());
        return services;
    }

    /// <summary>A raw connection for the migration runner and bulk writers.</summary>
    public static DbConnection CreateConnection(DatabaseOptions options)
    {
        if (options.Provider == DatabaseProvider.Postgres)
        {
            return new NpgsqlConnection(options.PostgresConnectionString);
        }

        // SQLite would create the file 0644; created empty and owner-only here, it keeps that mode, and
        // SQLite gives its -wal and -shm files the database file's mode.
        DataFiles.CreatePrivateFile(options.SqlitePath);
        var connection = new SqliteConnection(options.SqliteConnectionString);
        connection.StateChange += (_, e) =>
        {
            if (e.CurrentState == System.Data.ConnectionState.Open)
            {
                SqlitePragmaInterceptor.Apply(connection);
            }
        };
        return connection;
    }

    /// <summary>Creates the data directory, switches SQLite to WAL, runs pending migrations and turns on incremental vacuum.</summary>
    public static async Task InitializeDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        var options = services.GetRequiredService<DatabaseOptions>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DatabaseSetup));
        DataLog.DatabaseSelected(logger, options.Provider, options.Provider == DatabaseProvider.Sqlite ? options.SqlitePath : "(connection string)");
        DataFiles.CreatePrivateDirectory(options.DataDirectory);
        DataFiles.RestrictExisting(options.DataDirectory);
        if (options.Provider == DatabaseProvider.Sqlite)
        {
            await using var connection = (SqliteConnection)CreateConnection(options);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL;";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await services.GetRequiredService<MigrationRunner>().MigrateAsync(cancellationToken: cancellationToken);

        if (options.Provider == DatabaseProvider.Sqlite)
        {
            // Freed pages go back to the file system after retention deletes (SqliteMaintenance). A database
            // made before this setting is rebuilt once to take it, after the migration runner's backup.
            await using var connection = (SqliteConnection)CreateConnection(options);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA auto_vacuum;";
            if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) != 2)
            {
                command.CommandText = "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;";
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
        }
    }
}

/// <summary>
/// Per-connection SQLite settings: wait for locks instead of failing, the WAL-safe sync level, and no
/// checkpoint in a commit below <see cref="SqliteCheckpointer.AutoCheckpointPages"/> (the checkpointer copies
/// the log from its own connection) with a restarted log's file cut back to <see cref="SqliteCheckpointer.JournalSizeLimitBytes"/>.
/// </summary>
public sealed class SqlitePragmaInterceptor : DbConnectionInterceptor
{
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    /// <summary>How long a connection waits for a lock before it fails.</summary>
    public const int BusyTimeoutMilliseconds = 10_000;

    private static readonly string Pragmas =
        FormattableString.Invariant($"PRAGMA busy_timeout={BusyTimeoutMilliseconds}; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; ") +
        FormattableString.Invariant($"PRAGMA wal_autocheckpoint={SqliteCheckpointer.AutoCheckpointPages}; PRAGMA journal_size_limit={SqliteCheckpointer.JournalSizeLimitBytes};");

    public static void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }
}

/// <summary>
/// SQLite housekeeping, as SQLite recommends for a long-lived process: the query planner's statistics
/// refreshed (<see cref="OptimizeSql"/>) a minute after start, every few hours and at shutdown; after a
/// retention job deletes many rows, the freed pages go back to the file system (<c>incremental_vacuum</c>)
/// and the write-ahead log is emptied (<c>wal_checkpoint(TRUNCATE)</c>), so a database that grows with
/// time also shrinks with its retention. PostgreSQL's autovacuum does the same there (it analyzes a table
/// once a tenth of its rows changed), so on PostgreSQL this does nothing.
/// </summary>
public sealed class SqliteMaintenance(DatabaseOptions options, TimeProvider time, ILogger<SqliteMaintenance> logger) : BackgroundService
{
    /// <summary>Rows a purge must delete before space is reclaimed at once.</summary>
    public const int ReclaimThreshold = 1_000;

    /// <summary>How long a purge's <c>TRUNCATE</c> checkpoint is tried again while SQLite answers busy.</summary>
    public static readonly TimeSpan TruncateRetryFor = TimeSpan.FromSeconds(5);

    /// <summary>The pause between two tries of a purge's <c>TRUNCATE</c> checkpoint.</summary>
    public static readonly TimeSpan TruncateRetryDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Analyzes the tables whose statistics are missing or far from their size (SQLite bounds the work
    /// per index). The 0x10000 bit checks every table: a plain <c>PRAGMA optimize</c> only looks at the
    /// tables the running connection has queried, and this runs on a connection of its own, so without it
    /// nothing was ever analyzed and the planner guessed at every index of the rollup tables.
    /// </summary>
    public const string OptimizeSql = "PRAGMA optimize=0x10002;";

    private static readonly TimeSpan Interval = TimeSpan.FromHours(6);
    private static readonly TimeSpan AfterStart = TimeSpan.FromMinutes(1);
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Refreshes the planner's statistics now (<see cref="OptimizeSql"/>); nothing on PostgreSQL.</summary>
    public async Task OptimizeAsync(CancellationToken cancellationToken)
    {
        if (options.Provider == DatabaseProvider.Sqlite)
        {
            await RunAsync(OptimizeSql, cancellationToken);
        }
    }

    /// <summary>
    /// Called by retention jobs after they delete: reclaims space when they deleted many rows, and says whether the
    /// log was emptied. The log is emptied by a <c>TRUNCATE</c> checkpoint, which SQLite answers "busy" at once,
    /// without waiting, while another connection's checkpoint runs (<see cref="SqliteCheckpointer"/>'s round each
    /// second is one, and copying a purge's log takes it a while); so a busy answer is tried again every
    /// <see cref="TruncateRetryDelay"/> for up to <see cref="TruncateRetryFor"/>, instead of leaving a log of the
    /// purge's size on disk until the checkpointer's next quiet round.
    /// </summary>
    public async Task<bool> AfterPurgeAsync(int deletedRows, CancellationToken cancellationToken)
    {
        if (options.Provider != DatabaseProvider.Sqlite || deletedRows < ReclaimThreshold)
        {
            return false;
        }

        await RunAsync("PRAGMA incremental_vacuum;", cancellationToken);
        var started = time.GetTimestamp();
        while (true)
        {
            var busy = await TruncateLogAsync(cancellationToken);
            if (busy != true)
            {
                return busy == false;
            }

            if (time.GetElapsedTime(started) >= TruncateRetryFor)
            {
                return false;
            }

            await Task.Delay(TruncateRetryDelay, time, cancellationToken);
        }
    }

    /// <summary>Empties the log: true when SQLite answered busy, false when done, null when it failed (logged).</summary>
    private Task<bool?> TruncateLogAsync(CancellationToken cancellationToken) =>
        // The first column is busy (1: another checkpoint, a writer or a reader kept it from finishing), then the frames
        // in the log, then the frames copied.
        RunAsync("PRAGMA wal_checkpoint(TRUNCATE);", async (command, ct) => await command.ExecuteScalarAsync(ct) is long busy && busy != 0, cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Provider != DatabaseProvider.Sqlite)
        {
            return;
        }

        // Soon after start too: a migration, an import or a restore may have changed the tables' sizes.
        await Task.Delay(AfterStart, time, stoppingToken);
        await RunAsync(OptimizeSql, stoppingToken);
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await RunAsync(OptimizeSql, stoppingToken);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (options.Provider == DatabaseProvider.Sqlite)
        {
            await RunAsync(OptimizeSql + " PRAGMA wal_checkpoint(TRUNCATE);", CancellationToken.None);
        }
    }

    private Task RunAsync(string sql, CancellationToken cancellationToken) =>
        RunAsync(sql, (command, ct) => command.ExecuteNonQueryAsync(ct), cancellationToken);

    /// <summary>Runs <paramref name="sql"/> on a connection of its own, one job at a time; null when it failed (logged).</summary>
    private async Task<T?> RunAsync<T>(string sql, Func<DbCommand, CancellationToken, Task<T>> run, CancellationToken cancellationToken)
        where T : struct
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = DatabaseSetup.CreateConnection(options);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return await run(command, cancellationToken);
        }
        catch (Exception ex) when (ex is SqliteException or IOException)
        {
            DataLog.MaintenanceFailed(logger, ex);
            return null;
        }
        finally
        {
            _gate.Release();
        }
    }
}
