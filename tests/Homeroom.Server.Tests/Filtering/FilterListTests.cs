using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Tests;
using Homeroom.Server.Data;
using Homeroom.Server.Filtering;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Filtering;

public abstract class FilterListTests(DatabaseProvider provider) : IAsyncLifetime
{
    private static readonly Lazy<byte[]> Ut1Archive = new(() =>
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            TarFile.CreateFromDirectory(SharedData.PathOf("filter-lists/ut1"), gzip, includeBaseDirectory: true);
        }

        return output.ToArray();
    });

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<HttpResponseMessage> UploadAsync(string query, byte[] body, string contentType = "application/gzip")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await Host.Client.PostAsync($"/api/filter-lists?{query}", content);
    }

    private async Task<Guid> DeviceWithProfileAsync(object webFilter)
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "SN-" + Guid.NewGuid().ToString("N")[..8]);
        var profile = await Host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Filter " + Guid.NewGuid().ToString("N")[..6], settings = new { webFilter } });
        await Host.PostJsonAsync<JsonElement>("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "device", scopeId = enrolled.DeviceId.ToString() });
        return enrolled.DeviceId;
    }

    private Task<JsonElement> CheckAsync(Guid deviceId, string url) =>
        Host.GetJsonAsync<JsonElement>($"/api/devices/{deviceId}/filter-check?url={Uri.EscapeDataString(url)}");

    [Fact]
    public async Task Ut1Archive_Upload_BlocksByCategory_AndExplainsWhy()
    {
        using var response = await UploadAsync("name=UT1&format=ut1", Ut1Archive.Value);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var list = await response.Content.ReadFromJsonAsync<JsonElement>();
        list.GetProperty("entries").GetInt32().ShouldBeGreaterThan(600_000);
        list.GetProperty("notes").GetArrayLength().ShouldBeGreaterThan(0);

        var summary = await Host.GetJsonAsync<JsonElement>("/api/filter-lists/categories");
        summary.GetProperty("categories").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ShouldContain("gambling");

        var gamblingHost = File.ReadLines(Path.Combine(SharedData.PathOf("filter-lists/ut1"), "gambling", "domains")).First(l => l.Contains('.', StringComparison.Ordinal) && !l.StartsWith('#') && !char.IsAsciiDigit(l[^1]));
        var device = await DeviceWithProfileAsync(new { blockedCategories = new[] { "gambling" }, allowedSites = new[] { "docs.example.org" } });

        var blocked = await CheckAsync(device, $"https://www.{gamblingHost.ToUpperInvariant()}./page");
        blocked.GetProperty("blocked").GetBoolean().ShouldBeTrue();
        blocked.GetProperty("reason").GetString().ShouldBe("blockedCategory");
        blocked.GetProperty("category").GetString().ShouldBe("gambling");
        blocked.GetProperty("matchedHost").GetString().ShouldBe(gamblingHost);
        blocked.GetProperty("ruleFrom").GetProperty("level").GetString().ShouldBe("device");

        var allowed = await CheckAsync(device, "https://docs.example.org/a");
        allowed.GetProperty("blocked").GetBoolean().ShouldBeFalse();
        allowed.GetProperty("reason").GetString().ShouldBe("allowedSite");

        var lookAlike = await CheckAsync(device, $"https://not{gamblingHost}/");
        lookAlike.GetProperty("blocked").GetBoolean().ShouldBeFalse();
    }

    [Fact]
    public async Task PlainList_ReplacedByABrokenOne_KeepsTheOldList()
    {
        using var first = await UploadAsync("name=District%20blocks&format=plain&category=district_block", Encoding.UTF8.GetBytes("0.0.0.0 tiktok.test\nroblox.test\nbad line here\n"), "text/plain");
        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        var created = await first.Content.ReadFromJsonAsync<JsonElement>();
        created.GetProperty("entries").GetInt32().ShouldBe(2);
        created.GetProperty("errors")[0].GetProperty("line").GetInt32().ShouldBe(3);
        var device = await DeviceWithProfileAsync(new { blockedCategories = new[] { "district_block" } });
        (await CheckAsync(device, "https://www.roblox.test/")).GetProperty("blocked").GetBoolean().ShouldBeTrue();

        using var broken = await UploadAsync("name=District%20blocks&format=plain&category=district_block", Encoding.UTF8.GetBytes("not a host\n%%%\n"), "text/plain");

        broken.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        broken.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await broken.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("lineErrors").GetArrayLength().ShouldBe(2);
        (await CheckAsync(device, "https://www.roblox.test/")).GetProperty("blocked").GetBoolean().ShouldBeTrue();
        (await Host.GetJsonAsync<JsonElement>("/api/filter-lists"))[0].GetProperty("entries").GetInt32().ShouldBe(2);
    }

    // A tiny but real PNG (a 1x1 image): signature, IHDR, IDAT, IEND.
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    private static byte[] TarGz(Dictionary<string, string> files)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip))
        {
            foreach (var (name, text) in files)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
            }
        }

        return output.ToArray();
    }

    public static TheoryData<string, string, string> NotLists => new()
    {
        { "png-as-plain", "format=plain&category=district_block", "PNG image" },
        { "png-as-ut1", "format=ut1", "PNG image" },
        { "binary-as-plain", "format=plain&category=district_block", "binary data" },
        { "gzip-binary-as-plain", "format=plain&category=district_block", "binary data" },
        { "empty-plain", "format=plain&category=district_block", "empty" },
        { "empty-ut1", "format=ut1", "empty" },
        { "tar-without-ut1", "format=ut1", "no UT1" },
        { "ut1-as-plain", "format=plain&category=district_block", "tar archive" },
    };

    private static byte[] Body(string kind)
    {
        var random = new byte[4096];
        new Random(7).NextBytes(random);
        random[100] = 0;
        return kind switch
        {
            "png-as-plain" or "png-as-ut1" => Png,
            "binary-as-plain" => random,
            "gzip-binary-as-plain" => Gzip(random),
            "empty-plain" or "empty-ut1" => [],
            "tar-without-ut1" => TarGz(new() { ["photos/readme.txt"] = "holiday pictures\n", ["photos/list.csv"] = "a,b\n" }),
            "ut1-as-plain" => TarGz(new() { ["blacklists/games/domains"] = "game.test\n" }),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    [Theory]
    [MemberData(nameof(NotLists))]
    public async Task Upload_NotAList_IsRefusedWithWhatItIs_AndTheListOfThatNameStays(string kind, string query, string message)
    {
        using var first = await UploadAsync("name=District%20blocks&format=plain&category=district_block", Encoding.UTF8.GetBytes("roblox.test\n"), "text/plain");
        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        var before = await Host.GetJsonAsync<JsonElement>("/api/filter-lists");

        using var response = await UploadAsync($"name=District%20blocks&{query}", Body(kind), query.Contains("ut1", StringComparison.Ordinal) ? "application/gzip" : "text/plain");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, kind);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.Content.ReadAsStringAsync()).ShouldContain(message, Case.Insensitive, kind);
        var after = await Host.GetJsonAsync<JsonElement>("/api/filter-lists");
        after.GetArrayLength().ShouldBe(1);
        after[0].GetProperty("updatedAt").GetDateTime().ShouldBe(before[0].GetProperty("updatedAt").GetDateTime());
        after[0].GetProperty("entries").GetInt32().ShouldBe(1);
        (await Host.GetJsonAsync<JsonElement>("/api/filter-lists/lookup?url=roblox.test")).GetProperty("matches")[0].GetProperty("category").GetString().ShouldBe("district_block");
    }

    [Fact]
    public async Task Upload_WithBadLines_StoresItsReport_WithLineNumbersAndCategoryCounts()
    {
        var lines = new StringBuilder("# district additions\nplay.test\n");
        for (var i = 0; i < FilterListImportReportCap + 5; i++)
        {
            lines.Append("two words\n");
        }

        lines.Append("games.test/arcade\n");
        using var plain = await UploadAsync("name=Extra&format=plain&category=extra", Encoding.UTF8.GetBytes(lines.ToString()), "text/plain");
        plain.StatusCode.ShouldBe(HttpStatusCode.Created);
        using var archive = await UploadAsync("name=Mini%20UT1&format=ut1", TarGz(new()
        {
            ["blacklists/games/domains"] = "game.test\nbad host\nplay.test\n",
            ["blacklists/games/urls"] = "videos.test/games\n",
            ["blacklists/social/domains"] = "social.test\n",
        }));
        archive.StatusCode.ShouldBe(HttpStatusCode.Created);

        var lists = (await Host.GetJsonAsync<JsonElement>("/api/filter-lists")).EnumerateArray().ToDictionary(l => l.GetProperty("name").GetString()!);
        var extra = lists["Extra"];
        extra.GetProperty("entries").GetInt32().ShouldBe(2);
        extra.GetProperty("skippedLines").GetInt32().ShouldBe(FilterListImportReportCap + 5);
        extra.GetProperty("errors").GetArrayLength().ShouldBe(FilterListImportReportCap);
        extra.GetProperty("errors")[0].GetProperty("line").GetInt32().ShouldBe(3);
        extra.GetProperty("errors")[0].GetProperty("message").GetString().ShouldBe("A line holds one host or host/path.");
        Categories(extra).ShouldBe(["extra=2"]);
        var mini = lists["Mini UT1"];
        mini.GetProperty("errors")[0].GetProperty("source").GetString().ShouldBe("games/domains");
        mini.GetProperty("errors")[0].GetProperty("line").GetInt32().ShouldBe(2);
        Categories(mini).ShouldBe(["games=3", "social=1"]);

        static string[] Categories(JsonElement list) =>
            [.. list.GetProperty("categories").EnumerateArray().Select(c => $"{c.GetProperty("name").GetString()}={c.GetProperty("entries").GetInt32()}")];
    }

    private const int FilterListImportReportCap = Homeroom.Rules.Filtering.FilterListImportReport.MaxErrorsKept;

    [Fact]
    public async Task Lookup_InEveryListOrOne_NamesTheCategoryListedHostAndList()
    {
        (await UploadAsync("name=Games&format=plain&category=games", Encoding.UTF8.GetBytes("play.test\n"), "text/plain")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await UploadAsync("name=More%20games&format=plain&category=games", Encoding.UTF8.GetBytes("arcade.test\n"), "text/plain")).StatusCode.ShouldBe(HttpStatusCode.Created);
        var more = (await Host.GetJsonAsync<JsonElement>("/api/filter-lists")).EnumerateArray().Single(l => l.GetProperty("name").GetString() == "More games").GetProperty("id").GetGuid();

        var everywhere = await Host.GetJsonAsync<JsonElement>("/api/filter-lists/lookup?url=" + Uri.EscapeDataString("https://www.play.test/level/2"));
        everywhere.GetProperty("host").GetString().ShouldBe("www.play.test");
        var match = everywhere.GetProperty("matches").EnumerateArray().Single();
        match.GetProperty("category").GetString().ShouldBe("games");
        match.GetProperty("listedHost").GetString().ShouldBe("play.test");
        match.GetProperty("lists").EnumerateArray().Select(l => l.GetString()).ShouldBe(["Games", "More games"]);

        // The category is in both lists, but only one of them lists this host.
        var inOne = await Host.GetJsonAsync<JsonElement>($"/api/filter-lists/lookup?url=play.test&listId={more}");
        inOne.GetProperty("listName").GetString().ShouldBe("More games");
        inOne.GetProperty("matches").GetArrayLength().ShouldBe(0);
        (await Host.GetJsonAsync<JsonElement>($"/api/filter-lists/lookup?url=arcade.test&listId={more}")).GetProperty("matches").GetArrayLength().ShouldBe(1);

        (await Host.GetJsonAsync<JsonElement>("/api/filter-lists/lookup?url=" + Uri.EscapeDataString("http://bad host/"))).GetProperty("error").GetString().ShouldNotBeNullOrEmpty();
        (await Host.Client.GetAsync("/api/filter-lists/lookup")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Host.Client.GetAsync($"/api/filter-lists/lookup?url=play.test&listId={Guid.NewGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task OversizedUpload_Answers413()
    {
        var body = new byte[UploadFilterList.MaxPlainBytes + 1024];
        Array.Fill(body, (byte)'a');
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/filter-lists?name=big&format=plain&category=c") { Content = new ByteArrayContent(body) };
        request.Headers.ExpectContinue = true;

        // The server refuses from the declared length without reading; the client waits for that answer
        // instead of sending the body after the default one second (which a busy machine can exceed).
        using var client = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(30) }) { BaseAddress = Host.BaseAddress };
        client.DefaultRequestHeaders.Authorization = Host.Client.DefaultRequestHeaders.Authorization;
        using var response = await client.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await Host.GetJsonAsync<JsonElement>("/api/filter-lists")).GetArrayLength().ShouldBe(0);
    }

    [Fact]
    public async Task Export_ForDevicesWithTheirCredential_ListsRequestedCategories()
    {
        using var upload = await UploadAsync("name=custom&format=plain&category=custom", Encoding.UTF8.GetBytes("a.test\nb.test/path\n"), "text/plain");
        upload.StatusCode.ShouldBe(HttpStatusCode.Created);
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "SN-EXPORT");
        using var client = Host.CreateClient();

        using var anonymous = await client.GetAsync($"{AgentProtocol.FilterListPath}?categories=custom");
        anonymous.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Device", $"{enrolled.DeviceId}:wrong");
        using var wrong = await client.GetAsync($"{AgentProtocol.FilterListPath}?categories=custom");
        wrong.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Device", $"{enrolled.DeviceId}:{enrolled.Credential}");
        var text = await client.GetStringAsync($"{AgentProtocol.FilterListPath}?categories=custom,unknown");
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ShouldBe(["# custom", "a.test", "b.test/path"]);

        using var bad = await client.GetAsync($"{AgentProtocol.FilterListPath}?categories=../x");
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ListChange_SendsDevicesANewPolicyVersion()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var first = await agent.ExpectAsync<PolicyFrame>();

        using var upload = await UploadAsync("name=custom&format=plain&category=custom", Encoding.UTF8.GetBytes("a.test\n"), "text/plain");
        var second = await agent.ExpectAsync<PolicyFrame>();

        second.Version.ShouldBe(first.Version + 1);
        second.Document.GetProperty("filter").GetProperty("listVersion").GetString().ShouldNotBe(first.Document.GetProperty("filter").GetProperty("listVersion").GetString());
    }
}

