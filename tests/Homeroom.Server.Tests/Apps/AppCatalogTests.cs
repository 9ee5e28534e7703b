using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Apps;

/// <summary>
/// The app catalog and app assignments through the API, on a real server and database: identities
/// checked per platform (a bad one refused with ProblemDetails, nothing stored, nothing audited), one
/// entry per identity, assignments placed by the same rule as profile assignments (a school's
/// administrator only in their school), every change audited, and a device's effective apps resolved
/// with provenance and an honest note for its platform.
/// </summary>
public abstract class AppCatalogTests(DatabaseProvider provider) : IAsyncLifetime
{
    private const string Chrome = "aapocclcgogkmnckokdopfmhonfmgoek";
    private Guid _school, _otherSchool, _class, _device, _otherDevice;

    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider);
        _school = await IdAsync("/api/schools", new { name = "Lincoln", timeZone = "America/Chicago" });
        _otherSchool = await IdAsync("/api/schools", new { name = "Franklin", timeZone = "UTC" });
        _class = await IdAsync("/api/groups", new { name = "Science 7", kind = "class", schoolId = _school });
        var token = await Host.CreateTokenAsync();
        _device = (await Host.EnrollAsync(token, "SN-APPS-1")).DeviceId;
        var student = await IdAsync("/api/people", new { kind = "student", givenName = "Cara", familyName = "Student", schoolId = _school, gradeLevel = 7 });
        using (var patch = await Host.Client.PatchAsJsonAsync($"/api/devices/{_device}", new { schoolId = _school, assignedPersonId = student }, HomeroomHost.Json))
        {
            patch.EnsureSuccessStatusCode();
        }

        (await Host.PostJsonAsync($"/api/groups/{_class}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
        _otherDevice = (await Host.EnrollAsync(token, "SN-APPS-2")).DeviceId;
        using var move = await Host.Client.PatchAsJsonAsync($"/api/devices/{_otherDevice}", new { schoolId = _otherSchool }, HomeroomHost.Json);
        move.EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    [Fact]
    public async Task Create_ValidEntry_IsListedWithItsGoogleAdminLine_AndAudited()
    {
        var audit = await AuditCountAsync();

        var created = await Host.PostJsonAsync<JsonElement>("/api/apps", new
        {
            name = "Read&Write", category = "accessibility", chromeExtensionId = Chrome,
            appleAdamId = "1156311547", appleBundleId = "com.texthelp.readwrite", licensesPurchased = 250,
        });

        created.GetProperty("chromeForceInstall").GetString().ShouldBe($"{Chrome};https://clients2.google.com/service/update2/crx");
        var listed = await Host.GetJsonAsync<JsonElement>("/api/apps?category=accessibility");
        listed.EnumerateArray().Select(a => a.GetProperty("name").GetString()).ShouldBe(["Read&Write"]);
        listed[0].GetProperty("licensesPurchased").GetInt32().ShouldBe(250);
        (await AuditCountAsync()).ShouldBe(audit + 1);
        var entry = (await Host.GetJsonAsync<JsonElement>("/api/audit?pageSize=1")).GetProperty("items")[0];
        entry.GetProperty("action").GetString().ShouldBe("app.create");
    }

    [Fact]
    public async Task BlockedWindowsApp_ItsProgramsReachWindowsDevicesPolicies_NotOtherPlatforms()
    {
        var token = await Host.CreateTokenAsync();
        var windows = (await Host.EnrollAsync(token, "SN-APPS-WIN", DevicePlatform.Windows)).DeviceId;
        var linux = (await Host.EnrollAsync(token, "SN-APPS-LNX", DevicePlatform.Linux)).DeviceId;
        var created = await Host.PostJsonAsync<JsonElement>("/api/apps", new
        {
            name = "Steam", category = "games", windowsPackageId = "Valve.Steam", linuxPackage = "steam-installer",
            windowsExecutables = new[] { " Steam.exe", "steamwebhelper.exe", "steam.exe" },
        });
        created.GetProperty("windowsExecutables").EnumerateArray().Select(e => e.GetString()).ShouldBe(["steam.exe", "steamwebhelper.exe"]);
        var app = created.GetProperty("id").GetGuid();
        (await Host.PostJsonAsync($"/api/apps/{app}/assignments", new { intent = "blocked", level = "district" })).EnsureSuccessStatusCode();

        JsonElement catalog = default;
        await Poll.UntilAsync(async () =>
        {
            var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{windows}/policy");
            return policy.GetProperty("document").TryGetProperty("catalog", out catalog);
        });
        catalog.GetProperty("blockedPackages").EnumerateArray().Select(e => e.GetString()).ShouldBe(["Valve.Steam"]);
        catalog.GetProperty("blockedExecutables").GetProperty("Valve.Steam").EnumerateArray().Select(e => e.GetString()).ShouldBe(["steam.exe", "steamwebhelper.exe"]);

        // Linux gets its own package and no Windows programs.
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{linux}/policy")).GetProperty("document").TryGetProperty("catalog", out catalog));
        catalog.GetProperty("blockedPackages").EnumerateArray().Select(e => e.GetString()).ShouldBe(["steam-installer"]);
        catalog.TryGetProperty("blockedExecutables", out _).ShouldBeFalse();

        // Saved again without programs, the Windows policy no longer names any.
        using (var changed = await Host.Client.PutAsJsonAsync($"/api/apps/{app}", new { name = "Steam", category = "games", windowsPackageId = "Valve.Steam", linuxPackage = "steam-installer" }))
        {
            changed.IsSuccessStatusCode.ShouldBeTrue(await changed.Content.ReadAsStringAsync());
        }

        await Poll.UntilAsync(async () => !(await Host.GetJsonAsync<JsonElement>($"/api/devices/{windows}/policy")).GetProperty("document").GetProperty("catalog").TryGetProperty("blockedExecutables", out _));
    }

    [Fact]
    public async Task MacPackage_IsStoredAndShown_AndABlockedOneReachesAgentMacsPolicyWithItsBundle_NotMdmMacs()
    {
        var token = await Host.CreateTokenAsync();
        var agentMac = (await Host.EnrollAsync(token, "SN-APPS-MAC", DevicePlatform.MacOS)).DeviceId;
        var mdmMac = (await Host.EnrollAsync(token, "SN-APPS-MDM", DevicePlatform.MacOS)).DeviceId;
        await using (var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            db.AppleDevices.Add(new AppleDevice { DeviceId = mdmMac, Udid = Guid.NewGuid().ToString("N"), IdentityThumbprint = Guid.NewGuid().ToString("N"), EnrolledAt = DateTime.UtcNow });
            await db.SaveChangesAsync();
        }

        var sha = new string('A', 32) + new string('0', 32);
        var macPackage = new { packageId = " org.example.paint.pkg ", url = "https://apps.example.org/paint-2.4.pkg", sha256 = sha, appPath = "/Applications/Paint.app", bundleId = "org.example.Paint" };
        var created = await Host.PostJsonAsync<JsonElement>("/api/apps", new { name = "Paint", category = "creativity", macPackage });

        var stored = (await Host.GetJsonAsync<JsonElement>($"/api/apps/{created.GetProperty("id").GetGuid()}")).GetProperty("macPackage");
        stored.GetProperty("packageId").GetString().ShouldBe("org.example.paint.pkg");
        stored.GetProperty("url").GetString().ShouldBe("https://apps.example.org/paint-2.4.pkg");
        stored.GetProperty("sha256").GetString().ShouldBe(sha.ToLowerInvariant());
        stored.GetProperty("appPath").GetString().ShouldBe("/Applications/Paint.app");
        stored.GetProperty("bundleId").GetString().ShouldBe("org.example.Paint");
        var entry = (await Host.GetJsonAsync<JsonElement>("/api/audit?action=app.create&pageSize=1")).GetProperty("items")[0];
        entry.GetProperty("details").GetString()!.ShouldContain("mac org.example.paint.pkg https://apps.example.org/paint-2.4.pkg");
        using (var twice = await Host.Client.PostAsJsonAsync("/api/apps", new { name = "Paint again", category = "creativity", macPackage }, HomeroomHost.Json))
        {
            twice.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        }

        (await Host.PostJsonAsync($"/api/apps/{created.GetProperty("id").GetGuid()}/assignments", new { intent = "blocked", level = "district" })).EnsureSuccessStatusCode();

        JsonElement catalog = default;
        await Poll.UntilAsync(async () => (await Host.GetJsonAsync<JsonElement>($"/api/devices/{agentMac}/policy")).GetProperty("document").TryGetProperty("catalog", out catalog));
        catalog.GetProperty("blockedPackages").EnumerateArray().Select(e => e.GetString()).ShouldBe(["org.example.paint.pkg"]);
        catalog.GetProperty("blockedAppBundles").GetProperty("org.example.paint.pkg").EnumerateArray().Select(e => e.GetString()).ShouldBe(["/Applications/Paint.app"]);
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{mdmMac}/policy")).GetProperty("document").TryGetProperty("catalog", out _).ShouldBeFalse();
    }

    [Fact]
    public async Task Create_SameChromeIdTwice_Answers409()
    {
        await CreateAppAsync("Kami", Chrome);

        using var again = await Host.PostJsonAsync("/api/apps", new { name = "Kami copy", category = "education", chromeExtensionId = Chrome });

        again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await Host.GetJsonAsync<JsonElement>("/api/apps")).GetArrayLength().ShouldBe(1);
    }

    [Fact]
    public async Task Catalog_OnlyDistrictAdmins_Change_SchoolAdminsRead()
    {
        using var admin = await Host.SignInAsNewAccountAsync("lincoln-admin", "schoolAdmin", schoolId: _school);

        using var create = await admin.PostAsJsonAsync("/api/apps", new { name = "Kami", category = "education", chromeExtensionId = Chrome });
        using var list = await admin.GetAsync("/api/apps");

        create.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        list.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Assign_SchoolAdmin_InOwnSchoolOnly_AndAudited()
    {
        var app = await CreateAppAsync("Kami", Chrome);
        using var admin = await Host.SignInAsNewAccountAsync("lincoln-admin", "schoolAdmin", schoolId: _school);
        var audit = await AuditCountAsync();

        using var ownClass = await admin.PostAsJsonAsync($"/api/apps/{app}/assignments", new { intent = "required", level = "group", scopeId = _class.ToString() });
        using var otherSchool = await admin.PostAsJsonAsync($"/api/apps/{app}/assignments", new { intent = "blocked", level = "school", scopeId = _otherSchool.ToString() });
        using var district = await admin.PostAsJsonAsync($"/api/apps/{app}/assignments", new { intent = "blocked", level = "district" });
        using var twice = await admin.PostAsJsonAsync($"/api/apps/{app}/assignments", new { intent = "blocked", level = "group", scopeId = _class.ToString() });

        ownClass.StatusCode.ShouldBe(HttpStatusCode.Created);
        otherSchool.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        district.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        twice.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        var assignments = await Host.GetJsonAsync<JsonElement>($"/api/apps/{app}/assignments");
        assignments.GetArrayLength().ShouldBe(1);
        assignments[0].GetProperty("scopeName").GetString().ShouldBe("Science 7");
        (await AuditCountAsync()).ShouldBe(audit + 1);
    }

    [Fact]
    public async Task Assign_BadTarget_ProblemDetails_NothingStored()
    {
        var app = await CreateAppAsync("Kami", Chrome);
        var audit = await AuditCountAsync();

        using var unknownIntent = await Host.PostJsonAsync($"/api/apps/{app}/assignments", new { intent = "installed", level = "district" });
        using var noSuchGroup = await Host.PostJsonAsync($"/api/apps/{app}/assignments", new { intent = "required", level = "group", scopeId = Guid.NewGuid().ToString() });
        using var badGrade = await Host.PostJsonAsync($"/api/apps/{app}/assignments", new { intent = "required", level = "grade", scopeId = "14" });
        using var noSuchApp = await Host.PostJsonAsync($"/api/apps/{Guid.NewGuid()}/assignments", new { intent = "required", level = "district" });

        unknownIntent.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        noSuchGroup.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        badGrade.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        noSuchApp.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Host.GetJsonAsync<JsonElement>($"/api/apps/{app}/assignments")).GetArrayLength().ShouldBe(0);
        (await AuditCountAsync()).ShouldBe(audit);
    }

    [Fact]
    public async Task EffectiveApps_MostSpecificWins_WithProvenance_AndThePlatformsNote()
    {
        var kami = await CreateAppAsync("Kami", Chrome);
        var pages = await IdAsync("/api/apps", new { name = "Pages", category = "productivity", appleAdamId = "361309726", appleBundleId = "com.apple.Pages" });
        var blockedEverywhere = await IdAsync($"/api/apps/{kami}/assignments", new { intent = "blocked", level = "district" });
        var requiredForClass = await IdAsync($"/api/apps/{kami}/assignments", new { intent = "required", level = "group", scopeId = _class.ToString() });
        await IdAsync($"/api/apps/{pages}/assignments", new { intent = "available", level = "school", scopeId = _school.ToString() });

        var apps = await Host.GetJsonAsync<JsonElement>($"/api/devices/{_device}/effective-apps");
        var other = await Host.GetJsonAsync<JsonElement>($"/api/devices/{_otherDevice}/effective-apps");

        apps.GetArrayLength().ShouldBe(2);
        var kamiHere = apps.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "Kami");
        kamiHere.GetProperty("intent").GetString().ShouldBe("required");
        kamiHere.GetProperty("assignmentId").GetGuid().ShouldBe(requiredForClass);
        kamiHere.GetProperty("overridden")[0].GetProperty("assignmentId").GetGuid().ShouldBe(blockedEverywhere);
        kamiHere.GetProperty("note").GetString()!.ShouldContain($"{Chrome};https://clients2.google.com/service/update2/crx");
        var pagesHere = apps.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "Pages");
        pagesHere.GetProperty("applicable").GetBoolean().ShouldBeFalse("a Chromebook cannot run an App Store app");
        other.EnumerateArray().Select(a => (a.GetProperty("name").GetString(), a.GetProperty("intent").GetString())).ShouldBe([("Kami", "blocked")]);
    }

    [Fact]
    public async Task EffectiveApps_AnotherSchoolsDevice_NotFoundForASchoolAdmin()
    {
        using var admin = await Host.SignInAsNewAccountAsync("lincoln-admin", "schoolAdmin", schoolId: _school);

        using var own = await admin.GetAsync($"/api/devices/{_device}/effective-apps");
        using var other = await admin.GetAsync($"/api/devices/{_otherDevice}/effective-apps");

        own.StatusCode.ShouldBe(HttpStatusCode.OK);
        other.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Delete_RemovesTheAppAndItsAssignments()
    {
        var app = await CreateAppAsync("Kami", Chrome);
        await IdAsync($"/api/apps/{app}/assignments", new { intent = "required", level = "district" });

        using var deleted = await Host.Client.DeleteAsync(new Uri($"/api/apps/{app}", UriKind.Relative));
        using var gone = await Host.Client.GetAsync(new Uri($"/api/apps/{app}", UriKind.Relative));

        deleted.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        gone.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Host.GetJsonAsync<JsonElement>($"/api/devices/{_device}/effective-apps")).GetArrayLength().ShouldBe(0);
    }

    private async Task<Guid> CreateAppAsync(string name, string chromeId) =>
        await IdAsync("/api/apps", new { name, category = "education", chromeExtensionId = chromeId });

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<int> AuditCountAsync() => (await Host.GetJsonAsync<JsonElement>("/api/audit?pageSize=1")).GetProperty("total").GetInt32();
}

