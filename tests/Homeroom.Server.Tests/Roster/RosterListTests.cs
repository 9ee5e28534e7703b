using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Roster;

/// <summary>
/// What a new administrator tripped over in the roster lists: a class's device count, duplicate school
/// and group names, searching in another case, and the people list's paging.
/// </summary>
public abstract class RosterListTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost _host = null!;

    public async Task InitializeAsync() => _host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await _host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private static async Task ShouldBeConflictAsync(Task<HttpResponseMessage> call, string because)
    {
        using var response = await call.WaitAsync(HomeroomHost.Timeout);
        response.StatusCode.ShouldBe(HttpStatusCode.Conflict, because);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!.ShouldContain("exists", Case.Insensitive, because);
    }

    [Fact]
    public async Task GroupDeviceCount_OfAClass_CountsItsStudentsDevicesAndItsOwn_EachOnce()
    {
        var school = await IdAsync("/api/schools", new { name = "Lincoln", timeZone = "UTC" });
        var science = await IdAsync("/api/groups", new { name = "Science 7", kind = "class", schoolId = school });
        var token = await _host.CreateTokenAsync(schoolId: school);
        var students = new List<Guid>();
        var devices = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            var student = await IdAsync("/api/people", new { kind = "student", givenName = $"Student{i}", familyName = "Count", schoolId = school });
            var device = (await _host.EnrollAsync(token, $"SN-COUNT-{i}")).DeviceId;
            (await _host.Client.PatchAsJsonAsync($"/api/devices/{device}", new { assignedPersonId = student })).EnsureSuccessStatusCode();
            students.Add(student);
            devices.Add(device);
        }

        // A cart device placed in the class directly, and one student's device placed there too (counted once).
        var cart = (await _host.EnrollAsync(token, "SN-COUNT-CART")).DeviceId;
        (await _host.PostJsonAsync($"/api/groups/{science}/members", new { personIds = students, deviceIds = new[] { cart, devices[0] } })).EnsureSuccessStatusCode();

        var group = await _host.GetJsonAsync<JsonElement>($"/api/groups/{science}");
        group.GetProperty("memberCount").GetInt32().ShouldBe(3);
        group.GetProperty("deviceCount").GetInt32().ShouldBe(4, "three students' devices and the cart device, each once");
        group.GetProperty("schoolName").GetString().ShouldBe("Lincoln");
        var listed = (await _host.GetJsonAsync<JsonElement>("/api/groups?q=science")).GetProperty("items").EnumerateArray().Single();
        listed.GetProperty("deviceCount").GetInt32().ShouldBe(4);

        // The count is the class's device list.
        (await _host.GetJsonAsync<JsonElement>($"/api/devices?groupId={science}")).GetProperty("total").GetInt32().ShouldBe(4);
    }

    [Fact]
    public async Task DuplicateNames_OfSchoolsAndGroups_AnswerConflict_InAnyCase_AndChangeNothing()
    {
        var lincoln = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        var grant = await IdAsync("/api/schools", new { name = "Grant", timeZone = "UTC" });
        await ShouldBeConflictAsync(_host.PostJsonAsync("/api/schools", new { name = "lincoln middle", timeZone = "UTC" }), "school name on create");
        await ShouldBeConflictAsync(_host.Client.PutAsJsonAsync($"/api/schools/{grant}", new { name = "LINCOLN MIDDLE", timeZone = "UTC" }), "school name on update");
        (await _host.GetJsonAsync<JsonElement>($"/api/schools/{grant}")).GetProperty("name").GetString().ShouldBe("Grant");
        (await _host.GetJsonAsync<JsonElement>("/api/schools")).GetProperty("total").GetInt32().ShouldBe(2);

        await IdAsync("/api/groups", new { name = "Spare cart", kind = "sparePool", schoolId = lincoln });
        var other = await IdAsync("/api/groups", new { name = "Cart B", kind = "cart", schoolId = lincoln });
        await ShouldBeConflictAsync(_host.PostJsonAsync("/api/groups", new { name = "spare CART", kind = "sparePool", schoolId = lincoln }), "group name on create");
        await ShouldBeConflictAsync(_host.Client.PutAsJsonAsync($"/api/groups/{other}", new { name = "Spare cart", kind = "cart", schoolId = lincoln }), "group name on update");
        (await _host.GetJsonAsync<JsonElement>($"/api/groups/{other}")).GetProperty("name").GetString().ShouldBe("Cart B");

        // The same name in another school is another group; district groups are unique among themselves.
        (await _host.PostJsonAsync("/api/groups", new { name = "Spare cart", kind = "sparePool", schoolId = grant })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await _host.PostJsonAsync("/api/groups", new { name = "All staff", kind = "custom" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        await ShouldBeConflictAsync(_host.PostJsonAsync("/api/groups", new { name = "all staff", kind = "custom" }), "district group name");
        (await _host.GetJsonAsync<JsonElement>("/api/groups")).GetProperty("total").GetInt32().ShouldBe(4);
    }

    [Fact]
    public async Task ManyRequests_RacingForOneGroupName_OneWinsTheRestConflict()
    {
        var school = await IdAsync("/api/schools", new { name = "Racing", timeZone = "UTC" });
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await _host.PostJsonAsync("/api/groups", new { name = i % 2 == 0 ? "Cart 1" : "CART 1", kind = "cart", schoolId = school });
            return response.StatusCode;
        }));

        answers.Count(a => a == HttpStatusCode.Created).ShouldBe(1);
        answers.Count(a => a == HttpStatusCode.Conflict).ShouldBe(7);
    }

    [Fact]
    public async Task Search_OfPeopleAndGroups_IgnoresCase()
    {
        var school = await IdAsync("/api/schools", new { name = "Case", timeZone = "UTC" });
        await IdAsync("/api/people", new { kind = "student", givenName = "Ada", familyName = "Lovelace", email = "Ada.Lovelace@example.org", schoolId = school });
        await IdAsync("/api/groups", new { name = "Robotics Club", kind = "custom", schoolId = school });

        (await _host.GetJsonAsync<JsonElement>("/api/people?q=ada")).GetProperty("total").GetInt32().ShouldBe(1);
        (await _host.GetJsonAsync<JsonElement>("/api/people?q=LOVELACE")).GetProperty("total").GetInt32().ShouldBe(1);
        (await _host.GetJsonAsync<JsonElement>("/api/people?q=ada%20love")).GetProperty("total").GetInt32().ShouldBe(1);
        (await _host.GetJsonAsync<JsonElement>("/api/people?q=ada.lovelace@")).GetProperty("total").GetInt32().ShouldBe(1);
        (await _host.GetJsonAsync<JsonElement>("/api/groups?q=robotics")).GetProperty("total").GetInt32().ShouldBe(1);
        (await _host.GetJsonAsync<JsonElement>("/api/groups?q=CLUB")).GetProperty("total").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task PeopleList_IsPagedOnTheServer_WithTheTotal_AndEveryPersonOnExactlyOnePage()
    {
        var school = await IdAsync("/api/schools", new { name = "Paging", timeZone = "UTC" });
        for (var i = 0; i < 23; i++)
        {
            await IdAsync("/api/people", new { kind = "student", givenName = $"P{i:D2}", familyName = "Same", schoolId = school, gradeLevel = -1 });
        }

        var seen = new List<string>();
        for (var page = 1; page <= 3; page++)
        {
            var answer = await _host.GetJsonAsync<JsonElement>($"/api/people?page={page}&pageSize=10");
            answer.GetProperty("total").GetInt32().ShouldBe(23);
            var items = answer.GetProperty("items").EnumerateArray().ToList();
            items.Count.ShouldBe(page < 3 ? 10 : 3);
            items.ShouldAllBe(p => p.GetProperty("schoolName").GetString() == "Paging");
            seen.AddRange(items.Select(p => p.GetProperty("givenName").GetString()!));
        }

        seen.Distinct().Count().ShouldBe(23);
    }
}

public sealed class RosterListSqliteTests() : RosterListTests(DatabaseProvider.Sqlite);

public sealed class RosterListPostgresTests() : RosterListTests(DatabaseProvider.Postgres);
