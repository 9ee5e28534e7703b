using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Data;

/// <summary>
/// The test host runs with <c>Homeroom:StrictQueries</c>: a first row or a page taken without an order throws, so every
/// test that reaches such a query fails instead of logging a warning nobody reads (EF's 10102 and 10103).
/// </summary>
public sealed class StrictQueriesTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task FirstOrPageWithoutAnOrder_Throws_AndWithAnOrderOrAKey_Answers()
    {
        await using var db = await _host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();

        (await Should.ThrowAsync<InvalidOperationException>(() => db.Districts.Select(d => d.TimeZone).FirstOrDefaultAsync()))
            .Message.ShouldContain("FirstWithoutOrderByAndFilterWarning");
        (await Should.ThrowAsync<InvalidOperationException>(() => db.Devices.Select(d => d.Id).Take(5).ToListAsync()))
            .Message.ShouldContain("RowLimitingOperationWithoutOrderByWarning");

        await Should.NotThrowAsync(() => db.Districts.OrderBy(d => d.Id).Select(d => d.TimeZone).FirstOrDefaultAsync());
        await Should.NotThrowAsync(() => db.Districts.Where(d => d.TimeZone == "UTC").Select(d => d.Name).FirstOrDefaultAsync());
        (await db.Devices.OrderBy(d => d.Id).Select(d => d.Id).Take(5).ToListAsync()).ShouldBeEmpty();
    }
}
