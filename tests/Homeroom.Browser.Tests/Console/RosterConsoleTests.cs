using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// The roster in the console, in Chromium against a real server: schools, groups and their pages,
/// people with paging, staff accounts and API keys, and who may see what.
/// </summary>
public sealed class RosterConsoleTests(RosterDistrict district) : IClassFixture<RosterDistrict>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToHaveTextOptions Text = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToContainTextOptions Contains = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToHaveCountOptions Count = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task DistrictAdmin_ConnectsTheOneRosterService_TestsIt_AndSyncsNow()
    {
        // The same set as the upload test, and preview only: whichever of the two runs first, the other finds the roster it expects.
        var set = new Homeroom.OneRosterData.OneRosterSetBuilder(seed: 11) { Version = "1.2", Schools = 1, Students = 12, Teachers = 2, Classes = 2, Guardians = 1 };
        await using var fake = await Homeroom.Server.Tests.Roster.FakeOneRosterServer.StartAsync("1.2", set.Build());
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/roster/oneroster");
        await page.GetByTestId("connection-base-url").FillAsync(fake.BaseUrl.ToString());
        await page.GetByTestId("connection-version").SelectOptionAsync("1.2");
        await page.GetByTestId("connection-client-id").FillAsync(Homeroom.Server.Tests.Roster.FakeOneRosterServer.ClientId);
        await page.GetByTestId("connection-secret").FillAsync(Homeroom.Server.Tests.Roster.FakeOneRosterServer.Secret);
        await page.GetByTestId("connection-token-url").FillAsync(fake.TokenUrl);
        await page.GetByTestId("connection-scope").FillAsync(Homeroom.Server.Tests.Roster.FakeOneRosterServer.Scope);
        await page.GetByTestId("connection-schedule").FillAsync("24");
        await page.GetByTestId("connection-save").ClickAsync();
        await Expect(page.GetByTestId("connection-status")).ToHaveTextAsync("Connection saved.", Text);
        await Expect(page.GetByTestId("connection-summary")).ToContainTextAsync("Syncs every 24 h", Contains);
        await Expect(page.GetByTestId("connection-secret")).ToHaveAttributeAsync("placeholder", "set: leave empty to keep it", new() { Timeout = 15_000 });

        await page.GetByTestId("connection-test").ClickAsync();
        await Expect(page.GetByTestId("connection-status")).ToHaveTextAsync("The service answered: 2 org(s).", Text);

        await page.GetByTestId("connection-sync").ClickAsync();
        await Expect(page.GetByTestId("connection-status")).ToHaveTextAsync("Synced: the preview is below. Nothing has changed yet.", Text);
        await Expect(page.GetByTestId("oneroster-count-row").Filter(new() { HasText = "Students" })).ToContainTextAsync("12", Contains);
        await Expect(page.GetByTestId("oneroster-history-source").First).ToHaveTextAsync("REST sync", Text);
        await Browsers.ScreenshotAsync(page, "oneroster-rest-sync");
        fake.TokensIssued.ShouldBe(1);
    }

    [Fact]
    public async Task DistrictAdmin_UploadsAOneRosterExport_SeesThePreview_AndAppliesIt()
    {
        var set = new Homeroom.OneRosterData.OneRosterSetBuilder(seed: 11) { Schools = 1, Students = 12, Teachers = 2, Classes = 2, Guardians = 1 };
        var zip = Path.Combine(Path.GetTempPath(), $"oneroster-{Guid.NewGuid():N}.zip");
        await File.WriteAllBytesAsync(zip, Homeroom.OneRosterData.OneRosterSetBuilder.Zip(set.Build()));
        try
        {
            var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
            await page.GotoAsync("/schools");
            await page.GetByRole(AriaRole.Link, new() { Name = "OneRoster import" }).ClickAsync();
            await Browsers.ChooseFileAsync(page.GetByTestId("oneroster-file"), page.GetByTestId("oneroster-upload"), zip);
            await page.GetByTestId("oneroster-upload").ClickAsync();

            // The preview: 12 students and 2 teachers to create, nothing changed yet.
            await Expect(page.GetByTestId("oneroster-status")).ToHaveTextAsync("Preview ready. Nothing has changed yet.", Text);
            await Expect(page.GetByTestId("oneroster-count-row").Filter(new() { HasText = "Students" })).ToContainTextAsync("12", Contains);
            await Expect(page.GetByTestId("oneroster-count-row").Filter(new() { HasText = "Teachers" })).ToContainTextAsync("2", Contains);
            (await ImportedStudentsAsync()).ShouldBe(0);
            await Browsers.ScreenshotAsync(page, "oneroster-preview");

            await page.GetByTestId("oneroster-apply").ClickAsync();
            await Expect(page.GetByTestId("oneroster-status")).ToContainTextAsync("Applied:", Contains);
            await Expect(page.GetByTestId("oneroster-history-row").First).ToContainTextAsync("Applied", Contains);
            (await ImportedStudentsAsync()).ShouldBe(12);
            await Browsers.ScreenshotAsync(page, "oneroster-applied");
        }
        finally
        {
            File.Delete(zip);
        }

        async Task<int> ImportedStudentsAsync()
        {
            await using var db = await district.Host.GetService<Microsoft.EntityFrameworkCore.IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.CountAsync(db.People, p => p.SourcedId != null && p.SourcedId.StartsWith("stu-"));
        }
    }

    [Fact]
    public async Task DistrictAdmin_CreatesASchool_AClassWithMembersAndASchedule_APerson_AStaffAccount_AndAnApiKey()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);

        // A school in its own time zone; the same name again is refused with a clear message.
        await page.GotoAsync("/schools");
        await page.GetByTestId("school-name").FillAsync("Roosevelt Elementary");
        await page.GetByTestId("school-time-zone").SelectOptionAsync("America/Chicago");
        await page.GetByTestId("save-school").ClickAsync();
        var row = page.GetByTestId("school-row").Filter(new() { HasText = "Roosevelt Elementary" });
        await Expect(row).ToContainTextAsync("America/Chicago", Contains);
        await page.GetByTestId("school-name").FillAsync("roosevelt elementary");
        await page.GetByTestId("save-school").ClickAsync();
        await Expect(page.GetByTestId("school-error")).ToContainTextAsync("A school named 'roosevelt elementary' exists", Contains);
        await Browsers.ScreenshotAsync(page, "schools");

        // A person in pre-K: the grade reads "Pre-K", never "-1".
        await page.GetByRole(AriaRole.Link, new() { Name = "People" }).ClickAsync();
        await page.GetByTestId("person-given").FillAsync("Grace");
        await page.GetByTestId("person-family").FillAsync("Hopper");
        await page.GetByTestId("person-school").SelectOptionAsync(new SelectOptionValue { Label = "Roosevelt Elementary" });
        await page.GetByTestId("person-grade").SelectOptionAsync(new SelectOptionValue { Label = "Pre-K" });
        await page.GetByTestId("create-person").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Grace Hopper" })).ToBeVisibleAsync(Visible);
        await Expect(page.GetByTestId("person-grade-label")).ToHaveTextAsync("Pre-K", Text);

        // A class, its member found by a lower-case search, and its weekly schedule.
        await page.GetByRole(AriaRole.Link, new() { Name = "Groups & classes" }).ClickAsync();
        await page.GetByTestId("group-name").FillAsync("Room 12");
        await page.GetByTestId("group-kind").SelectOptionAsync(new SelectOptionValue { Label = "Class" });
        await page.GetByTestId("group-school").SelectOptionAsync(new SelectOptionValue { Label = "Roosevelt Elementary" });
        await page.GetByTestId("group-grade").SelectOptionAsync(new SelectOptionValue { Label = "Pre-K" });
        await page.GetByTestId("create-group").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Room 12" })).ToBeVisibleAsync(Visible);
        var groupId = Guid.Parse(page.Url.Split('/')[^1]);
        await page.GetByTestId("person-picker").FillAsync("grace hop");
        await page.GetByTestId("person-matches").GetByTestId("add-person").First.ClickAsync();
        await Expect(page.GetByTestId("member-row")).ToHaveCountAsync(1, Count);
        await Expect(page.GetByTestId("member-row")).ToContainTextAsync("Grace Hopper");

        await page.GetByTestId("term-start").FillAsync("2026-09-01");
        await page.GetByTestId("term-end").FillAsync("2027-06-30");
        await page.GetByTestId("add-meeting").ClickAsync();
        await page.GetByTestId("meeting").GetByLabel("Mon").CheckAsync();
        await page.GetByTestId("meeting").GetByLabel("Wed").CheckAsync();
        await page.GetByTestId("save-schedule").ClickAsync();
        await Expect(page.GetByTestId("group-status")).ToHaveTextAsync("Schedule saved.", Text);
        var schedule = await district.Host.GetJsonAsync<JsonElement>($"/api/groups/{groupId}/schedule");
        schedule.GetProperty("termStart").GetString().ShouldBe("2026-09-01");
        schedule.GetProperty("meetings")[0].GetProperty("days").EnumerateArray().Select(d => d.GetString()).ShouldBe(["monday", "wednesday"]);
        schedule.GetProperty("meetings")[0].GetProperty("start").GetString().ShouldBe("08:30");
        await Expect(page.GetByTestId("group-history")).ToContainTextAsync("class.schedule", Contains);
        await Browsers.ScreenshotAsync(page, "group-page");

        // A school administrator's account, limited to the new school.
        await page.GetByRole(AriaRole.Link, new() { Name = "Staff accounts" }).ClickAsync();
        await page.GetByTestId("account-username").FillAsync("roosevelt.admin");
        await page.GetByTestId("account-display-name").FillAsync("Roosevelt Office");
        await page.GetByTestId("account-role").SelectOptionAsync(new SelectOptionValue { Label = "School admin" });
        await page.GetByTestId("account-school").SelectOptionAsync(new SelectOptionValue { Label = "Roosevelt Elementary" });
        await page.GetByTestId("account-password").FillAsync("a long enough passphrase");
        await page.GetByTestId("save-account").ClickAsync();
        var account = page.GetByTestId("account-row").Filter(new() { HasText = "roosevelt.admin" });
        await Expect(account).ToContainTextAsync("School admin", Contains);
        await Expect(account).ToContainTextAsync("Roosevelt Elementary");
        await Browsers.ScreenshotAsync(page, "staff-accounts");
        var limited = (await district.Host.GetJsonAsync<JsonElement>("/api/accounts")).EnumerateArray().Single(a => a.GetProperty("username").GetString() == "roosevelt.admin");
        limited.GetProperty("role").GetString().ShouldBe("schoolAdmin");
        limited.GetProperty("schoolId").GetGuid().ShouldNotBe(Guid.Empty);

        // The school cannot be deleted while an account is limited to it: the page says why, and the school stays.
        await page.GetByRole(AriaRole.Link, new() { Name = "Schools" }).ClickAsync();
        var roosevelt = page.GetByTestId("school-row").Filter(new() { HasText = "Roosevelt Elementary" });
        await roosevelt.GetByRole(AriaRole.Button, new() { Name = "Delete…" }).ClickAsync();
        await roosevelt.GetByTestId("confirm-delete-school").ClickAsync();
        await Expect(page.GetByTestId("school-error")).ToContainTextAsync("Staff accounts are limited to this school", Contains);
        await Expect(roosevelt).ToHaveCountAsync(1);

        // An API key: its secret is shown once and works; after a reload only its start shows; revoked, it stops.
        await page.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        await page.GetByTestId("api-key-name").FillAsync("nightly export");
        await page.GetByTestId("create-api-key").ClickAsync();
        var secret = await page.GetByTestId("api-key-secret").TextContentAsync();
        secret.ShouldNotBeNull().ShouldStartWith("hrk_");
        using (var script = district.Host.CreateClient(secret))
        {
            (await script.GetAsync(new Uri("/api/schools", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        await Browsers.ScreenshotAsync(page, "api-keys");
        await page.ReloadAsync();
        var keyRow = page.GetByTestId("api-key-row").Filter(new() { HasText = "nightly export" });
        await Expect(keyRow).ToContainTextAsync("active", Contains);
        (await page.ContentAsync()).ShouldNotContain(secret);
        await keyRow.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Expect(keyRow).ToContainTextAsync("revoked", Contains);
        using (var script = district.Host.CreateClient(secret))
        {
            (await script.GetAsync(new Uri("/api/schools", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task DuplicateGroupName_InOneSchool_ShowsAClearMessage_AndCreatesNothing()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/groups");
        await page.GetByTestId("group-name").FillAsync("spare CHROMEBOOKS");
        await page.GetByTestId("group-kind").SelectOptionAsync(new SelectOptionValue { Label = "Spare pool" });
        await page.GetByTestId("group-school").SelectOptionAsync(new SelectOptionValue { Label = RosterDistrict.North });
        await page.GetByTestId("create-group").ClickAsync();
        await Expect(page.GetByTestId("group-error")).ToContainTextAsync("exists in this school", Contains);

        // Both schools' spare pools are listed, told apart by their school.
        await page.GetByTestId("group-search").FillAsync("spare chromebooks");
        await Expect(page.GetByTestId("group-row")).ToHaveCountAsync(2, Count);
        await Expect(page.GetByTestId("group-row").Filter(new() { HasText = RosterDistrict.North })).ToContainTextAsync("Spare pool");
        await Expect(page.GetByTestId("group-row").Filter(new() { HasText = RosterDistrict.South })).ToContainTextAsync("Spare pool");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task PeopleList_PagesOnTheServer_WithTheTotal()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/people");
        await page.GetByTestId("people-search").FillAsync("pager");
        await Expect(page.GetByTestId("people-total")).ToHaveTextAsync(RosterDistrict.PagedPeople.ToString(System.Globalization.CultureInfo.InvariantCulture), Text);
        await Expect(page.GetByTestId("person-row")).ToHaveCountAsync(50, Count);
        await page.GetByTestId("people-next").ClickAsync();
        await Expect(page.GetByTestId("people-page")).ToHaveTextAsync("2", Text);
        await Expect(page.GetByTestId("person-row")).ToHaveCountAsync(RosterDistrict.PagedPeople - 50, Count);
        await Expect(page.GetByTestId("people-next")).ToBeDisabledAsync();
        await Expect(page.GetByTestId("person-row").First).ToContainTextAsync("Pre-K");
        await Browsers.ScreenshotAsync(page, "people");
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task GroupPage_ShowsTheClassDevices_ThoseOfItsStudents()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/groups");
        await page.GetByTestId("group-search").FillAsync("homeroom 5a");
        await Expect(page.GetByTestId("group-row")).ToHaveCountAsync(1, Count);
        await Expect(page.GetByTestId("group-row").GetByTestId("group-devices")).ToHaveTextAsync("3", Text);
        await page.GetByTestId("group-row").GetByRole(AriaRole.Link, new() { Name = "Homeroom 5A" }).ClickAsync();
        await Expect(page.GetByTestId("group-device-count")).ToHaveTextAsync("3", Text);
        await Expect(page.GetByTestId("group-device-row")).ToHaveCountAsync(3, Count);

        // A student's page links to their device.
        await page.GetByTestId("member-row").First.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page.GetByTestId("person-device-row")).ToHaveCountAsync(1, Count);
        await Expect(page.GetByTestId("person-group-row")).ToContainTextAsync("Homeroom 5A", Contains);
        await page.GetByTestId("person-device-row").GetByRole(AriaRole.Link).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"/devices/[^/?]+(\?|$)"));
        district.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task SchoolAdmin_SeesOnlyTheirSchoolsGroups_AndAnotherSchoolsGroupIsNotAvailable()
    {
        var page = await district.SignInAsync("north.admin", RosterDistrict.Password);
        await page.GotoAsync("/groups");
        await Expect(page.GetByTestId("group-row").Filter(new() { HasText = "Homeroom 5A" })).ToHaveCountAsync(1, Count);
        await Expect(page.GetByTestId("group-total")).ToHaveTextAsync("2", Text);
        await Expect(page.GetByTestId("group-row").Filter(new() { HasText = RosterDistrict.South })).ToHaveCountAsync(0);

        // Typed into the address bar: the console, with its "not available" page, and the 404 status.
        var response = await page.GotoAsync($"/groups/{district.SouthSpares}");
        response!.Status.ShouldBe(404);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not found", Exact = true })).ToBeVisibleAsync(Visible);
        await Expect(page.GetByTestId("not-allowed")).ToBeVisibleAsync(Visible);
        (await page.ContentAsync()).ShouldNotContain("Spare Chromebooks");
        await Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" })).ToBeVisibleAsync();
        district.ConsoleErrors[page].Where(e => !e.Contains("404", StringComparison.Ordinal)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Teacher_TypingTheDistrictLists_GetsTheNotAllowedPage_InTheConsole()
    {
        var page = await district.SignInAsync("teacher.ray", RosterDistrict.Password);
        foreach (var path in new[] { "/people", "/groups", "/devices", "/schools", "/accounts" })
        {
            var response = await page.GotoAsync(path);
            response!.Status.ShouldBe(403, path);
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed", Exact = true })).ToBeVisibleAsync(Visible);
            await Expect(page.GetByTestId("not-allowed")).ToBeVisibleAsync(Visible);
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Classroom" })).ToBeVisibleAsync();
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "People" })).ToHaveCountAsync(0);
        }

        await Browsers.ScreenshotAsync(page, "not-allowed");
    }
}

/// <summary>
/// Two schools for the roster console tests: North (Homeroom 5A with three students, each with an
/// enrolled Chromebook; a spare pool; a school administrator; a teacher) and South (a spare pool of the
/// same name), and many people to page through.
/// </summary>
public sealed class RosterDistrict : BrowserDistrict
{
    public const string North = "North Middle";
    public const string South = "South Middle";
    public const int PagedPeople = 57;

    public Guid SouthSpares { get; private set; }

    protected override int WindowHeight => 900;

    protected override async Task SeedAsync()
    {
        var north = await IdAsync("/api/schools", new { name = North, timeZone = "UTC" });
        var south = await IdAsync("/api/schools", new { name = South, timeZone = "UTC" });
        var homeroom = await IdAsync("/api/groups", new { name = "Homeroom 5A", kind = "class", schoolId = north, gradeLevel = 5 });
        await IdAsync("/api/groups", new { name = "Spare Chromebooks", kind = "sparePool", schoolId = north });
        SouthSpares = await IdAsync("/api/groups", new { name = "Spare Chromebooks", kind = "sparePool", schoolId = south });

        var token = await Host.CreateTokenAsync(schoolId: north);
        string[] names = ["Ada Lovelace", "Ben Okafor", "Cara Silva"];
        for (var i = 0; i < names.Length; i++)
        {
            var parts = names[i].Split(' ');
            var student = await IdAsync("/api/people", new { kind = "student", givenName = parts[0], familyName = parts[1], schoolId = north, gradeLevel = 5 });
            var device = (await Host.EnrollAsync(token, $"SN-ROSTER-{i}")).DeviceId;
            (await Host.Client.PatchAsJsonAsync($"/api/devices/{device}", new { assignedPersonId = student })).EnsureSuccessStatusCode();
            (await Host.PostJsonAsync($"/api/groups/{homeroom}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
        }

        for (var i = 0; i < PagedPeople; i++)
        {
            await IdAsync("/api/people", new { kind = "student", givenName = $"Kid{i:D2}", familyName = "Pager", schoolId = south, gradeLevel = -1 });
        }

        await AccountAsync("north.admin", "schoolAdmin", north, displayName: "North Office");
        var teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Ray", familyName = "Teacher", schoolId = north });
        (await Host.PostJsonAsync($"/api/groups/{homeroom}/members", new { personIds = new[] { teacher } })).EnsureSuccessStatusCode();
        await AccountAsync("teacher.ray", "teacher", north, teacher, "Mr. Ray");
    }
}
