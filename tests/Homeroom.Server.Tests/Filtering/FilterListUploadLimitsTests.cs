using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Rules.Filtering;
using Homeroom.Server.Data;
using Homeroom.Rules.Tests.Filtering;
using Homeroom.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Homeroom.Server.Tests.Filtering;

/// <summary>
/// These tests measure the test process's memory, so they run alone: after every other test of the process, or
/// (scripts/test.sh, by their trait) in a process of their own beside the other test projects, so the
/// server tests' two threads do not wait for them at the end.
/// </summary>
[CollectionDefinition(nameof(FilterListMemoryCollection), DisableParallelization = true)]
public sealed class FilterListMemoryCollection;

[Collection(nameof(FilterListMemoryCollection))]
[Trait(AloneInProcess.Trait, AloneInProcess.Value)]
public abstract class FilterListUploadLimitsTests(DatabaseProvider provider, ITestOutputHelper output) : IAsyncLifetime
{
    private const long HugeLine = 255L * 1024 * 1024;
    private const long MemoryBudget = 64L * 1024 * 1024;

    // A UT1 archive whose only list is one line of 255 MB: a few hundred kilobytes compressed. Built by
    // streaming, never held expanded.
    private static readonly Lazy<byte[]> OneHugeLineArchive = new(() =>
        GeneratedLists.TarGz(("blacklists/games/domains", GeneratedLists.Text(string.Empty, 'a', HugeLine, "\n"))));

    // A UT1 archive with one usable list and a file that expands past the import limit.
    private static readonly Lazy<byte[]> ExpandingArchive = new(() =>
        GeneratedLists.TarGz(
            ("blacklists/games/domains", GeneratedLists.Text("game.test\n", 'x', 0, string.Empty)),
            ("blacklists/README", GeneratedLists.Text(string.Empty, 'z', FilterListImport.MaxDecompressedBytes, string.Empty))));

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    [Fact]
    public async Task Upload_ArchiveWithOneLineOfHundredsOfMegabytes_ReportsTheLineAndStaysFarBelowItsSize()
    {
        var lists = await KnownListsAsync();
        var archive = OneHugeLineArchive.Value;
        archive.Length.ShouldBeLessThan(4 * 1024 * 1024);

        var (response, peakGrowth, allocated) = await MeasureAsync(() => UploadAsync("name=UT1&format=ut1", archive, "application/gzip"));

        using (response)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync().WaitAsync(HomeroomHost.Timeout));
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(HomeroomHost.Timeout);
            problem.GetProperty("title").GetString().ShouldBe("The list has no usable entries");
            var line = problem.GetProperty("lineErrors").EnumerateArray().Single();
            line.GetProperty("source").GetString().ShouldBe("games/domains");
            line.GetProperty("line").GetInt32().ShouldBe(1);
            line.GetProperty("message").GetString()!.ShouldContain("longer than");
        }

        output.WriteLine($"peak resident growth {peakGrowth / 1048576.0:F1} MB, allocated {allocated / 1048576.0:F1} MB");
        peakGrowth.ShouldBeLessThan(MemoryBudget, $"resident memory grew by {peakGrowth / 1048576.0:F1} MB at its peak reading a {HugeLine / 1048576} MB line");
        allocated.ShouldBeLessThan(MemoryBudget, $"{allocated / 1048576.0:F1} MB allocated reading a {HugeLine / 1048576} MB line");
        await ShouldBeUnchangedAsync(lists);
    }

    [Fact]
    public async Task Upload_ArchiveExpandingBeyondTheLimit_Answers413AndChangesNothing()
    {
        var lists = await KnownListsAsync();
        var archive = ExpandingArchive.Value;

        var (response, peakGrowth, allocated) = await MeasureAsync(() => UploadAsync("name=UT1&format=ut1", archive, "application/gzip"));
        output.WriteLine($"peak resident growth {peakGrowth / 1048576.0:F1} MB, allocated {allocated / 1048576.0:F1} MB");

        using (response)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge, await response.Content.ReadAsStringAsync().WaitAsync(HomeroomHost.Timeout));
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(HomeroomHost.Timeout);
            problem.GetProperty("title").GetString().ShouldBe("The list is too large");
            problem.GetProperty("detail").GetString()!.ShouldContain(string.Create(CultureInfo.InvariantCulture, $"{FilterListImport.MaxDecompressedBytes / (1024 * 1024)} MB"));
        }

        peakGrowth.ShouldBeLessThan(MemoryBudget);
        await ShouldBeUnchangedAsync(lists);
    }

    private async Task<HttpResponseMessage> UploadAsync(string query, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await Host.Client.PostAsync(new Uri($"/api/filter-lists?{query}", UriKind.Relative), content).WaitAsync(HomeroomHost.Timeout);
    }

    // The lists in use before a refused upload: one plain list, its summary and version.
    private async Task<string> KnownListsAsync()
    {
        using var first = await UploadAsync("name=District&format=plain&category=district_block", Encoding.UTF8.GetBytes("roblox.test\n"), "text/plain");
        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (await Host.GetJsonAsync<JsonElement>("/api/filter-lists/categories")).GetRawText();
    }

    private async Task ShouldBeUnchangedAsync(string lists)
    {
        (await Host.GetJsonAsync<JsonElement>("/api/filter-lists/categories")).GetRawText().ShouldBe(lists);
        var stored = await Host.GetJsonAsync<JsonElement>("/api/filter-lists");
        stored.EnumerateArray().Select(l => l.GetProperty("name").GetString()).ShouldBe(["District"]);
    }

    // Peak resident memory growth (Linux: VmHWM after resetting it, against VmRSS before) and bytes
    // allocated by the whole process while the call runs, after full collections.
    private static async Task<(T Result, long PeakGrowth, long Allocated)> MeasureAsync<T>(Func<Task<T>> call)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        File.WriteAllText("/proc/self/clear_refs", "5");
        var residentBefore = ProcStatus("VmRSS");
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);

        var result = await call().WaitAsync(HomeroomHost.Timeout);

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var peak = ProcStatus("VmHWM");
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return (result, peak - residentBefore, allocated);
    }

    private static long ProcStatus(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture) * 1024;
    }
}

public sealed class FilterListUploadLimitsSqliteTests(ITestOutputHelper output) : FilterListUploadLimitsTests(DatabaseProvider.Sqlite, output);

public sealed class FilterListUploadLimitsPostgresTests(ITestOutputHelper output) : FilterListUploadLimitsTests(DatabaseProvider.Postgres, output);