public sealed class FilterListSqliteTests() : FilterListTests(DatabaseProvider.Sqlite);

public sealed class FilterListPostgresTests() : FilterListTests(DatabaseProvider.Postgres);

/// <summary>Refused uploads store nothing, so these cases share one server (<see cref="SharedHost"/>): none is ever stored, so the list stays empty.</summary>
public abstract class FilterListValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    private async Task<HttpResponseMessage> UploadAsync(string query, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await Host.Client.PostAsync($"/api/filter-lists?{query}", content);
    }

    [Theory]
    [InlineData("name=x&format=ut1", "this is not an archive")]
    [InlineData("name=x&format=zip", "example.test")]
    [InlineData("format=plain&category=c", "example.test")]
    [InlineData("name=x&format=plain", "example.test")]
    [InlineData("name=x&format=plain&category=..%2Fetc", "example.test")]
    [InlineData("name=x&format=plain&category=c", "")]
    public async Task BadUploads_AreRefused_AndStoreNothing(string query, string body)
    {
        using var response = await UploadAsync(query, Encoding.UTF8.GetBytes(body), "text/plain");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await Host.GetJsonAsync<JsonElement>("/api/filter-lists")).GetArrayLength().ShouldBe(0);
    }
}

public sealed class FilterListValidationSqliteTests(SharedSqliteHost shared) : FilterListValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class FilterListValidationPostgresTests(SharedPostgresHost shared) : FilterListValidationTests(shared), IClassFixture<SharedPostgresHost>;
