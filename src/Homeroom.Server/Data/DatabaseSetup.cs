using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Data;

public static class DatabaseSetup
{
    public static IServiceCollection AddHomeroomData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatabaseOptions>()
            .Configure(o =>
            {
                o.DataDirectory = configuration["Homeroom:DataDirectory"] ?? o.DataDirectory;
                o.PostgresConnectionString = configuration.GetConnectionString("Postgres");
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<DatabaseOptions>>().Value);
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<SqlitePragmaInterceptor>();
        services.AddDbContextFactory<HomeroomDbContext>((sp, builder) =>
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

            builder.ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning));
        });
        services.AddHostedService<SqliteMaintenance>();
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

    /// <summary>Creates the data directory, switches SQLite to WAL and runs pending migrations.</summary>
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
    }
}

/// <summary>Per-connection SQLite settings: wait for locks instead of failing, and the WAL-safe sync level.</summary>
public sealed class SqlitePragmaInterceptor : DbConnectionInterceptor
{
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    public static void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout=10000; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
        command.ExecuteNonQuery();
    }
}

/// <summary>Runs <c>PRAGMA optimize</c> on SQLite every few hours, as SQLite recommends for long-lived processes.</summary>
public sealed class SqliteMaintenance(DatabaseOptions options, TimeProvider time, ILogger<SqliteMaintenance> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(6);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Provider != DatabaseProvider.Sqlite)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var connection = CreateConnectionForMaintenance();
                await connection.OpenAsync(stoppingToken);
                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA optimize;";
                await command.ExecuteNonQueryAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is SqliteException or IOException)
            {
                DataLog.MaintenanceFailed(logger, ex);
            }
        }
    }

    private DbConnection CreateConnectionForMaintenance() => DatabaseSetup.CreateConnection(options);
}
