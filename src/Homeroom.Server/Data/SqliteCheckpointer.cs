using Microsoft.Data.Sqlite;

namespace Homeroom.Server.Data;

/// <summary>
/// Copies SQLite's write-ahead log into the database from a connection of its own, so that no writer's
/// <c>COMMIT</c> does it. SQLite's default is the opposite: the commit that takes the log past 1,000 pages
/// checkpoints it before returning, which held up the activity writer and the insight folder on every few
/// commits (docs/performance.md, ingestion). Every connection's <c>wal_autocheckpoint</c> is raised to
/// <see cref="AutoCheckpointPages"/> instead (<see cref="SqlitePragmaInterceptor"/>), a backstop for a process
/// that runs no checkpointer (the <c>rebuild-rollups</c> command), and every <see cref="Interval"/> this
/// service runs a <c>PASSIVE</c> checkpoint, which copies what it can without waiting for anyone.
/// <para>
/// The log's size stays bounded: once every frame is copied, the next writer starts the log again from its
/// beginning; when writers never pause long enough for that and the log passes <see cref="RestartPages"/>,
/// a <c>RESTART</c> checkpoint waits (up to <see cref="RestartWait"/>, new writers waiting meanwhile) for the
/// writer and readers of the moment and makes the next writer start it again: run by the next of the activity
/// writer's or the insight folder's commits (<see cref="AfterCommit"/>; writers that commit back to back starve
/// another connection of the write lock, and the checkpointer stays out of the way meanwhile, since a checkpoint
/// in progress makes a restart give up at once), or by the checkpointer when no such commit came for two rounds; when nothing was written since
/// the last round, a <c>TRUNCATE</c> checkpoint empties the file (waiting at most <see cref="TruncateWait"/>
/// for readers still on it). A read that lasts keeps the log from restarting, whatever the mode. <c>journal_size_limit</c> trims a restarted log's file to
/// <see cref="JournalSizeLimitBytes"/>. On PostgreSQL this does nothing.
/// </para>
/// </summary>
public sealed class SqliteCheckpointer(DatabaseOptions options, TimeProvider time, ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    /// <summary>The log's size (pages) at which a connection's own commit checkpoints it: only reached when this service does not run.</summary>
    public const int AutoCheckpointPages = 65_536;

    /// <summary>The log's size (pages, 64 MB at SQLite's default 4 KB page) past which a round waits for a restart of the log.</summary>
    public const int RestartPages = 16_384;

    /// <summary>What a restarted log's file is cut back to (64 MB).</summary>
    public const long JournalSizeLimitBytes = 64L * 1024 * 1024;

    /// <summary>A log file past this size (twice what a restart cuts it back to) is restarted by the next hot writer's commit.</summary>
    public const long RestartFileBytes = 2 * JournalSizeLimitBytes;

    /// <summary>How often the log is checkpointed.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>How long a restart of a log past <see cref="RestartPages"/> waits for the writer and readers of the moment before the next round tries again.</summary>
    public static readonly TimeSpan RestartWait = TimeSpan.FromMilliseconds(500);

    /// <summary>How long emptying the log of a quiet database waits for readers still on it.</summary>
    public static readonly TimeSpan TruncateWait = TimeSpan.FromMilliseconds(100);

    private readonly string _walPath = options.SqlitePath + "-wal";
    private SqliteConnection? _connection;
    private volatile bool _restartDue;
    private long _noRestartBefore;
    private long _lastLogPages = -1;
    private int _roundsLeftToWriters;

    /// <summary>Whether the last round found the log past <see cref="RestartPages"/>: the next hot writer to commit restarts it (<see cref="AfterCommit"/>).</summary>
    public bool RestartDue => _restartDue;

    /// <summary>
    /// Called by the busiest writers (the activity writer, the insight folder) right after a commit, on the same
    /// connection: when the last round found the log past <see cref="RestartPages"/>, or its file has grown past
    /// <see cref="RestartFileBytes"/> since, restarts it there and then. The connection that has just let go of the
    /// write lock takes it again at once, where the checkpointer's own connection waits for a moment when neither
    /// writer holds it; most frames are copied already (every second, passively), so this copies the rest and waits
    /// for the readers of the moment (at most <see cref="RestartWait"/>; after a wait in vain, not again for a second).
    /// </summary>
    public void AfterCommit(System.Data.Common.DbConnection connection)
    {
        if (connection is not SqliteConnection sqlite || time.GetTimestamp() < Volatile.Read(ref _noRestartBefore))
        {
            return;
        }

        if (!_restartDue && new FileInfo(_walPath) is not { Exists: true, Length: >= RestartFileBytes })
        {
            return;
        }

        _restartDue = false;
        using var command = sqlite.CreateCommand();
        command.CommandText = FormattableString.Invariant($"PRAGMA busy_timeout={(int)RestartWait.TotalMilliseconds};");
        command.ExecuteNonQuery();
        command.CommandText = "PRAGMA wal_checkpoint(RESTART);";
        bool busy;
        using (var reader = command.ExecuteReader())
        {
            busy = reader.Read() && reader.GetInt64(0) != 0;
        }

        command.CommandText = FormattableString.Invariant($"PRAGMA busy_timeout={SqlitePragmaInterceptor.BusyTimeoutMilliseconds};");
        command.ExecuteNonQuery();
        if (busy)
        {
            Volatile.Write(ref _noRestartBefore, time.GetTimestamp() + (long)(Interval.TotalSeconds * time.TimestampFrequency));
        }
    }

    /// <summary>One round: copies what it can; restarts a log past <paramref name="restartPages"/>; empties a log nobody wrote to since the last round.</summary>
    internal async Task<WalState> CheckpointAsync(int restartPages, CancellationToken cancellationToken)
    {
        if (_connection is null)
        {
            _connection = (SqliteConnection)DatabaseSetup.CreateConnection(options);
            await _connection.OpenAsync(cancellationToken);
        }

        if (_restartDue && _roundsLeftToWriters > 0)
        {
            // The next hot writer's commit restarts the log (AfterCommit): a checkpoint here would hold the lock it needs.
            _roundsLeftToWriters--;
            return new WalState(false, _lastLogPages, -1);
        }

        var state = await RunAsync(_connection, "PASSIVE", cancellationToken);
        if (state.LogPages >= restartPages)
        {
            if (_restartDue)
            {
                // No hot writer committed for two rounds: restart it here, holding new writers back while it waits for
                // the writer and the readers of the moment (a short wait; the next round tries again).
                state = await RunAsync(_connection, "RESTART", cancellationToken, RestartWait);
            }

            _restartDue = true;
            _roundsLeftToWriters = 2;
        }
        else
        {
            _restartDue = false;
            if (state.LogPages > 0 && state.LogPages == state.CheckpointedPages && state.LogPages == _lastLogPages)
            {
                // Quiet: a reader still on the log (a long report) makes it give up at once rather than hold writers back.
                state = await RunAsync(_connection, "TRUNCATE", cancellationToken, TruncateWait);
            }
        }

        _lastLogPages = state.LogPages;
        return state;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Provider != DatabaseProvider.Sqlite)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await CheckpointAsync(RestartPages, stoppingToken);
                }
                catch (SqliteException e)
                {
                    DataLog.CheckpointFailed(logger, e);
                    await DropConnectionAsync();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: SqliteMaintenance empties the log at shutdown.
        }
        finally
        {
            await DropConnectionAsync();
        }
    }

    private static async Task<WalState> RunAsync(SqliteConnection connection, string mode, CancellationToken cancellationToken, TimeSpan? wait = null)
    {
        await using var command = connection.CreateCommand();
        // The busy timeout is how long a RESTART or TRUNCATE waits for the others (new writers wait meanwhile); PASSIVE never waits.
        command.CommandText = FormattableString.Invariant($"PRAGMA busy_timeout={(int)(wait ?? TimeSpan.Zero).TotalMilliseconds};");
        await command.ExecuteNonQueryAsync(cancellationToken);
        command.CommandText = $"PRAGMA wal_checkpoint({mode});";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        // busy (1: a writer or reader kept it from finishing), frames in the log, frames copied (-1, -1 when not in WAL mode).
        return new WalState(reader.GetInt64(0) != 0, reader.GetInt64(1), reader.GetInt64(2));
    }

    private async Task DropConnectionAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }

    public override void Dispose()
    {
        _connection?.Dispose();
        base.Dispose();
    }
}

/// <summary>What a checkpoint reported: whether it was kept from finishing, the log's frames, and how many of them are in the database.</summary>
public readonly record struct WalState(bool Busy, long LogPages, long CheckpointedPages);

