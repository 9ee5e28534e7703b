using System.Data.Common;
using System.Globalization;
using Homeroom.Server.Data;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Hosting.Cluster;

/// <summary>
/// Leases on once-per-cluster jobs in <c>job_leases</c>, so that of several nodes on one PostgreSQL database only one
/// runs each <see cref="PeriodicTask"/>. A node takes or renews a job's lease in one conditional statement (insert, or
/// update where the lease expired or is already this node's) and runs the job only when that statement changed a row;
/// the database serialises two nodes' statements on the row, so exactly one of them wins an expired lease. On
/// PostgreSQL every time in the statement is the database's clock (<c>now()</c>): a node whose own clock is hours
/// ahead cannot see another's lease as expired. On SQLite, which only one node ever uses, the node's clock is the only
/// clock, and at the first take the leases left by earlier processes (one that crashed holds its leases until they
/// expire) are removed, so a restarted single server runs its jobs at once as before. A hosted service registered
/// before every job, so it stops after them: at a graceful stop it releases all of this node's leases in one statement
/// and another node takes each job at its next tick; a killed node keeps them until they expire.
/// </summary>
public sealed class JobLeases(DatabaseOptions database, ClusterNode node, IOptions<ClusterOptions> options, ServerMetrics metrics, TimeProvider time, ILogger<JobLeases> logger)
    : IHostedService, IDisposable
{
    /// <summary>Longest job name stored (a class name).</summary>
    public const int MaxJobNameLength = 200;

    private const string PostgresTake = """
        INSERT INTO job_leases (name, holder, acquired_at, expires_at) VALUES (@name, @holder, now(), now() + @lease)
        ON CONFLICT (name) DO UPDATE SET
            holder = excluded.holder,
            acquired_at = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.acquired_at ELSE excluded.acquired_at END,
            expires_at = excluded.expires_at
        WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= now()
        """;

    // The same statement with the node's clock: times are fixed-width ISO 8601 text in UTC, so text order is time order.
    private const string SqliteTake = """
        INSERT INTO job_leases (name, holder, acquired_at, expires_at) VALUES (@name, @holder, @now, @expires)
        ON CONFLICT (name) DO UPDATE SET
            holder = excluded.holder,
            acquired_at = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.acquired_at ELSE excluded.acquired_at END,
            expires_at = excluded.expires_at
        WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= @now
        """;

    private readonly SemaphoreSlim _sqliteStart = new(1, 1);
    private bool _sqliteCleared;

    public ClusterNode Node => node;

    /// <summary>How long the lease of a job that runs every <paramref name="interval"/> lasts (<see cref="ClusterOptions.LeaseIntervals"/> intervals).</summary>
    public TimeSpan LeaseFor(TimeSpan interval) => interval * options.Value.LeaseIntervals;

    /// <summary>
    /// Takes the lease of <paramref name="job"/> for <paramref name="lease"/> from now, or renews it when this node holds
    /// it already; true when this node holds it now. False while another node's lease has not expired.
    /// </summary>
    public async Task<bool> TryTakeAsync(string job, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(job.Length, MaxJobNameLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(lease, TimeSpan.Zero);
        if (database.Provider == DatabaseProvider.Sqlite)
        {
            await ClearEarlierSqliteLeasesAsync(cancellationToken);
        }

        await using var connection = DatabaseSetup.CreateConnection(database);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        AddParameter(command, "@name", job);
        AddParameter(command, "@holder", node.Holder);
        if (database.Provider == DatabaseProvider.Postgres)
        {
            command.CommandText = PostgresTake;
            AddParameter(command, "@lease", lease);
        }
        else
        {
            var now = time.GetUtcNow().UtcDateTime;
            command.CommandText = SqliteTake;
            AddParameter(command, "@now", SqliteTime(now));
            AddParameter(command, "@expires", SqliteTime(now + lease));
        }

        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Gives up every lease this node holds (a node stopping), so other nodes take its jobs at their next tick.</summary>
    public async Task ReleaseAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = DatabaseSetup.CreateConnection(database);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM job_leases WHERE holder = @holder";
        AddParameter(command, "@holder", node.Holder);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Releases this node's leases once its jobs have stopped (hosted services stop in reverse order). Not on SQLite:
    /// no other node waits there, the next start removes them, and the database stays as its last checkpoint left it.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (database.Provider == DatabaseProvider.Sqlite)
        {
            return;
        }

        try
        {
            await ReleaseAllAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ClusterLog.ReleaseFailed(logger, ex);
        }
    }

    /// <summary>Counts one tick of <paramref name="job"/>: run here, or skipped because another node holds its lease.</summary>
    public void Count(string job, bool ran) => metrics.JobTick(job, ran);

    public void Dispose() => _sqliteStart.Dispose();

    private async Task ClearEarlierSqliteLeasesAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _sqliteCleared))
        {
            return;
        }

        await _sqliteStart.WaitAsync(cancellationToken);
        try
        {
            if (_sqliteCleared)
            {
                return;
            }

            await using var connection = DatabaseSetup.CreateConnection(database);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM job_leases WHERE holder <> @holder";
            AddParameter(command, "@holder", node.Holder);
            var removed = await command.ExecuteNonQueryAsync(cancellationToken);
            if (removed > 0)
            {
                ClusterLog.SqliteLeasesCleared(logger, removed);
            }

            Volatile.Write(ref _sqliteCleared, true);
        }
        finally
        {
            _sqliteStart.Release();
        }
    }

    private static string SqliteTime(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
