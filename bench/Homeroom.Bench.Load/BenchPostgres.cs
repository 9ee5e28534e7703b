using Npgsql;

namespace Homeroom.Bench.Load;

/// <summary>
/// A PostgreSQL database of one benchmark run's own: made at start (the server migrates a database but does not
/// create one) and dropped on dispose, so runs never seed onto an earlier run's rows and two runs at once never
/// drop each other's. The cluster is <c>HOMEROOM_BENCH_POSTGRES</c>, else the tests' <c>HOMEROOM_TEST_POSTGRES</c>,
/// else the one scripts/ensure-postgres.sh starts.
/// </summary>
public sealed class BenchPostgres : IAsyncDisposable
{
    private readonly string _admin;
    private readonly bool _keep;

    private BenchPostgres(string admin, string database, bool keep)
    {
        _admin = admin;
        _keep = keep;
        Database = database;
        ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = database }.ConnectionString;
    }

    public string Database { get; }

    /// <summary>The server's connection string for the new database.</summary>
    public string ConnectionString { get; }

    /// <summary>A new, empty database named after the benchmark; <paramref name="keep"/> leaves it behind for EXPLAIN ANALYZE.</summary>
    public static async Task<BenchPostgres> CreateAsync(string benchmark, bool keep = false)
    {
        var admin = AdminConnectionString();
        var database = $"homeroom_bench_{benchmark}_{Guid.NewGuid():N}"[..40];
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
        await create.ExecuteNonQueryAsync();
        return new BenchPostgres(admin, database, keep);
    }

    /// <summary>A database an earlier run kept (<c>--keep</c>), to run against again; never dropped.</summary>
    public static BenchPostgres Existing(string database)
    {
        if (database.Length is 0 or > 63 || !database.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            throw new ArgumentException($"Not a database name this benchmark makes: {database}", nameof(database));
        }

        return new BenchPostgres(AdminConnectionString(), database, keep: true);
    }

    private static string AdminConnectionString() =>
        Environment.GetEnvironmentVariable("HOMEROOM_BENCH_POSTGRES")
        ?? Environment.GetEnvironmentVariable("HOMEROOM_TEST_POSTGRES")
        ?? "Host=127.0.0.1;Port=5432;Username=homeroom;Password=homeroom;Database=postgres";

    public async ValueTask DisposeAsync()
    {
        if (_keep)
        {
            Console.WriteLine($"kept PostgreSQL database {Database}");
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Database} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
