using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Data;

/// <summary>A SQLite database that grows with time shrinks with its retention: deleted pages go back to the file system and the write-ahead log is emptied.</summary>
public sealed class SqliteHousekeepingTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<long> PragmaAsync(string name)
    {
        await using var connection = new SqliteConnection(_host.Database.Options.SqliteConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name};";
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Optimize_TablesNeverAnalyzed_GivesThePlannerTheirStatistics()
    {
        // Rollup rows as a year of folding leaves them: the planner needs statistics to pick between the
        // primary key and the school and grade indexes.
        await using (var connection = new SqliteConnection(_host.Database.Options.SqliteConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var insert = connection.CreateCommand();
            insert.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
                INSERT INTO insight_daily (day, school_id, grade, platform, kind, subject, category, seconds, unfocused_seconds, events, students)
                SELECT 20000 + i / 200, 'S' || (i % 20), i % 13, 'chromeos', 'web.visit', 'site' || (i % 10) || '.example', '', 1, 0, 1, x'00' FROM n
                """;
            await insert.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
        }

        (await StatisticsAsync()).ShouldBe(0, "nothing analyzed the table yet");

        await _host.GetService<SqliteMaintenance>().OptimizeAsync(CancellationToken.None);

        (await StatisticsAsync()).ShouldBeGreaterThanOrEqualTo(3, "the primary key and the school and grade indexes have statistics");

        async Task<long> StatisticsAsync()
        {
            await using var connection = new SqliteConnection(_host.Database.Options.SqliteConnectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'";
            if (Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                return 0;
            }

            command.CommandText = "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'insight_daily'";
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    [Fact]
    public async Task RetentionPurge_OfManyRows_ReturnsTheirSpace_AndEmptiesTheLog()
    {
        (await PragmaAsync("auto_vacuum")).ShouldBe(2);
        var device = (await _host.EnrollAsync(await _host.CreateTokenAsync(), "SN-HOUSEKEEPING")).DeviceId;
        var old = _host.Clock.GetUtcNow().UtcDateTime.AddDays(-200);
        var dbFactory = _host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
        var padding = new string('x', 900);
        for (var batch = 0; batch < 10; batch++)
        {
            await using var db = await dbFactory.CreateDbContextAsync();
            db.ActivityEvents.AddRange(Enumerable.Range(1, 2_000).Select(i => new ActivityRecord
            {
                DeviceId = device, Seq = batch * 2_000 + i, OccurredAt = old, ReceivedAt = old, Kind = "webVisit", Url = $"https://example.org/{i}/{padding}",
            }));
            await db.SaveChangesAsync();
        }

        var pagesBefore = await PragmaAsync("page_count");

        var purged = await _host.GetService<ActivityRetention>().PurgeAsync(CancellationToken.None);

        purged.ShouldBe(20_000);
        var pagesAfter = await PragmaAsync("page_count");
        pagesAfter.ShouldBeLessThan(pagesBefore / 2, $"{pagesBefore} pages before, {pagesAfter} after");
        (await PragmaAsync("freelist_count")).ShouldBeLessThan(100);
        new FileInfo(_host.Database.Options.SqlitePath + "-wal").Length.ShouldBeLessThan(1024 * 1024);
    }

    [Fact]
    public async Task PurgeReclaim_WhileAnotherCheckpointRuns_EmptiesTheLogOnceItEnds()
    {
        // SQLite answers a TRUNCATE checkpoint "busy" at once, without waiting, while another connection's checkpoint
        // runs: the checkpointer's round each second is one, and after a purge it copies tens of megabytes for a while.
        // That checkpoint is played here by holding the log's checkpoint lock: byte 121 of the -shm file (SQLite's
        // locks start at byte 120; the checkpoint lock is the second), with a lock SQLite's own conflicts with in this process.
        var walPath = _host.Database.Options.SqlitePath + "-wal";
        await using (var connection = new SqliteConnection(_host.Database.Options.SqliteConnectionString))
        {
            await connection.OpenAsync();
            await using var write = connection.CreateCommand();
            write.CommandText = """
                CREATE TABLE test_scratch (body BLOB NOT NULL);
                WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
                INSERT INTO test_scratch (body) SELECT randomblob(4000) FROM n;
                """;
            await write.ExecuteNonQueryAsync();
        }

        new FileInfo(walPath).Length.ShouldBeGreaterThan(1024 * 1024);
        var checkpointLock = FileRangeLock.Take(_host.Database.Options.SqlitePath + "-shm", offset: 121, length: 1);
        try
        {
            (await TruncateAsync()).ShouldBe(1, "a lone truncation while the lock is held is answered busy: the lock stands for a checkpoint");

            var reclaim = _host.GetService<SqliteMaintenance>().AfterPurgeAsync(SqliteMaintenance.ReclaimThreshold, CancellationToken.None);
            await Task.Delay(TimeSpan.FromMilliseconds(400));
            reclaim.IsCompleted.ShouldBeFalse("the purge's truncation waits for the other checkpoint rather than give up");
            checkpointLock.Dispose();

            (await reclaim).ShouldBeTrue();
            new FileInfo(walPath).Length.ShouldBeLessThan(1024 * 1024);
        }
        finally
        {
            checkpointLock.Dispose();
        }

        async Task<long> TruncateAsync()
        {
            await using var connection = new SqliteConnection(_host.Database.Options.SqliteConnectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return reader.GetInt64(0);
        }
    }
}
