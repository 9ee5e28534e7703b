using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// The safety pages in Chromium: a signal from a device of a school whose policy monitors safety shows
/// in the queue, the case page marks the matched phrase in the evidence and records a status change,
/// and the lexicon tester explains a text without storing it. Runs on a server of its own: the shared
/// console district's tests count its devices.
/// </summary>
public sealed class SafetyConsoleTests(ConsoleServer server) : IClassFixture<ConsoleServer>
{
    private const string Concerning = "i want to kill myself tonight";

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 15_000 };

    [Fact]
    public async Task SafetyLead_OpensTheCase_SeesTheMatchMarked_AndMovesItToReview()
    {
        var host = server.Host;
        var school = (await host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Safety school", timeZone = "UTC" })).GetProperty("id").GetGuid();
        var profile = (await host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Safety school rules", schoolId = school, settings = new { safety = new { atHome = true } } }))
            .GetProperty("id").GetGuid();
        using (var assigned = await host.PostJsonAsync("/api/assignments", new { profileId = profile, level = "school", scopeId = school.ToString() }))
        {
            assigned.EnsureSuccessStatusCode();
        }

        var enrolled = await host.EnrollAsync(await host.CreateTokenAsync(schoolId: school), "SN-SAFETY-CONSOLE");
        await using (var agent = await TestAgent.ConnectAsync(host.AgentUri, enrolled.DeviceId, enrolled.Credential))
        {
            await agent.ExpectWelcomeAsync();
            await agent.SendAsync(new SignalsFrame(1, [new SafetySignal(DateTimeOffset.UtcNow, SignalSources.Search, $"how to say {Concerning}", "https://www.google.com/search?q=x")]));
            await agent.ExpectAsync<SignalsAckFrame>();
        }

        using var leadApi = await host.SignInAsNewAccountAsync("safety-console-lead", "safetyLead", schoolId: school);
        var page = await server.SignInAsync("safety-console-lead", ConsoleDistrict.TeacherPassword);
        await page.GotoAsync("/safety");
        await Expect(page.GetByTestId("safety-row")).ToHaveCountAsync(1, Soon);
        await Expect(page.GetByTestId("safety-row")).ToContainTextAsync("self-harm");
        await Browsers.ScreenshotAsync(page, "safety-queue");

        await page.GetByTestId("safety-row").GetByRole(AriaRole.Link).ClickAsync();
        var excerpt = page.GetByTestId("safety-excerpt");
        await Expect(excerpt).ToContainTextAsync($"how to say {Concerning}");
        await Expect(excerpt.Locator("mark").First).ToBeVisibleAsync();
        (await excerpt.Locator("mark").AllTextContentsAsync()).ShouldAllBe(marked => Concerning.Contains(marked.ToLowerInvariant()));
        await Expect(page.GetByTestId("safety-case-status")).ToHaveTextAsync("new");
        await page.GetByTestId("safety-new-status").SelectOptionAsync("inReview");
        await page.GetByTestId("safety-status-note").FillAsync("Talking with the counselor.");
        await page.GetByTestId("safety-set-status").ClickAsync();
        await Expect(page.GetByTestId("safety-case-status")).ToHaveTextAsync("inReview");
        await Expect(page.GetByTestId("safety-history")).ToContainTextAsync("Talking with the counselor.");
        await Browsers.ScreenshotAsync(page, "safety-case");

        await page.GotoAsync("/safety/tester");
        await page.GetByTestId("tester-text").FillAsync("my history essay is killing me");
        await page.GetByTestId("tester-scan").ClickAsync();
        await Expect(page.GetByTestId("tester-result")).ToBeVisibleAsync();
        await page.GetByTestId("tester-text").FillAsync(Concerning);
        await page.GetByTestId("tester-scan").ClickAsync();
        await Expect(page.GetByTestId("tester-would-alert")).ToContainTextAsync("yes");
        await Expect(page.GetByTestId("tester-highlight").Locator("mark").First).ToBeVisibleAsync();
        await Browsers.ScreenshotAsync(page, "safety-tester");
        server.ConsoleErrors[page].ShouldBeEmpty();
    }

    [Fact]
    public async Task SafetyLead_SetsTheSchoolsEscalationContactsAndQuietHours_FromTheQueue()
    {
        var host = server.Host;
        var school = (await host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Routing school", timeZone = "America/Chicago" })).GetProperty("id").GetGuid();
        using var leadApi = await host.SignInAsNewAccountAsync("safety-routing-lead", "safetyLead", schoolId: school);
        var page = await server.SignInAsync("safety-routing-lead", ConsoleDistrict.TeacherPassword);
        await page.GotoAsync("/safety");
        await page.GetByTestId("safety-settings-link").ClickAsync();
        await Expect(page.GetByTestId("safety-settings-form")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("safety-contacts")).ToContainTextAsync("the district's contacts");

        await page.GetByTestId("add-contact").ClickAsync();
        await page.GetByTestId("add-contact").ClickAsync();
        await page.GetByTestId("contact-name").Nth(0).FillAsync("Dana Counselor");
        await page.GetByTestId("contact-email").Nth(0).FillAsync("dana@mail.example.org");
        await page.GetByTestId("contact-name").Nth(1).FillAsync("Lee Principal");
        // The browser checks the address's form itself; the server refuses an address listed twice.
        await page.GetByTestId("contact-email").Nth(1).FillAsync("DANA@mail.example.org");
        await page.GetByTestId("escalate-after").FillAsync("10");
        await page.GetByTestId("quiet-on").CheckAsync();
        await page.GetByTestId("quiet-start").FillAsync("22:00");
        await page.GetByTestId("quiet-end").FillAsync("06:00");
        await page.GetByTestId("quiet-day-friday").CheckAsync();
        await page.GetByTestId("save-safety-settings").ClickAsync();
        await Expect(page.GetByTestId("safety-settings-errors")).ToContainTextAsync("contacts[1].email: This address is already in the chain.");
        (await leadApi.GetFromJsonAsync<JsonElement>($"/api/schools/{school}/safety-settings")).GetProperty("contacts").GetArrayLength().ShouldBe(0, "nothing was saved");

        await page.GetByTestId("contact-email").Nth(1).FillAsync("lee@mail.example.org");
        await page.GetByTestId("save-safety-settings").ClickAsync();
        await Expect(page.GetByTestId("safety-settings-status")).ToHaveTextAsync("Saved.");
        await Browsers.ScreenshotAsync(page, "safety-settings");

        var saved = await leadApi.GetFromJsonAsync<JsonElement>($"/api/schools/{school}/safety-settings");
        saved.GetProperty("contacts").EnumerateArray().Select(c => c.GetProperty("email").GetString()).ShouldBe(["dana@mail.example.org", "lee@mail.example.org"]);
        saved.GetProperty("escalateAfterMinutes").GetInt32().ShouldBe(10);
        saved.GetProperty("quietHours").GetProperty("start").GetString().ShouldBe("22:00");
        saved.GetProperty("quietHours").GetProperty("end").GetString().ShouldBe("06:00");
        saved.GetProperty("quietHours").GetProperty("days").EnumerateArray().Select(d => d.GetString()).ShouldBe(["friday"]);
        server.ConsoleErrors[page].ShouldBeEmpty();
    }
}
