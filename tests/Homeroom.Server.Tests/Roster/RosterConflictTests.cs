using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Roster;

/// <summary>Names and identifiers that must be unique answer 409 with ProblemDetails, on create, on update and in a race; never 500.</summary>
public abstract class RosterConflictTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await _host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private static async Task ShouldBeConflictAsync(Task<HttpResponseMessage> call, string because)
    {
        using var response = await call;
        response.StatusCode.ShouldBe(HttpStatusCode.Conflict, because);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json", because);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString().ShouldBe("Conflict", because);
    }

    [Fact]
    public async Task Duplicates_OnCreateAndUpdate_AnswerConflict_AndChangeNothing()
    {
        var lincoln = await IdAsync("/api/schools", new { name = "Lincoln", code = "LIN", timeZone = "UTC" });
        var grant = await IdAsync("/api/schools", new { name = "Grant", code = "GRA", timeZone = "UTC" });
        await ShouldBeConflictAsync(_host.PostJsonAsync("/api/schools", new { name = "Lincoln 2", code = "LIN" }), "school code on create");
        await ShouldBeConflictAsync(_host.Client.PutAsJsonAsync($"/api/schools/{grant}", new { name = "Grant", code = "LIN" }), "school code on update");
        (await _host.GetJsonAsync<JsonElement>($"/api/schools/{grant}")).GetProperty("code").GetString().ShouldBe("GRA");

        var first = await IdAsync("/api/groups", new { name = "5A", kind = "class", schoolId = lincoln, externalId = "sis-5a" });
        var second = await IdAsync("/api/groups", new { name = "5B", kind = "class", schoolId = lincoln, externalId = "sis-5b" });
        await ShouldBeConflictAsync(_host.Client.PutAsJsonAsync($"/api/groups/{second}", new { name = "5B", kind = "class", schoolId = lincoln, externalId = "sis-5a" }), "group external id on update");
        (await _host.GetJsonAsync<JsonElement>($"/api/groups/{second}")).GetProperty("externalId").GetString().ShouldBe("sis-5b");
        first.ShouldNotBe(second);

        await IdAsync("/api/people", new { kind = "student", givenName = "Ada", familyName = "Lovelace", externalId = "s-1" });
        var alan = await IdAsync("/api/people", new { kind = "student", givenName = "Alan", familyName = "Turing", externalId = "s-2" });
        await ShouldBeConflictAsync(_host.PostJsonAsync("/api/people", new { kind = "student", givenName = "Ada", familyName = "Again", externalId = "s-1" }), "person external id on create");
        await ShouldBeConflictAsync(_host.Client.PutAsJsonAsync($"/api/people/{alan}", new { kind = "student", givenName = "Alan", familyName = "Turing", externalId = "s-1" }), "person external id on update");
        (await _host.GetJsonAsync<JsonElement>($"/api/people/{alan}")).GetProperty("externalId").GetString().ShouldBe("s-2");

        await IdAsync("/api/profiles", new { name = "Strict", settings = new { } });
        var relaxed = await IdAsync("/api/profiles", new { name = "Relaxed", settings = new { } });
        await ShouldBeConflictAsync(_host.PostJsonAsync("/api/profiles", new { name = "Strict", settings = new { } }), "profile name on create");
        await ShouldBeConflictAsync(_host.Client.PutAsJsonAsync($"/api/profiles/{relaxed}", new { name = "Strict", settings = new { } }), "profile name on update");

        await IdAsync("/api/accounts", new { username = "jdoe", displayName = "J", password = "a long enough passphrase", role = "readOnly" });
        await ShouldBeConflictAsync(_host.PostJsonAsync("/api/accounts", new { username = "JDoe", displayName = "J", password = "a long enough passphrase", role = "readOnly" }), "username");
    }

    [Fact]
    public async Task ManyRequests_RacingForOneCode_OneWinsTheRestConflict()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await _host.PostJsonAsync("/api/schools", new { name = $"Racer {i}", code = "RACE", timeZone = "UTC" });
            return response.StatusCode;
        }));

        answers.Count(a => a == HttpStatusCode.Created).ShouldBe(1);
        answers.Count(a => a == HttpStatusCode.Conflict).ShouldBe(7);
        (await _host.GetJsonAsync<JsonElement>("/api/schools")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task DeletingASchool_WithStaffLimitedToIt_IsRefused_SoNoAccountBecomesDistrictWide()
    {
        var school = await IdAsync("/api/schools", new { name = "Closing", timeZone = "UTC" });
        var account = await IdAsync("/api/accounts", new { username = "closing-admin", displayName = "C", password = "a long enough passphrase", role = "schoolAdmin", schoolId = school });

        await ShouldBeConflictAsync(_host.Client.DeleteAsync($"/api/schools/{school}"), "staff still limited to the school");
        var accounts = await _host.GetJsonAsync<JsonElement>("/api/accounts");
        accounts.EnumerateArray().Single(a => a.GetProperty("id").GetGuid() == account).GetProperty("schoolId").GetGuid().ShouldBe(school);

        var other = await IdAsync("/api/schools", new { name = "Receiving", timeZone = "UTC" });
        (await _host.Client.PutAsJsonAsync($"/api/accounts/{account}", new { schoolId = other })).EnsureSuccessStatusCode();
        (await _host.Client.DeleteAsync($"/api/schools/{school}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task NulCharacters_InNames_AreRefusedWith400_AndStoreNothing()
    {
        var device = (await _host.EnrollAsync(await _host.CreateTokenAsync(), "SN-NUL-TEST")).DeviceId;
        using (var rename = await _host.Client.PatchAsJsonAsync($"/api/devices/{device}", new { name = "Cart\u0000 7" }))
        {
            rename.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        (await _host.GetJsonAsync<JsonElement>($"/api/devices/{device}")).GetProperty("name").GetString()!.ShouldNotContain("\0");
        using (var group = await _host.PostJsonAsync("/api/groups", new { name = "Bad\u0000name", kind = "custom" }))
        {
            group.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        (await _host.GetJsonAsync<JsonElement>("/api/groups")).GetProperty("total").GetInt32().ShouldBe(0);
    }
}

public sealed class RosterConflictSqliteTests() : RosterConflictTests(DatabaseProvider.Sqlite);

public sealed class RosterConflictPostgresTests() : RosterConflictTests(DatabaseProvider.Postgres);