public sealed class AppCatalogSqliteTests() : AppCatalogTests(DatabaseProvider.Sqlite);

public sealed class AppCatalogPostgresTests() : AppCatalogTests(DatabaseProvider.Postgres);

/// <summary>
/// Refused catalog entries, one server per class and provider (each case started a server and enrolled two
/// devices before): nothing refused is stored or audited, so the catalog stays empty and the audit count
/// unchanged across the cases.
/// </summary>
public abstract class AppCatalogValidationTests(SharedHost shared)
{
    private HomeroomHost Host => shared.Host;

    public static TheoryData<string, string> BadEntries => new()
    {
        { """{"name":"Bad","category":"education","chromeExtensionId":"aapocclcgogkmnckokdopfmhonfmgoez"}""", "chromeExtensionId" },
        { """{"name":"Bad","category":"education","chromeExtensionId":"short"}""", "chromeExtensionId" },
        { """{"name":"Bad","category":"education","appleAdamId":"12ab","appleBundleId":"com.example.app"}""", "appleAdamId" },
        { """{"name":"Bad","category":"education","appleAdamId":"123","appleBundleId":"not a bundle"}""", "appleBundleId" },
        { """{"name":"Bad","category":"education","appleAdamId":"123"}""", "appleBundleId" },
        { """{"name":"Bad","category":"education","webAppUrl":"javascript:alert(1)"}""", "webAppUrl" },
        { """{"name":"Bad","category":"education","windowsPackageId":"Microsoft..Teams"}""", "windowsPackageId" },
        { """{"name":"Bad","category":"education","androidPackage":"classroom"}""", "androidPackage" },
        { """{"name":"Bad","category":"education","linuxPackage":"GIMP"}""", "linuxPackage" },
        { """{"name":"Bad","category":"education","linuxPackage":"--force-all"}""", "linuxPackage" },
        { """{"name":"Bad","category":"education","linuxPackage":"../etc/passwd"}""", "linuxPackage" },
        { """{"name":"Bad","category":"education","windowsPackageId":"Valve.Steam","windowsExecutables":["C:\\Windows\\steam.exe"]}""", "windowsExecutables" },
        { """{"name":"Bad","category":"education","windowsPackageId":"Valve.Steam","windowsExecutables":["steam"]}""", "windowsExecutables" },
        { """{"name":"Bad","category":"education","windowsPackageId":"Valve.Steam","windowsExecutables":["..exe"]}""", "windowsExecutables" },
        { """{"name":"Bad","category":"education","windowsPackageId":"Valve.Steam","windowsExecutables":["a.exe","b.exe","c.exe","d.exe","e.exe","f.exe","g.exe","h.exe","i.exe","j.exe","k.exe"]}""", "windowsExecutables" },
        { """{"name":"Bad","category":"education","webAppUrl":"https://example.org/","windowsExecutables":["steam.exe"]}""", "windowsExecutables" },
        { """{"name":"Bad","category":"education","macPackage":{"packageId":"org.example.paint.pkg","url":"http://example.org/paint.pkg","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}""", "macPackage.url" },
        { """{"name":"Bad","category":"education","macPackage":{"packageId":"org.example.paint.pkg","url":"https://example.org/paint.pkg","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}""", "macPackage.sha256" },
        { """{"name":"Bad","category":"education","macPackage":{"packageId":"org.example.paint.pkg","url":"https://example.org/paint.pkg","sha256":"gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg"}}""", "macPackage.sha256" },
        { """{"name":"Bad","category":"education","macPackage":{"packageId":"--volume","url":"https://example.org/paint.pkg","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}""", "macPackage.packageId" },
        { """{"name":"Bad","category":"education","macPackage":{"packageId":"paint","url":"https://example.org/paint.pkg","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}""", "macPackage.packageId" },
        { """{"name":"Bad","category":"education","macPackage":{"packageId":"org.example.paint.pkg","url":"https://example.org/paint.pkg"}}""", "macPackage" },
        { """{"name":"Bad","category":"education","macPackage":{"packageId":"org.example.paint.pkg","url":"https://example.org/paint.pkg","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","appPath":"/etc/passwd"}}""", "macPackage.appPath" },
        { """{"name":"Bad","category":"education","macPackage":{"packageId":"org.example.paint.pkg","url":"https://example.org/paint.pkg","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","appPath":"/Applications/../etc/x.app"}}""", "macPackage.appPath" },
        { """{"name":"Bad","category":"education","macPackage":{"packageId":"org.example.paint.pkg","url":"https://example.org/paint.pkg","sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","bundleId":"not a bundle"}}""", "macPackage.bundleId" },
        { """{"name":"Bad","category":"education"}""", "chromeExtensionId" },
        { """{"name":"Bad","category":"warez","webAppUrl":"https://example.org/"}""", "category" },
        { """{"name":"","category":"education","webAppUrl":"https://example.org/"}""", "name" },
        { """{"name":"Bad","category":"education","webAppUrl":"https://example.org/","licensesPurchased":-1}""", "licensesPurchased" },
    };

