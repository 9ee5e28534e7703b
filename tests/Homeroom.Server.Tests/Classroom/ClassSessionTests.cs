using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Classroom;

public abstract class ClassSessionTests(DatabaseProvider provider) : IAsyncLifetime
{
    private static readonly TimeZoneInfo Chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private int _schools;

    private async Task<Guid> ClassAsync(string kind = "class")
    {
        // School names are unique in a district: each class here gets a school of its own.
        var school = await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = $"Maple Valley Middle {++_schools}", timeZone = "America/Chicago" });
        var group = await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Period 2 science", kind, schoolId = school.GetProperty("id").GetGuid() });
        return group.GetProperty("id").GetGuid();
    }

    // Moves the server's clock to the next Monday at this local time in Chicago.
    private DateTimeOffset GoToMonday(int hour, int minute)
    {
        var now = Host.Clock.GetUtcNow();
        var local = TimeZoneInfo.ConvertTime(now, Chicago).Date.AddDays(1);
        while (local.DayOfWeek != DayOfWeek.Monday)
        {
            local = local.AddDays(1);
        }

        var target = local.AddHours(hour).AddMinutes(minute);
        var at = new DateTimeOffset(target, Chicago.GetUtcOffset(target));
        Host.Clock.Advance(at - Host.Clock.GetUtcNow());
        return at;
    }

    private async Task<JsonElement> StateAsync(Guid id) => await Host.GetJsonAsync<JsonElement>($"/api/groups/{id}/session");

    [Fact]
    public async Task Schedule_DecidesWhenTheClassIsInSession_AndAdHocSessionsOnlyInTheSchoolDay()
    {
        var id = await ClassAsync();
        var now = Host.Clock.GetUtcNow();
        using var put = await Host.Client.PutAsJsonAsync($"/api/groups/{id}/schedule", new
        {
            termStart = now.AddDays(-30).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            termEnd = now.AddDays(60).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            meetings = new[] { new { days = new[] { "monday", "wednesday", "friday" }, start = "09:00", end = "09:50" } },
        }, HomeroomHost.Json);
        put.StatusCode.ShouldBe(HttpStatusCode.OK);

        var monday = GoToMonday(9, 10);
        var during = await StateAsync(id);
        during.GetProperty("inSession").GetBoolean().ShouldBeTrue();
        during.GetProperty("until").GetDateTimeOffset().ShouldBe(monday.AddMinutes(40));

        GoToMonday(21, 0);
        var evening = await StateAsync(id);
        evening.GetProperty("inSession").GetBoolean().ShouldBeFalse();
        evening.GetProperty("reason").GetString().ShouldBe("outside class time");

        // No ad-hoc session at night: nobody watches students' screens after the school day.
        using (var night = await Host.PostJsonAsync($"/api/groups/{id}/session", new { minutes = 30 }))
        {
            night.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await night.Content.ReadAsStringAsync()).ShouldContain("school day");
        }

        (await StateAsync(id)).GetProperty("inSession").GetBoolean().ShouldBeFalse();

        GoToMonday(14, 0);
        using var start = await Host.PostJsonAsync($"/api/groups/{id}/session", new { minutes = 30 });
        start.StatusCode.ShouldBe(HttpStatusCode.OK);
        var adHoc = await StateAsync(id);
        adHoc.GetProperty("inSession").GetBoolean().ShouldBeTrue();
        adHoc.GetProperty("reason").GetString()!.ShouldContain("admin");

        Host.Clock.Advance(TimeSpan.FromMinutes(31));
        (await StateAsync(id)).GetProperty("inSession").GetBoolean().ShouldBeFalse();

        (await Host.PostJsonAsync($"/api/groups/{id}/session", new { minutes = 60 })).EnsureSuccessStatusCode();
        (await Host.Client.DeleteAsync($"/api/groups/{id}/session")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await StateAsync(id)).GetProperty("inSession").GetBoolean().ShouldBeFalse();

        // Late in the day a session ends with the school day, however long it was asked for.
        var lateAfternoon = GoToMonday(16, 45);
        (await Host.PostJsonAsync($"/api/groups/{id}/session", new { minutes = 120 })).EnsureSuccessStatusCode();
        (await StateAsync(id)).GetProperty("until").GetDateTimeOffset().ShouldBe(lateAfternoon.AddMinutes(15));

        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=class.session.start")).GetProperty("total").GetInt32().ShouldBe(3);
        (await Host.GetJsonAsync<JsonElement>("/api/audit?action=class.session.end")).GetProperty("total").GetInt32().ShouldBe(1);
        var sessions = await Host.GetJsonAsync<JsonElement>($"/api/groups/{id}/sessions");
        sessions.GetArrayLength().ShouldBe(3);
        sessions.EnumerateArray().ShouldAllBe(s => s.GetProperty("startedBy").GetString() == "admin");
    }

    [Fact]
    public async Task Sessions_AreForClassesOnly_AndLimitedToTwoHours()
    {
        var id = await ClassAsync();
        (await Host.PostJsonAsync($"/api/groups/{id}/session", new { minutes = 0 })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Host.PostJsonAsync($"/api/groups/{id}/session", new { minutes = 121 })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var cart = await ClassAsync("cart");
        (await Host.PostJsonAsync($"/api/groups/{cart}/session", new { minutes = 10 })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Host.PostJsonAsync($"/api/groups/{Guid.NewGuid()}/session", new { minutes = 10 })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await StateAsync(id)).GetProperty("reason").GetString().ShouldBe("the class has no schedule");
    }
}

