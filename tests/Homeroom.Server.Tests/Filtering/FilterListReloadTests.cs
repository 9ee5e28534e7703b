using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Homeroom.Rules.Filtering;
using Homeroom.Server.Data;
using Homeroom.Server.Filtering;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Filtering;

/// <summary>
/// A stored list this version cannot read is left out of the filter. It measures no memory, so it runs with the
/// other tests rather than alone beside <see cref="FilterListUploadLimitsTests"/>, where it was before.
/// </summary>
public abstract class FilterListReloadTests(DatabaseProvider provider) : IAsyncLifetime
{
    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    [Fact]
    public async Task Reload_StoredListThatNoLongerImports_IsLeftOutAndTheOthersLoad()
    {
        // A list stored by an older version, whose content this one cannot read.
        var factory = Host.GetService<IDbContextFactory<HomeroomDbContext>>();
        await using (var db = await factory.CreateDbContextAsync().WaitAsync(HomeroomHost.Timeout))
        {
            var now = DateTime.UtcNow;
            db.FilterLists.Add(new FilterListRecord
            {
                Id = Guid.CreateVersion7(), Name = "damaged", Format = FilterListFormats.Ut1, Content = Encoding.UTF8.GetBytes("not an archive"),
                ContentBytes = 14, Entries = 1, ReportJson = "{}", CreatedAt = now, UpdatedAt = now,
            });
            await db.SaveChangesAsync().WaitAsync(HomeroomHost.Timeout);
        }

        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("a.test\n"));
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var upload = await Host.Client.PostAsync(new Uri("/api/filter-lists?name=custom&format=plain&category=custom", UriKind.Relative), content).WaitAsync(HomeroomHost.Timeout);

        upload.StatusCode.ShouldBe(HttpStatusCode.Created, await upload.Content.ReadAsStringAsync().WaitAsync(HomeroomHost.Timeout));
        var summary = await Host.GetJsonAsync<JsonElement>("/api/filter-lists/categories");
        summary.GetProperty("hosts").GetInt32().ShouldBe(1);
        Host.GetService<FilterListStore>().FilterFor(new WebFilterSettings(["custom"], [], [], [], false)).Decide("www.a.test").Blocked.ShouldBeTrue();
    }
}

public sealed class FilterListReloadSqliteTests() : FilterListReloadTests(DatabaseProvider.Sqlite);

public sealed class FilterListReloadPostgresTests() : FilterListReloadTests(DatabaseProvider.Postgres);
