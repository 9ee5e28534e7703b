using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// The safety trends and lexicon pages in Chromium: an alert raised by a device's signal shows as this
/// week's bar and table row (and in the CSV) for its school's safety lead, who sees only that school and may
/// read the lexicon but not change it; the district admin sees both schools' alerts and narrows them by
/// school, sees a false positive's demotion with its alert, adds an entry, has a
/// list with a bad line refused with its line number (nothing added), imports a good list, undoes the
/// demotion, and the lexicon tester scores the added phrase. Runs on a server of its own.
/// </summary>
public sealed class SafetyTrendsLexiconConsoleTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 15_000 };

    [Fact]
    public async Task SafetyLeadSeesTheWeeksAlert_AndDistrictAdminChangesTheLexicon_Reversibly()
    {
        var host = server.Host;
        var school = await SchoolWithAnAlertAsync(host, "Trend school", "my poem says i want to kill myself tonight");
        var otherSchool = await SchoolWithAnAlertAsync(host, "Other trend school", "he said he will shoot up the school friday");

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        // The school's safety lead: the queue links to the trends, which show this week's alert.
        using var leadApi = await host.SignInAsNewAccountAsync("trends-lead", "safetyLead", schoolId: school);
        var lead = await server.SignInAsync("trends-lead", ConsoleDistrict.TeacherPassword);
        await lead.GotoAsync("/safety");
        await Expect(lead.GetByTestId("safety-row")).ToHaveCountAsync(1, Soon);
        await lead.GetByTestId("safety-trends-link").ClickAsync();
        var row = lead.Locator($"[data-testid=trends-row][data-week='{monday}']");
        await Expect(row).ToHaveCountAsync(1, Soon);
        await Expect(lead.GetByTestId("trends-table").Locator("thead")).ToContainTextAsync("self-harm");
        await Expect(row.Locator("td")).ToHaveTextAsync(["1", "1"]);
        await Expect(lead.Locator($"[data-testid=trends-bar][data-week='{monday}']")).ToHaveAttributeAsync("data-total", "1");
        await Expect(lead.Locator($"[data-testid=trends-bar][data-week='{monday}'] rect")).ToHaveCountAsync(1);
        await Expect(lead.GetByTestId("trends-legend")).ToContainTextAsync("self-harm");
        await Expect(lead.GetByTestId("trends-row")).ToHaveCountAsync(12);
        await Expect(lead.GetByTestId("trends-school").Locator("option")).ToHaveTextAsync(["Trend school"]);
        var csv = Uri.UnescapeDataString((await lead.GetByTestId("trends-csv").GetAttributeAsync("href"))!["data:text/csv;charset=utf-8,".Length..]);
        csv.ShouldStartWith("week,selfHarm,total\r\n");
        csv.ShouldContain($"\r\n{monday},1,1\r\n");
        await lead.GetByTestId("trends-weeks").FillAsync("26");
        await lead.GetByTestId("trends-weeks").BlurAsync();
        await Expect(lead.GetByTestId("trends-row")).ToHaveCountAsync(26, Soon);
        await Browsers.ScreenshotAsync(lead, "safety-trends");

        // The lead reads the lexicon but may not change it (the lexicon is the district's).
        await lead.GotoAsync("/safety/lexicon");
        await Expect(lead.GetByTestId("lexicon-read-only")).ToBeVisibleAsync();
        await Expect(lead.GetByTestId("lexicon-add")).ToHaveCountAsync(0);
        server.ConsoleErrors[lead].ShouldBeEmpty();

        // A false positive with a context phrase becomes a demotion, listed with the alert it came from.
        var alerts = await host.Client.GetFromJsonAsync<JsonElement>($"/api/safety/alerts?status=open&schoolId={school}");
        var alertId = alerts.GetProperty("items")[0].GetProperty("id").GetGuid();
        using (var marked = await host.PostJsonAsync($"/api/safety/alerts/{alertId}/status", new { status = "falsePositive", note = "A poem for class.", demote = "my poem" }))
        {
            marked.EnsureSuccessStatusCode();
        }

        // District-wide, the trends count both schools' alerts, and the school filter narrows them.
        var admin = await server.SignInAsync("admin", HomeroomHost.AdminPassword);
        await admin.GotoAsync("/safety/trends");
        var adminRow = admin.Locator($"[data-testid=trends-row][data-week='{monday}']");
        await Expect(adminRow.Locator("td").Last).ToHaveTextAsync("2", new() { Timeout = 15_000 });
        await Expect(admin.Locator($"[data-testid=trends-bar][data-week='{monday}'] rect")).ToHaveCountAsync(2);
        await admin.GetByTestId("trends-school").SelectOptionAsync(otherSchool.ToString());
        await Expect(adminRow.Locator("td").Last).ToHaveTextAsync("1");
        await Expect(admin.GetByTestId("trends-table").Locator("thead")).Not.ToContainTextAsync("self-harm");
        await admin.GetByTestId("trends-school").SelectOptionAsync(school.ToString());
        await Expect(admin.GetByTestId("trends-table").Locator("thead")).ToContainTextAsync("self-harm");

        await admin.GotoAsync("/safety");
        await admin.GetByTestId("safety-lexicon-link").ClickAsync();
        await Expect(admin.GetByTestId("lexicon-demotion").GetByTestId("lexicon-row")).ToHaveCountAsync(1, Soon);
        await Expect(admin.GetByTestId("lexicon-demotion-alert")).ToHaveAttributeAsync("href", $"/safety/alerts/{alertId}");

        // Add an entry.
        await admin.GetByTestId("lexicon-add-phrase").FillAsync("purple elephant");
        await admin.GetByTestId("lexicon-add-category").SelectOptionAsync("bullying");
        await admin.GetByTestId("lexicon-add-weight").FillAsync("60");
        await admin.GetByTestId("lexicon-add").ClickAsync();
        await Expect(admin.Locator("table[data-testid=lexicon-add] [data-testid=lexicon-row]")).ToHaveCountAsync(1, Soon);
        await Expect(admin.Locator("table[data-testid=lexicon-add]")).ToContainTextAsync("purple elephant");

        // A list with a bad line is refused whole, with the line's number; nothing is added.
        await admin.GetByTestId("lexicon-import-category").SelectOptionAsync("violence");
        await admin.GetByTestId("lexicon-import-text").FillAsync("# a district list\n<blue whale><40>\n<green frog\n");
        await admin.GetByTestId("lexicon-import").ClickAsync();
        await Expect(admin.GetByTestId("lexicon-import-errors")).ToContainTextAsync("Line 3");
        await Expect(admin.GetByTestId("lexicon-import-errors").Locator("li")).ToHaveCountAsync(1);
        await Expect(admin.Locator("table[data-testid=lexicon-add] [data-testid=lexicon-row]")).ToHaveCountAsync(1);
        (await AdjustmentsAsync(host)).Count(a => a.GetProperty("kind").GetString() == "add").ShouldBe(1);
        await Browsers.ScreenshotAsync(admin, "safety-lexicon-import-refused");

        // The corrected list, read from a file into the box, is imported.
        await admin.GetByTestId("lexicon-import-file").SetInputFilesAsync(new FilePayload
        {
            Name = "district.txt", MimeType = "text/plain", Buffer = System.Text.Encoding.UTF8.GetBytes("# a district list\n<blue whale><40>\n<green frog><30>\n"),
        });
        await Expect(admin.GetByTestId("lexicon-import-text")).ToHaveValueAsync("# a district list\n<blue whale><40>\n<green frog><30>\n", new() { Timeout = 15_000 });
        await admin.GetByTestId("lexicon-import").ClickAsync();
        await Expect(admin.GetByTestId("lexicon-status")).ToContainTextAsync("2 phrases added", new() { Timeout = 15_000 });
        await Expect(admin.GetByTestId("lexicon-import-errors")).ToHaveCountAsync(0);
        await Expect(admin.Locator("table[data-testid=lexicon-add] [data-testid=lexicon-row]")).ToHaveCountAsync(3);
        await Expect(admin.Locator("table[data-testid=lexicon-add]")).ToContainTextAsync("green frog");

        // Undo the false positive's demotion.
        await admin.GetByTestId("lexicon-demotion").GetByTestId("lexicon-delete").ClickAsync();
        await Expect(admin.GetByTestId("lexicon-demotion")).ToHaveCountAsync(0, Soon);
        (await AdjustmentsAsync(host)).ShouldNotContain(a => a.GetProperty("kind").GetString() == "demotion");
        (await AdjustmentsAsync(host)).Count.ShouldBe(3);
        await Browsers.ScreenshotAsync(admin, "safety-lexicon");

        // The tester scores with the district's lexicon, the added entry included.
        await admin.GotoAsync("/safety/tester");
        await admin.GetByTestId("tester-text").FillAsync("you are a purple elephant");
        await admin.GetByTestId("tester-scan").ClickAsync();
        await Expect(admin.GetByTestId("tester-matches")).ToContainTextAsync("\"purple elephant\" (bullying)");
        await Expect(admin.GetByTestId("tester-highlight").Locator("mark")).ToHaveTextAsync("purple elephant");
        server.ConsoleErrors[admin].ShouldBeEmpty();
    }

    // A school whose policy monitors safety, with a device that sent one matching signal.
    private static async Task<Guid> SchoolWithAnAlertAsync(HomeroomHost host, string name, string text)
    {
        var school = (await host.PostJsonAsync<JsonElement>("/api/schools", new { name, timeZone = "UTC" })).GetProperty("id").GetGuid();
        var profile = (await host.PostJsonAsync<JsonElement>("/api/profiles", new { name = name + " rules", schoolId = school, settings = new { safety = new { atHome = true } } }))
            .GetProperty("id").GetGuid();
        using (var assigned = await host.PostJsonAsync("/api/assignments", new { profileId = profile, level = "school", scopeId = school.ToString() }))
        {
            assigned.EnsureSuccessStatusCode();
        }

        var enrolled = await host.EnrollAsync(await host.CreateTokenAsync(schoolId: school), "SN-" + school.ToString("N"));
        await using var agent = await TestAgent.ConnectAsync(host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        await agent.SendAsync(new SignalsFrame(1, [new SafetySignal(DateTimeOffset.UtcNow, SignalSources.Search, text, "https://www.google.com/search?q=x")]));
        await agent.ExpectAsync<SignalsAckFrame>();
        return school;
    }

    private static async Task<List<JsonElement>> AdjustmentsAsync(HomeroomHost host) =>
        [.. (await host.Client.GetFromJsonAsync<JsonElement>("/api/safety/lexicon/adjustments")).EnumerateArray()];
}
