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
}