public sealed class ClassSessionSqliteTests() : ClassSessionTests(DatabaseProvider.Sqlite);

public sealed class ClassSessionPostgresTests() : ClassSessionTests(DatabaseProvider.Postgres);

/// <summary>Refused schedules store nothing, so these cases share one server (<see cref="SharedHost"/>), each with a class of its own.</summary>
public abstract class ClassSessionValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    [Theory]
    [InlineData("""{"termStart":"2026-09-01","termEnd":"2026-12-18","meetings":[{"days":["funday"],"start":"09:00","end":"09:50"}]}""", "meetings[0].days")]
    [InlineData("""{"termStart":"2026-09-01","termEnd":"2026-12-18","meetings":[{"days":["monday"],"start":"9am","end":"09:50"}]}""", "meetings[0]")]
    [InlineData("""{"termStart":"2026-09-01","termEnd":"2026-12-18","meetings":[{"days":["monday"],"start":"10:00","end":"09:50"}]}""", "meetings[0].end")]
    [InlineData("""{"termStart":"2026-12-18","termEnd":"2026-09-01","meetings":[{"days":["monday"],"start":"09:00","end":"09:50"}]}""", "termEnd")]
    [InlineData("""{"termStart":"someday","termEnd":"2026-12-18","meetings":[{"days":["monday"],"start":"09:00","end":"09:50"}]}""", "termStart")]
    [InlineData("""{"termStart":"2026-09-01","termEnd":"2026-12-18","meetings":[]}""", "meetings")]
    public async Task BadSchedules_AreRefusedWithTheField(string json, string field)
    {
        // School names are unique in a district: each case gets a school of its own.
        var school = await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Maple Valley Middle " + Guid.NewGuid().ToString("N")[..8], timeZone = "America/Chicago" });
        var id = (await Host.PostJsonAsync<JsonElement>("/api/groups", new { name = "Period 2 science", kind = "class", schoolId = school.GetProperty("id").GetGuid() })).GetProperty("id").GetGuid();

        using var response = await Host.Client.PutAsync($"/api/groups/{id}/schedule", new StringContent(json, Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain(field);
        (await Host.Client.GetAsync($"/api/groups/{id}/schedule")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}

public sealed class ClassSessionValidationSqliteTests(SharedSqliteHost shared) : ClassSessionValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class ClassSessionValidationPostgresTests(SharedPostgresHost shared) : ClassSessionValidationTests(shared), IClassFixture<SharedPostgresHost>;