    [Theory]
    [MemberData(nameof(BadEntries))]
    public async Task Create_IdentityThatDoesNotParse_ProblemDetails_NothingStored(string body, string field)
    {
        var audit = await AuditCountAsync();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await Host.Client.PostAsync(new Uri("/api/apps", UriKind.Relative), content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(problem.ToString());
        (await Host.GetJsonAsync<JsonElement>("/api/apps")).GetArrayLength().ShouldBe(0);
        (await AuditCountAsync()).ShouldBe(audit);
    }

    [Fact]
    public async Task Create_OversizedBody_Answers413_NothingStored()
    {
        var body = JsonSerializer.Serialize(new { name = "Huge", category = "education", webAppUrl = "https://example.org/", iconUrl = "https://example.org/" + new string('a', 200_000) });
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await Host.Client.PostAsync(new Uri("/api/apps", UriKind.Relative), content);

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await Host.GetJsonAsync<JsonElement>("/api/apps")).GetArrayLength().ShouldBe(0);
    }

    private async Task<int> AuditCountAsync() => (await Host.GetJsonAsync<JsonElement>("/api/audit?pageSize=1")).GetProperty("total").GetInt32();
}

public sealed class AppCatalogValidationSqliteTests(SharedSqliteHost shared) : AppCatalogValidationTests(shared), IClassFixture<SharedSqliteHost>;

public sealed class AppCatalogValidationPostgresTests(SharedPostgresHost shared) : AppCatalogValidationTests(shared), IClassFixture<SharedPostgresHost>;
