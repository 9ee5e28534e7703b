using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Extension;

/// <summary>
/// Safety monitoring from the extension (extension/lib/safety.js, content/typing.js) in real Chromium
/// against a real server: what the student searches and types becomes a safety alert with its
/// evidence, a password never leaves the page, typed text is read only while the policy's
/// safety.typedText is on, and a screenshot arrives for the alert while safety.screenshots is on. The
/// policy sets safety.atHome, since the test device is in no school zone. Search engines and the form
/// page are served by the test (no network).
/// </summary>
public sealed class ExtensionSafetyTests
{
    // Phrases the built-in lexicon scores at least medium, each in its own category so a leak shows as its own alert.
    private const string Search = "painless ways to kill myself";
    private const string TypedSelfHarm = "i cut myself again last night";
    private const string PasswordBullying = "everyone hates you, you should just kill yourself";
    private const string TypedViolence = "i'm bringing my dad's gun to school tomorrow";
    private const string SearchDrugs = "who has xanax and percocet for sale after school";
    private const string FormPage = "http://homework.test/essay";

    private static Func<HomeroomHost, Task> SafetyProfileAsync(bool typedText, bool screenshots) => async host =>
    {
        var profile = await host.PostJsonAsync<JsonElement>("/api/profiles", new { name = "Safety", settings = Settings(typedText, screenshots) });
        (await host.PostJsonAsync("/api/assignments", new { profileId = profile.GetProperty("id").GetGuid(), level = "district" })).EnsureSuccessStatusCode();
    };

    private static object Settings(bool typedText, bool screenshots) =>
        new { monitoring = new { safety = true }, safety = new { typedText, screenshots, atHome = true } };

    private static async Task<ExtensionHarness> StartAsync(bool typedText, bool screenshots)
    {
        var harness = await ExtensionHarness.StartAsync(SafetyProfileAsync(typedText, screenshots));
        try
        {
            await harness.UntilPolicyAppliedAsync();
            await UntilTypingAsync(harness, typedText);
            await harness.Context.RouteAsync("https://www.google.com/**", route => route.FulfillAsync(new RouteFulfillOptions
            {
                Status = 200,
                ContentType = "text/html; charset=utf-8",
                Body = "<!doctype html><html><head><title>Search results - Google Search</title></head><body><h1>Results</h1></body></html>",
            }));
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until the extension has (or has not) loaded the typing script for the policy.</summary>
    private static Task UntilTypingAsync(ExtensionHarness harness, bool enabled) => Poll.UntilAsync(async () =>
        await harness.StorageAsync("safetyTyping") is { ValueKind: JsonValueKind.Object } typing && typing.GetProperty("enabled").GetBoolean() == enabled,
        ExtensionHarness.Timeout);

    /// <summary>
    /// A page with an essay box and a password field, as a school's homework site might have. The
    /// password field's id and label name no secret, so only its type keeps it from being read.
    /// </summary>
    private static async Task<IPage> FormAsync(ExtensionHarness harness)
    {
        var page = await harness.Context.NewPageAsync();
        await page.RouteAsync("http://homework.test/**", route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 200,
            ContentType = "text/html; charset=utf-8",
            Body = """
                <!doctype html><html><head><title>Homework</title></head><body>
                <label>Essay <textarea id="essay" rows="4" cols="60"></textarea></label>
                <label>Secret phrase <input id="phrase" type="password"></label>
                </body></html>
                """,
        }));
        await ExtensionHarness.GotoAsync(page, FormPage);
        return page;
    }

    /// <summary>Types into a field and presses Enter, which sends the phrase at once (no 2 s pause needed).</summary>
    private static async Task TypeAsync(IPage page, string selector, string text)
    {
        await page.Locator(selector).ClickAsync();
        await page.Locator(selector).PressSequentiallyAsync(text);
        await page.Keyboard.PressAsync("Enter");
    }

    private static async Task SearchAsync(ExtensionHarness harness, string query) =>
        await harness.OpenAsync($"https://www.google.com/search?q={Uri.EscapeDataString(query).Replace("%20", "+", StringComparison.Ordinal)}");

    /// <summary>The device's safety cases (alert, evidence, history), as the district admin reads them.</summary>
    private static async Task<List<JsonElement>> CasesAsync(ExtensionHarness harness)
    {
        var list = await harness.Host.GetJsonAsync<JsonElement>("/api/safety/alerts");
        var cases = new List<JsonElement>();
        foreach (var alert in list.GetProperty("items").EnumerateArray().Where(a => a.GetProperty("deviceId").GetGuid() == harness.DeviceId))
        {
            cases.Add(await harness.Host.GetJsonAsync<JsonElement>($"/api/safety/alerts/{alert.GetProperty("id").GetGuid()}"));
        }

        return cases;
    }

    private static IEnumerable<JsonElement> Evidence(IEnumerable<JsonElement> cases) =>
        cases.SelectMany(c => c.GetProperty("evidence").EnumerateArray());

    private static Func<JsonElement, bool> Shows(string source, string text) => e =>
        e.GetProperty("source").GetString() == source && e.GetProperty("excerpt").GetString()!.Contains(text, StringComparison.OrdinalIgnoreCase);

    /// <summary>Waits for evidence from a source with a text, and returns every case then.</summary>
    private static async Task<List<JsonElement>> UntilEvidenceAsync(ExtensionHarness harness, string source, string text)
    {
        List<JsonElement> cases = [];
        await Poll.UntilAsync(async () =>
        {
            cases = await CasesAsync(harness);
            return Evidence(cases).Any(Shows(source, text));
        }, ExtensionHarness.Timeout);
        return cases;
    }

