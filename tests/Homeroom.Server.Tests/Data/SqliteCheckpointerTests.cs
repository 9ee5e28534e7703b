using Homeroom.Server.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Homeroom.Server.Tests.Data;

/// <summary>
/// The server's SQLite connections never checkpoint the write-ahead log in a commit (below the backstop),
/// and the checkpointer copies it from its own connection and empties the file once writes pause.
/// A database of its own, with no server (whose checkpointer would run every second beside the test).
/// </summary>
public sealed class SqliteCheckpointerTests : IDisposable
{
    private const int RowBytes = 1_000;
    private readonly DatabaseOptions _options = new() { DataDirectory = Path.Combine(Path.GetTempPath(), "homeroom-wal-" + Guid.NewGuid().ToString("N")[..8]) };

    public SqliteCheckpointerTests() => Directory.CreateDirectory(_options.DataDirectory);

    public void Dispose()
    {
        using (var connection = new SqliteConnection(_options.SqliteConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        Directory.Delete(_options.DataDirectory, recursive: true);
    }

    private long WalBytes => new FileInfo(_options.SqlitePath + "-wal") is { Exists: true } wal ? wal.Length : 0;

    /// <summary>Writes <paramref name="transactions"/> commits of 500 rows of 1,000 bytes through a server connection.</summary>
    private async Task WriteAsync(int transactions, SqliteCheckpointer? afterCommit = null)
    {
        await using var connection = DatabaseSetup.CreateConnection(_options);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS filler (x BLOB NOT NULL);";
        await command.ExecuteNonQueryAsync();
        for (var t = 0; t < transactions; t++)
        {
            await using var transaction = await connection.BeginTransactionAsync();
            command.Transaction = transaction;
            command.CommandText = $"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 499) INSERT INTO filler SELECT randomblob({RowBytes}) FROM n";
            await command.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            afterCommit?.AfterCommit(connection);
        }
    }

    [Fact]
    public async Task Commits_OfTwentyMegabytes_LeaveTheLogToTheCheckpointer_WhichEmptiesItOnceWritesPause()
    {
        await WriteAsync(40);

        // SQLite's default checkpoints in the commit past 1,000 pages (4 MB), and the next commit starts the log again.
        WalBytes.ShouldBeGreaterThan(16L * 1024 * 1024, "no commit checkpointed the log");

        var checkpointer = new SqliteCheckpointer(_options, TimeProvider.System, NullLogger<SqliteCheckpointer>.Instance);
        try
        {
            var first = await checkpointer.CheckpointAsync(SqliteCheckpointer.RestartPages, CancellationToken.None);
            first.Busy.ShouldBeFalse();
            first.LogPages.ShouldBeGreaterThan(4_000);
            first.CheckpointedPages.ShouldBe(first.LogPages, "a passive checkpoint copied every frame, nobody else reading or writing");
            WalBytes.ShouldBeGreaterThan(16L * 1024 * 1024, "a passive checkpoint leaves the file as it is");

            // Nothing written since the last round: the log is emptied.
            var second = await checkpointer.CheckpointAsync(SqliteCheckpointer.RestartPages, CancellationToken.None);
            second.LogPages.ShouldBe(0);
            WalBytes.ShouldBe(0);
        }
        finally
        {
            checkpointer.Dispose();
        }
    }

    [Fact]
    public async Task LogPastTheRestartSize_WhileAReaderKeepsTheCheckpointerOut_IsRestartedByTheNextWritersCommit()
    {
        await WriteAsync(10);
        var checkpointer = new SqliteCheckpointer(_options, TimeProvider.System, NullLogger<SqliteCheckpointer>.Instance);
        try
        {
            // A read in progress: the frames written after it began cannot be copied while it lasts.
            await using (var reader = (SqliteConnection)DatabaseSetup.CreateConnection(_options))
            {
                await reader.OpenAsync();
                await using var reading = reader.BeginTransaction(deferred: true);
                await using (var count = reader.CreateCommand())
                {
                    count.CommandText = "SELECT COUNT(*) FROM filler";
                    (await count.ExecuteScalarAsync()).ShouldBe(5_000L);
                }

                await WriteAsync(2);
                var held = await checkpointer.CheckpointAsync(1_000, CancellationToken.None);
                held.CheckpointedPages.ShouldBeLessThan(held.LogPages, "the reader keeps the last frames from being copied");
                checkpointer.RestartDue.ShouldBeTrue();
            }

            // The reader is gone. The next writer's commit restarts the log, so the commit after it starts from the beginning.
            await WriteAsync(2, checkpointer);
            checkpointer.RestartDue.ShouldBeFalse();
            (await checkpointer.CheckpointAsync(SqliteCheckpointer.RestartPages, CancellationToken.None)).LogPages.ShouldBeLessThan(500, "one 125-page commit since the restart");
        }
        finally
        {
            checkpointer.Dispose();
        }
    }
}
