using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Diagnostics;

/// <summary>
/// The district's sites every diagnostics report tests: the configuration's until a district administrator saves a list,
/// which the next <c>diagnose</c> command carries; bad lists are refused whole and change nothing; audited; other roles
/// read them (those who may run diagnostics) or nothing at all.
/// </summary>
public abstract class DiagnosticSitesTests(DatabaseProvider provider) : IAsyncLifetime
{
    private const string Configured = "https://learn.example.org/";

    private HomeroomHost Host { get; set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider, $"Homeroom:Diagnostics:Sites:0={Configured}");

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<JsonElement> SitesAsync(HttpClient? client = null)
    {
        using var response = await (client ?? Host.Client).GetAsync("/api/diagnostics/sites");
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static string[] List(JsonElement sites) => [.. sites.GetProperty("sites").EnumerateArray().Select(s => s.GetString()!)];

    private async Task<string?> NextUrlsAsync(TestAgent agent)
    {
        (await Host.PostJsonAsync($"/api/devices/{agent.DeviceId}/diagnostics", new { })).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var command = await agent.ExpectAsync<CommandFrame>();
        command.Kind.ShouldBe(CommandKinds.Diagnose);
        return command.Arguments?.GetValueOrDefault("urls");
    }

    [Fact]
    public async Task Sites_SavedByTheDistrict_AreWhatTheNextReportTests_AndBackToTheConfigurationOnRequest()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var first = await SitesAsync();
        List(first).ShouldBe([Configured]);
        first.GetProperty("fromConfiguration").GetBoolean().ShouldBeTrue();
        (await NextUrlsAsync(agent)).ShouldBe(Configured);

        using (var saved = await Host.Client.PutAsJsonAsync("/api/diagnostics/sites", new { sites = new[] { " https://classroom.google.com/ ", "https://www.khanacademy.org/math" } }))
        {
            saved.StatusCode.ShouldBe(HttpStatusCode.OK, await saved.Content.ReadAsStringAsync());
        }

        var now = await SitesAsync();
        List(now).ShouldBe(["https://classroom.google.com/", "https://www.khanacademy.org/math"]);
        now.GetProperty("fromConfiguration").GetBoolean().ShouldBeFalse();
        (await NextUrlsAsync(agent)).ShouldBe("https://classroom.google.com/ https://www.khanacademy.org/math");

        // None at all: the report tests the Homeroom server only.
        (await Host.Client.PutAsJsonAsync("/api/diagnostics/sites", new { sites = Array.Empty<string>() })).EnsureSuccessStatusCode();
        List(await SitesAsync()).ShouldBeEmpty();
        (await NextUrlsAsync(agent)).ShouldBeNull();

        (await Host.Client.PutAsJsonAsync("/api/diagnostics/sites", new { useConfiguration = true })).EnsureSuccessStatusCode();
        (await SitesAsync()).GetProperty("fromConfiguration").GetBoolean().ShouldBeTrue();
        (await NextUrlsAsync(agent)).ShouldBe(Configured);
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=diagnostics.sites")).GetProperty("total").GetInt32().ShouldBe(3);
    }

    [Theory]
    [InlineData("""{"sites":["http://plain.example.org/"]}""", "https")]
    [InlineData("""{"sites":["https://a.example.org/ https://b.example.org/"]}""", "without spaces")]
    [InlineData("""{"sites":["https://user:pw@a.example.org/"]}""", "no user name")]
    [InlineData("""{"sites":[""]}""", "without spaces")]
    [InlineData("""{"sites":["1","2","3","4","5","6","7","8"]}""", "At most 7")]
    [InlineData("""{}""", "useConfiguration")]
    [InlineData("""{"sites":"https://a.example.org/"}""", "")]
    public async Task Sites_BadLists_AreRefusedWhole_AndChangeNothing(string body, string words)
    {
        (await Host.Client.PutAsJsonAsync("/api/diagnostics/sites", new { sites = new[] { "https://kept.example.org/" } })).EnsureSuccessStatusCode();

        using var refused = await Host.Client.PutAsync("/api/diagnostics/sites", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        refused.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        (await refused.Content.ReadAsStringAsync()).ShouldContain(words);
        List(await SitesAsync()).ShouldBe(["https://kept.example.org/"]);
    }

    [Fact]
    public async Task Sites_ReadByTechnicians_ChangedByDistrictAdministratorsOnly()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "North", timeZone = "UTC" })).GetProperty("id").GetGuid();
        using var technician = await Host.SignInAsNewAccountAsync("tech", "itTechnician", schoolId: school);
        using var schoolAdmin = await Host.SignInAsNewAccountAsync("principal", "schoolAdmin", schoolId: school);
        using var teacher = await Host.SignInAsNewAccountAsync("teacher", "teacher", schoolId: school);

        List(await SitesAsync(technician)).ShouldBe([Configured]);
        (await teacher.GetAsync("/api/diagnostics/sites")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        foreach (var caller in new[] { technician, schoolAdmin })
        {
            (await caller.PutAsJsonAsync("/api/diagnostics/sites", new { sites = new[] { "https://evil.example.org/" } })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        List(await SitesAsync()).ShouldBe([Configured]);
    }
}

public sealed class DiagnosticSitesSqliteTests() : DiagnosticSitesTests(DatabaseProvider.Sqlite);

public sealed class DiagnosticSitesPostgresTests() : DiagnosticSitesTests(DatabaseProvider.Postgres);
