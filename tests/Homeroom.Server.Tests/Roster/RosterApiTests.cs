using System.Net;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Roster;

public sealed class RosterApiTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task SchoolsGroupsPeople_CreateListAndMembership()
    {
        var school = await _host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Lincoln Elementary", code = "LES", timeZone = "America/Chicago" });
        var schoolId = school.GetProperty("id").GetGuid();
        var grade = await _host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Grade 3", kind = "grade", gradeLevel = 3, schoolId });
        var kids = new List<Guid>();
        foreach (var name in new[] { "Ada", "Alan", "Grace" })
        {
            var person = await _host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = name, familyName = "Student", schoolId, gradeLevel = 3 });
            kids.Add(person.GetProperty("id").GetGuid());
        }

        (await _host.PostJsonAsync($"/api/groups/{grade.GetProperty("id").GetGuid()}/members", new { personIds = kids })).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var groups = await _host.GetJsonAsync<JsonElement>($"/api/groups?schoolId={schoolId}");
        groups.GetProperty("total").GetInt32().ShouldBe(1);
        groups.GetProperty("items")[0].GetProperty("memberCount").GetInt32().ShouldBe(3);
        (await _host.GetJsonAsync<JsonElement>($"/api/groups/{grade.GetProperty("id").GetGuid()}/people")).GetProperty("total").GetInt32().ShouldBe(3);
        (await _host.GetJsonAsync<JsonElement>("/api/people?q=Grace")).GetProperty("total").GetInt32().ShouldBe(1);
        (await _host.GetJsonAsync<JsonElement>("/api/schools")).GetProperty("items")[0].GetProperty("code").GetString().ShouldBe("LES");
    }

    [Fact]
    public async Task Create_DuplicateExternalId_Answers409AndKeepsTheFirst()
    {
        await _host.PostJsonAsync<JsonElement>("/api/people", new { kind = "student", givenName = "A", familyName = "One", externalId = "sis-1" });

        using var response = await _host.PostJsonAsync("/api/people", new { kind = "student", givenName = "B", familyName = "Two", externalId = "sis-1" });

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        var people = await _host.GetJsonAsync<JsonElement>("/api/people");
        people.GetProperty("total").GetInt32().ShouldBe(1);
        people.GetProperty("items")[0].GetProperty("givenName").GetString().ShouldBe("A");
    }
}

/// <summary>Refused bodies store nothing, so these cases share one server (<see cref="SharedHost"/>).</summary>
public abstract class RosterApiValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("/api/schools", "{\"name\":\"\"}", "name")]
    [InlineData("/api/schools", "{\"name\":\"X\",\"timeZone\":\"Mars/Olympus\"}", "timeZone")]
    [InlineData("/api/groups", "{\"name\":\"G\"}", "kind")]
    [InlineData("/api/groups", "{\"name\":\"G\",\"kind\":\"class\",\"schoolId\":\"0195a3b2-0000-7000-8000-000000000001\"}", "schoolId")]
    [InlineData("/api/people", "{\"kind\":\"student\",\"givenName\":\"A\"}", "familyName")]
    public async Task Create_InvalidBody_Answers400WithTheField(string path, string body, string field)
    {
        using var response = await Host.Client.PostAsync(new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        problem.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue();
    }
}

public sealed class RosterApiValidationSqliteTests(SharedSqliteHost shared) : RosterApiValidationTests(shared), IClassFixture<SharedSqliteHost>;
