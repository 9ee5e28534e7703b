using Homeroom.Server.Data;
using Npgsql;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A fresh, empty database for one test host: a temporary folder for SQLite, or a new database on
/// the PostgreSQL server that scripts/test.sh starts (HOMEROOM_TEST_POSTGRES overrides where).
/// PostgreSQL tests fail, never skip, when the server is missing.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string PostgresVariable = "HOMEROOM_TEST_POSTGRES";
    private const string DefaultPostgres = "Host=127.0.0.1;Port=5432;Username=homeroom;Password=homeroom;Database=postgres;Timeout=10";

    private TestDatabase(DatabaseProvider provider, string dataDirectory, string? postgresConnectionString, string? postgresDatabase)
    {
        Provider = provider;
        DataDirectory = dataDirectory;
        PostgresConnectionString = postgresConnectionString;
        PostgresDatabase = postgresDatabase;
    }

    public DatabaseProvider Provider { get; }

    /// <summary>Holds the SQLite file (and data-protection keys for both providers).</summary>
    public string DataDirectory { get; }

    public string? PostgresConnectionString { get; }

    private string? PostgresDatabase { get; }

    public DatabaseOptions Options => new() { DataDirectory = DataDirectory, PostgresConnectionString = PostgresConnectionString };

    public static async Task<TestDatabase> CreateAsync(DatabaseProvider provider)
    {
        var directory = Path.Combine(Path.GetTempPath(), "homeroom-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        if (provider == DatabaseProvider.Sqlite)
        {
            return new TestDatabase(provider, directory, null, null);
        }

        var admin = Environment.GetEnvironmentVariable(PostgresVariable) ?? DefaultPostgres;
        var name = "homeroom_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = $"CREATE DATABASE {name}";
            await command.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return new TestDatabase(provider, directory, builder.ConnectionString, name);
    }

    /// <summary>Command-line style settings that point a Homeroom host at this database.</summary>
    public IEnumerable<string> HostArguments()
    {
        yield return $"--Homeroom:DataDirectory={DataDirectory}";
        if (PostgresConnectionString is not null)
        {
            yield return $"--ConnectionStrings:Postgres={PostgresConnectionString}";
        }
    }

    private static async Task DropPostgresDatabaseAsync(string name)
    {
        var admin = Environment.GetEnvironmentVariable(PostgresVariable) ?? DefaultPostgres;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = new NpgsqlConnection(admin);
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = $"DROP DATABASE IF EXISTS {name} WITH (FORCE)";
                await command.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException) when (attempt < 10)
            {
                // A background worker (autovacuum) may hold the database for a moment.
                await Task.Delay(200 * attempt);
            }
            catch (PostgresException)
            {
                // Left for scripts/test.sh to remove at the start of the next run: cleanup is not what the test checks.
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (PostgresDatabase is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await DropPostgresDatabaseAsync(PostgresDatabase);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a pool; the temp folder is cleaned by the OS later.
        }
    }
}
