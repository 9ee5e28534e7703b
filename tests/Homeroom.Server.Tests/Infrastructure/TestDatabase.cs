using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Homeroom.Server.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A fresh database for one test host: a temporary folder for SQLite, or a new database on the
/// PostgreSQL server that scripts/test.sh starts (HOMEROOM_TEST_POSTGRES overrides where).
/// PostgreSQL tests fail, never skip, when the server is missing.
/// <see cref="CreateAsync"/> gives an empty database (for the migration tests);
/// <see cref="CreateMigratedAsync"/> a copy of one that the server's own start-up code migrated once
/// per test process (a file copy for SQLite, <c>CREATE DATABASE ... TEMPLATE</c> for PostgreSQL), which
/// is what a host starts on: running every migration for every test cost about a second per
/// PostgreSQL test and a quarter of one per SQLite test on a busy 2-core machine, a copy a few
/// hundred milliseconds and a few. PostgreSQL databases are dropped in the background once their test is over.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string PostgresVariable = "HOMEROOM_TEST_POSTGRES";
    private const string DefaultPostgres = "Host=127.0.0.1;Port=5432;Username=homeroom;Password=homeroom;Database=postgres;Timeout=10";

    /// <summary>Migrated PostgreSQL templates are named by this prefix and a hash of the migrations (scripts/test.sh removes them).</summary>
    public const string PostgresTemplatePrefix = "homeroom_template_";

    // Serialises building a PostgreSQL template across test processes (Server, Browser and Simulator tests run at once).
    private const long TemplateLockKey = 0x486f6d65726f6f6d;

    private static readonly SemaphoreSlim TemplateGate = new(1, 1);
    private static readonly Channel<string> PendingDrops = Channel.CreateUnbounded<string>();
    private static readonly Lazy<Task> Dropper = new(StartDropper);
    private static string? _sqliteTemplate;
    private static string? _postgresTemplate;

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

    private static string AdminConnectionString => Environment.GetEnvironmentVariable(PostgresVariable) ?? DefaultPostgres;

    /// <summary>A fresh database with every migration applied, as the server leaves a new one at its first start.</summary>
    public static async Task<TestDatabase> CreateMigratedAsync(DatabaseProvider provider)
    {
        if (provider == DatabaseProvider.Sqlite)
        {
            var template = await SqliteTemplateAsync();
            var sqlite = await CreateAsync(provider);
            File.Copy(template, sqlite.Options.SqlitePath);
            return sqlite;
        }

        var directory = Path.Combine(Path.GetTempPath(), "homeroom-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var name = "homeroom_test_" + Guid.NewGuid().ToString("N")[..16];
        for (var attempt = 1; ; attempt++)
        {
            var template = await PostgresTemplateAsync();
            try
            {
                await ExecuteAdminAsync($"CREATE DATABASE {name} TEMPLATE {template}");
                break;
            }
            catch (PostgresException e) when (attempt < 5 && e.SqlState == PostgresErrorCodes.InvalidCatalogName)
            {
                // The template was removed meanwhile (scripts/test.sh clears them at the start of a run): build it again.
                Interlocked.CompareExchange(ref _postgresTemplate, null, template);
            }
            catch (PostgresException e) when (attempt < 5 && e.SqlState == PostgresErrorCodes.ObjectInUse)
            {
                // Another process is still building (renaming) it, or a background worker visits it for a moment.
                await Task.Delay(200 * attempt);
            }
        }

        var builder = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name };
        return new TestDatabase(DatabaseProvider.Postgres, directory, builder.ConnectionString, name);
    }

    public static async Task<TestDatabase> CreateAsync(DatabaseProvider provider)
    {
        var directory = Path.Combine(Path.GetTempPath(), "homeroom-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        if (provider == DatabaseProvider.Sqlite)
        {
            return new TestDatabase(provider, directory, null, null);
        }

        var name = "homeroom_test_" + Guid.NewGuid().ToString("N")[..16];
        await ExecuteAdminAsync($"CREATE DATABASE {name}");
        var builder = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name };
        return new TestDatabase(provider, directory, builder.ConnectionString, name);
    }

    /// <summary>A SQLite file migrated by the server's start-up code, made once per test process.</summary>
    private static async Task<string> SqliteTemplateAsync()
    {
        if (_sqliteTemplate is { } made)
        {
            return made;
        }

        await TemplateGate.WaitAsync();
        try
        {
            if (_sqliteTemplate is null)
            {
                var directory = Path.Combine(Path.GetTempPath(), "homeroom-tests", "template-" + Guid.NewGuid().ToString("N"));
                var options = new DatabaseOptions { DataDirectory = directory };
                await InitializeAsync(options);
                await using (var connection = new SqliteConnection(options.SqliteConnectionString))
                {
                    await connection.OpenAsync();
                    await using var command = connection.CreateCommand();
                    command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
                    await command.ExecuteNonQueryAsync();
                    SqliteConnection.ClearPool(connection);
                }

                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    try
                    {
                        Directory.Delete(directory, recursive: true);
                    }
                    catch (IOException)
                    {
                        // The temp folder is cleaned by the OS later.
                    }
                };
                _sqliteTemplate = options.SqlitePath;
            }

            return _sqliteTemplate;
        }
        finally
        {
            TemplateGate.Release();
        }
    }

    /// <summary>
    /// The name of a PostgreSQL database migrated by the server's start-up code, named after a hash of
    /// the migrations so a changed set gets its own; built once, under a lock shared with other test processes.
    /// </summary>
    private static async Task<string> PostgresTemplateAsync()
    {
        if (_postgresTemplate is { } known)
        {
            return known;
        }

        await TemplateGate.WaitAsync();
        try
        {
            if (_postgresTemplate is not null)
            {
                return _postgresTemplate;
            }

            var checksums = string.Join('\n', MigrationRunner.Load(DatabaseProvider.Postgres).Select(m => m.Checksum));
            var template = PostgresTemplatePrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(checksums)))[..16];
            await using var admin = new NpgsqlConnection(AdminConnectionString);
            await admin.OpenAsync();
            await ExecuteAsync(admin, $"SELECT pg_advisory_lock({TemplateLockKey})");
            try
            {
                await using var exists = admin.CreateCommand();
                exists.CommandText = "SELECT count(*) FROM pg_database WHERE datname = @name";
                exists.Parameters.AddWithValue("name", template);
                if ((long)(await exists.ExecuteScalarAsync())! == 0)
                {
                    // Built under a test database's name and renamed when complete: an interrupted build
                    // leaves no half-migrated template, only a database scripts/test.sh removes.
                    var building = "homeroom_test_" + Guid.NewGuid().ToString("N")[..16];
                    await ExecuteAsync(admin, $"CREATE DATABASE {building}");
                    var directory = Path.Combine(Path.GetTempPath(), "homeroom-tests", Guid.NewGuid().ToString("N"));
                    var options = new DatabaseOptions
                    {
                        DataDirectory = directory,
                        PostgresConnectionString = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = building, Pooling = false }.ConnectionString,
                    };
                    await InitializeAsync(options);
                    Directory.Delete(directory, recursive: true);
                    for (var attempt = 1; ; attempt++)
                    {
                        try
                        {
                            await ExecuteAsync(admin, $"ALTER DATABASE {building} RENAME TO {template}");
                            break;
                        }
                        catch (PostgresException e) when (attempt < 20 && e.SqlState == PostgresErrorCodes.ObjectInUse)
                        {
                            // The migration's connection is closed; its server process ends a moment later.
                            await Task.Delay(100);
                        }
                    }

                    // Nothing connects to a template (a copy needs it unused).
                    await ExecuteAsync(admin, $"ALTER DATABASE {template} WITH ALLOW_CONNECTIONS false");
                }
            }
            finally
            {
                await ExecuteAsync(admin, $"SELECT pg_advisory_unlock({TemplateLockKey})");
            }

            _postgresTemplate = template;
            return template;
        }
        finally
        {
            TemplateGate.Release();
        }
    }

    /// <summary>Prepares a new database exactly as the server does at its first start (WAL, migrations, incremental vacuum).</summary>
    private static async Task InitializeAsync(DatabaseOptions options)
    {
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(options)
            .AddSingleton(TimeProvider.System)
            .AddSingleton<MigrationRunner>()
            .BuildServiceProvider();
        await services.InitializeDatabaseAsync();
    }

    private static async Task ExecuteAdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, sql);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
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

    /// <summary>
    /// Drops finished tests' PostgreSQL databases one at a time, off the tests' path (a drop makes the
    /// server checkpoint, about a second on a busy machine). What is still queued when the test process
    /// ends is dropped then, or by scripts/test.sh at the start of the next run.
    /// </summary>
    private static Task StartDropper()
    {
        var loop = Task.Run(async () =>
        {
            await foreach (var name in PendingDrops.Reader.ReadAllAsync())
            {
                await DropPostgresDatabaseAsync(name);
            }
        });
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            PendingDrops.Writer.TryComplete();
            loop.Wait(TimeSpan.FromSeconds(60));
        };
        return loop;
    }

    private static async Task DropPostgresDatabaseAsync(string name)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteAdminAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                return;
            }
            catch (PostgresException) when (attempt < 10)
            {
                // A background worker (autovacuum) may hold the database for a moment.
                await Task.Delay(200 * attempt);
            }
            catch (Exception ex) when (ex is PostgresException or NpgsqlException or TimeoutException)
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
            // This database's pool only: clearing every pool would close other running tests' connections too.
            await using (var connection = new NpgsqlConnection(PostgresConnectionString))
            {
                NpgsqlConnection.ClearPool(connection);
            }

            _ = Dropper.Value;
            PendingDrops.Writer.TryWrite(PostgresDatabase);
        }
        else
        {
            await using var connection = new SqliteConnection(Options.SqliteConnectionString);
            SqliteConnection.ClearPool(connection);
        }

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
