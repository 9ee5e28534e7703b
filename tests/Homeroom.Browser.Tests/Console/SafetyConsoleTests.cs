using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// The safety pages in Chromium: a signal from a device of a school whose policy monitors safety shows
/// in the queue, the case page marks the matched phrase in the evidence and records a status change,
/// and the lexicon tester explains a text without storing it. Runs on a server of its own: the shared
/// console district's tests count its devices.
/// </summary>
public sealed class SafetyConsoleTests : IAsyncLifetime
{
    private HomeroomHost _host = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private readonly Dictionary<IPage, List<string>> _consoleErrors = [];

    public async Task InitializeAsync()
    {
        _host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "DetailedErrors=true");
        _playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        _browser = await Browsers.LaunchAsync(_playwright);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        await _host.DisposeAsync();
    }

    private const string Concerning = "i want to kill myself tonight";

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static readonly LocatorAssertionsToHaveCountOptions Soon = new() { Timeout = 15_000 };

    [Fact]
    public async Task SafetyLead_OpensTheCase_SeesTheMatchMarked_AndMovesItToReview()
    {
        var host = _host;
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
        var page = await ConsoleSignIn.SignInAsync(_browser, host.BaseAddress, _consoleErrors, "safety-console-lead", ConsoleDistrict.TeacherPassword);
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
        _consoleErrors[page].ShouldBeEmpty();
    }
}
