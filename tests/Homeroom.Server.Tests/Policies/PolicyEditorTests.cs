using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Policies;

/// <summary>
/// What the console's policy editors rely on, over HTTP: the assignment preview (devices reached,
/// conflicts and overrides before saving), a setting's problem named by the setting, and the URL check.
/// </summary>
public abstract class PolicyEditorTests(DatabaseProvider provider) : IAsyncLifetime
{
    private HomeroomHost Host { get; set; } = null!;
    private Guid _school, _otherSchool, _class;
    private readonly List<Guid> _classDevices = [];
    private Guid _outsider;

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider);
        _school = await IdAsync("/api/schools", new { name = "Lincoln", timeZone = "America/Chicago" });
        _otherSchool = await IdAsync("/api/schools", new { name = "Franklin", timeZone = "UTC" });
        _class = await IdAsync("/api/groups", new { name = "Science 7", kind = "class", schoolId = _school });
        var token = await Host.CreateTokenAsync();
        foreach (var (name, inClass) in new[] { ("Cara's Chromebook", true), ("Ada's Chromebook", true), ("Ben's Chromebook", true), ("Spare 1", false) })
        {
            var device = (await Host.EnrollAsync(token, "SN-" + Guid.NewGuid().ToString("N")[..10])).DeviceId;
            var student = await IdAsync("/api/people", new { kind = "student", givenName = name, familyName = "Student", schoolId = _school, gradeLevel = 7 });
            using var patch = await Host.Client.PatchAsJsonAsync($"/api/devices/{device}", new { name, schoolId = _school, assignedPersonId = inClass ? student : (Guid?)null }, HomeroomHost.Json);
            patch.EnsureSuccessStatusCode();
            if (inClass)
            {
                (await Host.PostJsonAsync($"/api/groups/{_class}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
                _classDevices.Add(device);
            }
            else
            {
                _outsider = device;
            }
        }
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<JsonElement> PreviewAsync(object body, HttpClient? client = null)
    {
        using var response = await (client ?? Host.Client).PostAsJsonAsync("/api/assignments/preview", body, HomeroomHost.Json).WaitAsync(HomeroomHost.Timeout);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<int> AuditCountAsync() => (await Host.GetJsonAsync<JsonElement>("/api/audit?pageSize=1")).GetProperty("total").GetInt32();

    [Fact]
    public async Task Preview_ClassAssignment_CountsAndNamesItsDevices_AndSavesNothing()
    {
        var profile = await IdAsync("/api/profiles", new { name = "No games", settings = new { webFilter = new { blockedCategories = new[] { "games" } } } });
        var audit = await AuditCountAsync();

        var preview = await PreviewAsync(new { profileId = profile, level = "group", scopeId = _class.ToString() });

        preview.GetProperty("deviceCount").GetInt32().ShouldBe(3);
        preview.GetProperty("devices").EnumerateArray().Select(d => d.GetProperty("name").GetString()).ShouldBe(["Ada's Chromebook", "Ben's Chromebook", "Cara's Chromebook"]);
        preview.GetProperty("devices").EnumerateArray().Select(d => d.GetProperty("id").GetGuid()).ShouldNotContain(_outsider);
        preview.GetProperty("refused").GetBoolean().ShouldBeFalse();
        preview.GetProperty("findings").GetArrayLength().ShouldBe(0);

        var school = await PreviewAsync(new { profileId = profile, level = "school", scopeId = _school.ToString() });
        school.GetProperty("deviceCount").GetInt32().ShouldBe(4);
        var grade = await PreviewAsync(new { profileId = profile, level = "grade", scopeId = "7" });
        grade.GetProperty("deviceCount").GetInt32().ShouldBe(3); // the spare has no student, so no grade

        (await Host.GetJsonAsync<JsonElement>("/api/assignments")).GetArrayLength().ShouldBe(0);
        (await AuditCountAsync()).ShouldBe(audit);
    }

    [Fact]
    public async Task Preview_SameTargetAndPriority_ShowsTheConflict_AndSavingIsRefusedWithIt()
    {
        var noCamera = await IdAsync("/api/profiles", new { name = "No camera", settings = new { restrictions = new { camera = false } } });
        var camera = await IdAsync("/api/profiles", new { name = "Camera for art", settings = new { restrictions = new { camera = true }, webFilter = new { safeSearch = true } } });
        await IdAsync("/api/assignments", new { profileId = noCamera, level = "group", scopeId = _class.ToString(), priority = 0 });

        var preview = await PreviewAsync(new { profileId = camera, level = "group", scopeId = _class.ToString(), priority = 0 });

        preview.GetProperty("refused").GetBoolean().ShouldBeTrue();
        var finding = preview.GetProperty("findings").EnumerateArray().Single();
        finding.GetProperty("kind").GetString().ShouldBe("refused");
        finding.GetProperty("setting").GetString().ShouldBe("restrictions.camera");
        finding.GetProperty("otherProfileName").GetString().ShouldBe("No camera");
        finding.GetProperty("message").GetString()!.ShouldContain("higher priority");

        using var save = await Host.PostJsonAsync("/api/assignments", new { profileId = camera, level = "group", scopeId = _class.ToString(), priority = 0 });
        save.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await save.Content.ReadAsStringAsync()).ShouldContain("restrictions.camera");
        (await Host.GetJsonAsync<JsonElement>("/api/assignments")).GetArrayLength().ShouldBe(1);

        // A higher priority is not refused: the preview says what it overrides instead.
        var higher = await PreviewAsync(new { profileId = camera, level = "group", scopeId = _class.ToString(), priority = 5 });
        higher.GetProperty("refused").GetBoolean().ShouldBeFalse();
        var overrides = higher.GetProperty("findings").EnumerateArray().Single();
        overrides.GetProperty("kind").GetString().ShouldBe("overrides");
        overrides.GetProperty("setting").GetString().ShouldBe("restrictions.camera");

        // And a lower one, that it is overridden.
        var lower = await PreviewAsync(new { profileId = camera, level = "group", scopeId = _class.ToString(), priority = -5 });
        lower.GetProperty("findings").EnumerateArray().Single().GetProperty("kind").GetString().ShouldBe("overriddenBy");
    }

    [Fact]
    public async Task Preview_MoreSpecificAssignment_OverridesOnSomeDevices_AndEditingExcludesItself()
    {
        var district = await IdAsync("/api/profiles", new { name = "District", settings = new { device = new { lockMessage = "District" } } });
        var one = await IdAsync("/api/profiles", new { name = "Ada's exception", settings = new { device = new { lockMessage = "Ada" } } });
        await IdAsync("/api/assignments", new { profileId = one, level = "device", scopeId = _classDevices[1].ToString() });

        var preview = await PreviewAsync(new { profileId = district, level = "school", scopeId = _school.ToString() });

        var finding = preview.GetProperty("findings").EnumerateArray().Single();
        finding.GetProperty("kind").GetString().ShouldBe("overriddenOnSomeDevices");
        finding.GetProperty("devices").GetInt32().ShouldBe(1);
        finding.GetProperty("message").GetString()!.ShouldContain("1 of 4");

        // Editing an assignment previews it against the others, not against itself.
        var saved = await IdAsync("/api/assignments", new { profileId = district, level = "school", scopeId = _school.ToString() });
        var edit = await PreviewAsync(new { assignmentId = saved, profileId = district, level = "school", scopeId = _school.ToString() });
        edit.GetProperty("refused").GetBoolean().ShouldBeFalse();
        var fresh = await PreviewAsync(new { profileId = district, level = "school", scopeId = _school.ToString() });
        fresh.GetProperty("refused").GetBoolean().ShouldBeTrue(); // the same profile twice on one target
    }

    [Fact]
    public async Task Preview_ASchoolAdmin_CannotTargetAnotherSchool()
    {
        var franklinClass = await IdAsync("/api/groups", new { name = "Franklin 7", kind = "class", schoolId = _otherSchool });
        var profile = await IdAsync("/api/profiles", new { name = "Any", settings = new { } });
        using var admin = await Host.SignInAsNewAccountAsync("lincoln-admin", "schoolAdmin", schoolId: _school);

        using var other = await admin.PostAsJsonAsync("/api/assignments/preview", new { profileId = profile, level = "group", scopeId = franklinClass.ToString() }, HomeroomHost.Json);
        other.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var district = await admin.PostAsJsonAsync("/api/assignments/preview", new { profileId = profile, level = "district" }, HomeroomHost.Json);
        district.StatusCode.ShouldBe(HttpStatusCode.Forbidden);

        var own = await PreviewAsync(new { profileId = profile, level = "group", scopeId = _class.ToString() }, admin);
        own.GetProperty("deviceCount").GetInt32().ShouldBe(3);
    }

    [Fact]
    public async Task UrlCheck_BlockedByACategory_SaysWhichAndFromWhichProfile()
    {
        using (var list = new StringContent("games.example.org\n", Encoding.UTF8, "text/plain"))
        using (var uploaded = await Host.Client.PostAsync("/api/filter-lists?name=Games&format=plain&category=games", list))
        {
            uploaded.EnsureSuccessStatusCode();
        }

        var profile = await IdAsync("/api/profiles", new { name = "School day filter", settings = new { webFilter = new { blockedCategories = new[] { "games" }, allowedSites = new[] { "docs.example.org" } } } });
        await IdAsync("/api/assignments", new { profileId = profile, level = "group", scopeId = _class.ToString() });
        var device = _classDevices[0];

        var blocked = await Host.GetJsonAsync<JsonElement>($"/api/devices/{device}/filter-check?url={Uri.EscapeDataString("https://play.games.example.org/level/2")}");
        blocked.GetProperty("blocked").GetBoolean().ShouldBeTrue();
        blocked.GetProperty("reason").GetString().ShouldBe("blockedCategory");
        blocked.GetProperty("category").GetString().ShouldBe("games");
        blocked.GetProperty("ruleFrom").GetProperty("profileName").GetString().ShouldBe("School day filter");

        var allowed = await Host.GetJsonAsync<JsonElement>($"/api/devices/{device}/filter-check?url=docs.example.org");
        allowed.GetProperty("blocked").GetBoolean().ShouldBeFalse();
        allowed.GetProperty("reason").GetString().ShouldBe("allowedSite");

        // The spare is not in the class: the same URL is allowed there.
        var spare = await Host.GetJsonAsync<JsonElement>($"/api/devices/{_outsider}/filter-check?url=games.example.org");
        spare.GetProperty("blocked").GetBoolean().ShouldBeFalse();
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public async Task UrlCheck_NoUrl_Is400NamingIt(string? url)
    {
        using var response = await Host.Client.GetAsync($"/api/devices/{_classDevices[0]}/filter-check{(url is null ? "" : "?url=" + Uri.EscapeDataString(url))}");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("url", out _).ShouldBeTrue();
    }

    // The use case the API and the console share, called as the console calls it.
    private async Task<string?> PolicyQueriesAsync(string url)
    {
        var ex = await Should.ThrowAsync<Homeroom.Server.Hosting.RequestValidationException>(() =>
            Host.GetService<Homeroom.Server.Policies.PolicyQueries>().CheckUrlAsync(Homeroom.Server.Accounts.StaffScope.System, _classDevices[0], url));
        return ex.Errors.Keys.Single();
    }

    [Fact]
    public async Task UrlCheck_TooLong_Is400_AndAnotherSchoolsDeviceIs404()
    {
        var longUrl = "https://example.org/" + new string('a', Rules.Filtering.FilterUrl.MaxLength);
        using var tooLong = await Host.Client.GetAsync($"/api/devices/{_classDevices[0]}/filter-check?url={longUrl}");
        // Refused before any work: by the check's own limit (400), or first by the server's request-line limit (414).
        tooLong.StatusCode.ShouldBeOneOf(HttpStatusCode.BadRequest, HttpStatusCode.RequestUriTooLong);
        var justOver = "example.org/" + new string('a', Rules.Filtering.FilterUrl.MaxLength - 11);
        (await PolicyQueriesAsync(justOver)).ShouldBe("url");

        using var franklin = await Host.SignInAsNewAccountAsync("franklin-admin", "schoolAdmin", schoolId: _otherSchool);
        using var other = await franklin.GetAsync($"/api/devices/{_classDevices[0]}/filter-check?url=example.org");
        other.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}

public sealed class PolicyEditorSqliteTests() : PolicyEditorTests(DatabaseProvider.Sqlite);

public sealed class PolicyEditorPostgresTests() : PolicyEditorTests(DatabaseProvider.Postgres);

/// <summary>Refused previews and profiles store nothing, so these cases share one server (<see cref="SharedHost"/>), each with profiles of its own.</summary>
public abstract class PolicyEditorValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<int> AuditCountAsync() => (await Host.GetJsonAsync<JsonElement>("/api/audit?pageSize=1")).GetProperty("total").GetInt32();

    [Theory]
    [InlineData("""{"profileId":"{P}","level":"group","scopeId":"not-a-guid"}""", "scopeId")]
    [InlineData("""{"profileId":"{P}"}""", "level")]
    [InlineData("""{"profileId":"{P}","level":"grade","scopeId":"99"}""", "scopeId")]
    [InlineData("""{"profileId":"{P}","level":"district","priority":5000}""", "priority")]
    [InlineData("""{"profileId":"{P}","level":"district","assignmentId":"6f9619ff-8b86-d011-b42d-00cf4fc964ff"}""", "assignmentId")]
    [InlineData("""{"profileId":"{P}","level":"district","condition":{"schedule":[{"days":["monday"],"start":"25:00","end":"15:00"}]}}""", "condition.schedule[0]")]
    public async Task Preview_BadInput_Is400NamingTheField(string json, string field)
    {
        var profile = await IdAsync("/api/profiles", new { name = "P " + Guid.NewGuid().ToString("N")[..8], settings = new { } });
        using var response = await Host.Client.PostAsync("/api/assignments/preview", new StringContent(json.Replace("{P}", profile.ToString(), StringComparison.Ordinal), Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(problem.ToString());
    }

    [Theory]
    [InlineData("""{"restrictions":{"camera":"no"}}""", "settings.restrictions.camera", "true or false")]
    [InlineData("""{"webFilter":{"youTube":"loud"}}""", "settings.webFilter.youTube", "one of off, moderate, strict")]
    [InlineData("""{"webFilter":{"blockedSites":["ok.example.org","exa mple.com"]}}""", "settings.webFilter.blockedSites", "blockedSites[1]")]
    [InlineData("""{"apps":{"required":["ios:361309726"]}}""", "settings.apps.required", "no longer a profile setting: add the app to the catalog")]
    [InlineData("""{"location":{"allowedZones":["6f9619ff-8b86-d011-b42d-00cf4fc964ff"]}}""", "settings.location.allowedZones", "no such zone")]
    [InlineData("""{"restrictions":{"telepathy":true}}""", "settings.restrictions.telepathy", "not a known setting")]
    [InlineData("""{"desktopBrowsers":{"extensionId":"not-an-extension"}}""", "settings.desktopBrowsers.extensionId", "32 letters from a to p")]
    [InlineData("""{"desktopBrowsers":{"extensionConfig":["serverUrl"]}}""", "settings.desktopBrowsers.extensionConfig", "must be a JSON object")]
    public async Task Profile_InvalidSettingValue_Is400NamingTheSetting_AndSavesNothing(string settings, string field, string message)
    {
        var existing = await IdAsync("/api/profiles", new { name = "Existing " + Guid.NewGuid().ToString("N")[..8], settings = new { restrictions = new { camera = false } } });
        var before = (await Host.GetJsonAsync<JsonElement>("/api/profiles")).GetRawText();
        var audit = await AuditCountAsync();
        var body = $$"""{"name":"Bad","settings":{{settings}}}""";

        using var create = await Host.Client.PostAsync("/api/profiles", new StringContent(body, Encoding.UTF8, "application/json"));
        using var update = await Host.Client.PutAsync($"/api/profiles/{existing}", new StringContent(body, Encoding.UTF8, "application/json"));

        foreach (var response in new[] { create, update })
        {
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
            errors.TryGetProperty(field, out var messages).ShouldBeTrue(errors.ToString());
            messages[0].GetString()!.ShouldContain(message);
        }

        // Every profile as it was: none added ("Bad"), the existing one not changed.
        var profiles = await Host.GetJsonAsync<JsonElement>("/api/profiles");
        profiles.GetRawText().ShouldBe(before);
        profiles.EnumerateArray().Single(p => p.GetProperty("id").GetGuid() == existing)
            .GetProperty("settings").GetProperty("restrictions").GetProperty("camera").GetBoolean().ShouldBeFalse();
        (await AuditCountAsync()).ShouldBe(audit);
    }
}

public sealed class PolicyEditorValidationSqliteTests(SharedSqliteHost shared) : PolicyEditorValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class PolicyEditorValidationPostgresTests(SharedPostgresHost shared) : PolicyEditorValidationTests(shared), IClassFixture<SharedPostgresHost>;
