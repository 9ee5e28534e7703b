using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Data;
using Homeroom.Server.Roster;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// The school year rollover on the OneRoster page, in Chromium: a dry run of one school (picked in the page) counts and names only
/// that school's students; a dry run of the whole district shows what would change and changes nothing; apply, after the confirmation, does it.
/// </summary>
public sealed class RolloverConsoleTests(RolloverDistrict district) : IClassFixture<RolloverDistrict>
{
    private static readonly LocatorAssertionsToHaveTextOptions Text = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToContainTextOptions Contains = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task DistrictAdmin_OneSchoolDryRun_ThenDistrictDryRunThenApply_PromotesStudentsAndArchivesClasses()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/roster/oneroster");

        // The picker offers the whole district and each school; one school's dry run counts and names its students only.
        var picker = page.GetByTestId("rollover-school");
        await Expect(picker.Locator("option")).ToHaveTextAsync(["All schools", "Rollover High", "Rollover Middle"], Text);
        await picker.SelectOptionAsync(new SelectOptionValue { Label = "Rollover Middle" });
        await page.GetByTestId("rollover-dry-run").ClickAsync();
        await Expect(page.GetByTestId("rollover-status")).ToHaveTextAsync("Dry run for Rollover Middle: nothing has changed yet.", Text);
        await Expect(page.GetByTestId("rollover-promoted")).ToHaveTextAsync("2", Text);
        await Expect(page.GetByTestId("rollover-graduated")).ToHaveTextAsync("0", Text);
        await Expect(page.GetByTestId("rollover-classes")).ToHaveTextAsync("0", Text);
        await page.Locator("summary", new() { HasText = "Sample students" }).ClickAsync();
        var named = page.GetByTestId("rollover-students").Locator("li");
        await Expect(named).ToHaveCountAsync(2, new() { Timeout = 15_000 });
        await Expect(named).ToContainTextAsync(["Dee Middle: grade 7", "Eve Middle: grade 8"], Contains);
        await Browsers.ScreenshotAsync(page, "rollover-dry-run-one-school");

        // Back to the whole district: the one-school result goes (apply follows a dry run of what is picked).
        await picker.SelectOptionAsync(new SelectOptionValue { Label = "All schools" });
        await Expect(page.GetByTestId("rollover-apply")).ToHaveCountAsync(0, new() { Timeout = 15_000 });
        await page.GetByTestId("rollover-dry-run").ClickAsync();
        await Expect(page.GetByTestId("rollover-status")).ToHaveTextAsync("Dry run for the whole district: nothing has changed yet.", Text);
        await Expect(page.GetByTestId("rollover-promoted")).ToHaveTextAsync("4", Text);
        await Expect(page.GetByTestId("rollover-graduated")).ToHaveTextAsync("1", Text);
        await Expect(page.GetByTestId("rollover-classes")).ToHaveTextAsync("1", Text);
        await Expect(page.GetByTestId("rollover-grades")).ToContainTextAsync("graduated", Contains);
        (await GradesAsync()).ShouldBe([5, 7, 8, 11, 12]);
        await Browsers.ScreenshotAsync(page, "rollover-dry-run");

        await page.GetByTestId("rollover-apply").ClickAsync();
        await page.GetByTestId("rollover-confirm").ClickAsync();
        await Expect(page.GetByTestId("rollover-status")).ToContainTextAsync("The rollover is applied for the whole district.", Contains);
        (await GradesAsync()).ShouldBe([6, 8, 9, 12]);
        await Browsers.ScreenshotAsync(page, "rollover-applied");

        async Task<List<int>> GradesAsync()
        {
            await using var db = await district.Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return await db.People.Where(p => p.Kind == PersonKind.Student && p.ArchivedAt == null).Select(p => p.GradeLevel!.Value).OrderBy(g => g).ToListAsync();
        }
    }
}

/// <summary>
/// A school with three students (grades 5, 11 and 12) and one class, and a second with two (grades 7 and 8): a rollover changes
/// them, so they have a server of their own.
/// </summary>
public sealed class RolloverDistrict : BrowserDistrict
{
    protected override async Task SeedAsync()
    {
        var school = await IdAsync("/api/schools", new { name = "Rollover High", timeZone = "UTC" });
        foreach (var (name, grade) in new[] { ("Ada", 5), ("Ben", 11), ("Cy", 12) })
        {
            await IdAsync("/api/people", new { kind = "student", givenName = name, familyName = "Student", gradeLevel = grade, schoolId = school });
        }

        await IdAsync("/api/groups", new { name = "Biology 11", kind = "class", schoolId = school });
        var middle = await IdAsync("/api/schools", new { name = "Rollover Middle", timeZone = "UTC" });
        foreach (var (name, grade) in new[] { ("Dee", 7), ("Eve", 8) })
        {
            await IdAsync("/api/people", new { kind = "student", givenName = name, familyName = "Middle", gradeLevel = grade, schoolId = middle });
        }
    }
}
