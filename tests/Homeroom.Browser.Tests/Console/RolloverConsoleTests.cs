using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Data;
using Homeroom.Server.Roster;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>The school year rollover on the OneRoster page, in Chromium: a dry run shows what would change and changes nothing; apply, after the confirmation, does it.</summary>
public sealed class RolloverConsoleTests(RolloverDistrict district) : IClassFixture<RolloverDistrict>
{
    private static readonly LocatorAssertionsToHaveTextOptions Text = new() { Timeout = 15_000 };
    private static readonly LocatorAssertionsToContainTextOptions Contains = new() { Timeout = 15_000 };

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task DistrictAdmin_DryRunThenApply_PromotesStudentsAndArchivesClasses()
    {
        var page = await district.SignInAsync("admin", HomeroomHost.AdminPassword);
        await page.GotoAsync("/roster/oneroster");

        await page.GetByTestId("rollover-dry-run").ClickAsync();
        await Expect(page.GetByTestId("rollover-status")).ToHaveTextAsync("Dry run: nothing has changed yet.", Text);
        await Expect(page.GetByTestId("rollover-promoted")).ToHaveTextAsync("2", Text);
        await Expect(page.GetByTestId("rollover-graduated")).ToHaveTextAsync("1", Text);
        await Expect(page.GetByTestId("rollover-classes")).ToHaveTextAsync("1", Text);
        await Expect(page.GetByTestId("rollover-grades")).ToContainTextAsync("graduated", Contains);
        (await GradesAsync()).ShouldBe([5, 11, 12]);
        await Browsers.ScreenshotAsync(page, "rollover-dry-run");

        await page.GetByTestId("rollover-apply").ClickAsync();
        await page.GetByTestId("rollover-confirm").ClickAsync();
        await Expect(page.GetByTestId("rollover-status")).ToContainTextAsync("The rollover is applied.", Contains);
        (await GradesAsync()).ShouldBe([6, 12]);
        await Browsers.ScreenshotAsync(page, "rollover-applied");

        async Task<List<int>> GradesAsync()
        {
            await using var db = await district.Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return await db.People.Where(p => p.Kind == PersonKind.Student && p.ArchivedAt == null).Select(p => p.GradeLevel!.Value).OrderBy(g => g).ToListAsync();
        }
    }
}

/// <summary>A school with three students (grades 5, 11 and 12) and one class: a rollover changes it, so it has a server of its own.</summary>
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
    }
}