    [Fact]
    public async Task Signals_SearchAndTypedText_BecomeAlertsWithAScreenshot_APasswordNever()
    {
        await using var harness = await StartAsync(typedText: true, screenshots: true);

        // The student's page says what is collected.
        var options = await harness.ControlPageAsync();
        await Assertions.Expect(options.GetByTestId("safety-now")).ToContainTextAsync("Safety monitoring is on");
        await Assertions.Expect(options.GetByTestId("safety-items")).ToContainTextAsync("Typed text: what you type into text boxes on web pages (never passwords");
        await Assertions.Expect(options.GetByTestId("safety-items")).ToContainTextAsync("Screenshots: when something concerning is found");

        // A password first (left with Tab), then the essay box: were the password read, it would be sent before the essay.
        var form = await FormAsync(harness);
        await form.Locator("#phrase").ClickAsync();
        await form.Locator("#phrase").PressSequentiallyAsync(PasswordBullying);
        await form.Keyboard.PressAsync("Tab");
        await TypeAsync(form, "#essay", TypedSelfHarm);
        await SearchAsync(harness, Search);

        await UntilEvidenceAsync(harness, "typed", TypedSelfHarm);
        var cases = await UntilEvidenceAsync(harness, "search", Search);
        var typed = Evidence(cases).First(Shows("typed", TypedSelfHarm));
        typed.GetProperty("url").GetString().ShouldBe(FormPage);
        var searched = Evidence(cases).First(Shows("search", Search));
        searched.GetProperty("url").GetString()!.ShouldStartWith("https://www.google.com/search?q=painless+ways+to+kill+myself");
        cases.ShouldAllBe(c => c.GetProperty("alert").GetProperty("category").GetString() == "selfHarm");
        Evidence(cases).ShouldNotContain(e => e.GetProperty("excerpt").GetString()!.Contains("hates you", StringComparison.OrdinalIgnoreCase));

        // The server asked for a screenshot of the alert: the visible tab, as JPEG.
        var alertId = cases.First(c => c.GetProperty("evidence").EnumerateArray().Any(Shows("search", Search))).GetProperty("alert").GetProperty("id").GetGuid();
        Guid? screenshotId = null;
        await Poll.UntilAsync(async () =>
        {
            var found = await harness.Host.GetJsonAsync<JsonElement>($"/api/safety/alerts/{alertId}");
            screenshotId = found.GetProperty("evidence").EnumerateArray()
                .Select(e => e.GetProperty("screenshotId"))
                .Where(s => s.ValueKind == JsonValueKind.String)
                .Select(s => (Guid?)s.GetGuid())
                .FirstOrDefault();
            return screenshotId is not null;
        }, ExtensionHarness.Timeout);
        using var response = await harness.Host.Client.GetAsync(new Uri($"/api/safety/alerts/{alertId}/screenshots/{screenshotId}", UriKind.Relative));
        response.EnsureSuccessStatusCode();
        response.Content.Headers.ContentType!.MediaType.ShouldBe("image/jpeg");
        var image = await response.Content.ReadAsByteArrayAsync();
        image[..3].ShouldBe(new byte[] { 0xFF, 0xD8, 0xFF });
        image.Length.ShouldBeLessThanOrEqualTo((256 * 1024) - 26);
    }

    [Fact]
    public async Task TypedText_Off_NothingTypedLeavesThePage_UntilThePolicyTurnsItOn()
    {
        await using var harness = await StartAsync(typedText: false, screenshots: false);
        var options = await harness.ControlPageAsync();
        await Assertions.Expect(options.GetByTestId("safety-items")).ToContainTextAsync("Typed text: not collected.");
        await Assertions.Expect(options.GetByTestId("safety-items")).ToContainTextAsync("Screenshots: not taken.");
        (await options.EvaluateAsync<int>("() => chrome.scripting.getRegisteredContentScripts().then(s => s.length)")).ShouldBe(0);

        // Typed (and sent at once by Enter, were it read), then a search: once the search's alert is there,
        // anything typed before it would be too.
        var form = await FormAsync(harness);
        await TypeAsync(form, "#essay", TypedViolence);
        await SearchAsync(harness, SearchDrugs);
        var cases = await UntilEvidenceAsync(harness, "search", SearchDrugs);
        cases.ShouldAllBe(c => c.GetProperty("alert").GetProperty("category").GetString() == "drugs");
        Evidence(cases).ShouldAllBe(e => e.GetProperty("source").GetString() == "search");

        // Switched on: the typing script is registered, and a page loaded from then on is read.
        var id = (await harness.Host.GetJsonAsync<JsonElement>("/api/profiles")).EnumerateArray().Single().GetProperty("id").GetGuid();
        using (var update = await harness.Host.Client.PutAsJsonAsync(new Uri($"/api/profiles/{id}", UriKind.Relative), new { name = "Safety", settings = Settings(typedText: true, screenshots: false) }))
        {
            update.EnsureSuccessStatusCode();
        }

        await UntilTypingAsync(harness, enabled: true);
        options = await harness.ControlPageAsync();
        await Assertions.Expect(options.GetByTestId("safety-items")).ToContainTextAsync("Typed text: what you type");
        await form.ReloadAsync();
        await TypeAsync(form, "#essay", TypedViolence);
        cases = await UntilEvidenceAsync(harness, "typed", TypedViolence);
        Evidence(cases).First(Shows("typed", TypedViolence)).GetProperty("url").GetString().ShouldBe(FormPage);
    }
}
