using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Infrastructure;

/// <summary>
/// Starts Debian's Chromium through Playwright. Playwright's own browser download does not work
/// here, so tests always use the system browser (installed by scripts/ensure-chromium.sh).
/// </summary>
public static class Browsers
{
    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("HOMEROOM_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";

    /// <summary>Where screenshots and traces go; the test command keeps this folder as an artifact.</summary>
    public static string ArtifactsDirectory
    {
        get
        {
            var directory = Environment.GetEnvironmentVariable("HOMEROOM_TEST_ARTIFACTS") is { Length: > 0 } configured
                ? configured
                : Path.Combine(RepositoryRoot(), "artifacts", "screenshots");
            Directory.CreateDirectory(directory);
            return directory;
        }
    }

    /// <summary>What every test browser starts with: headless in a container, no GPU.</summary>
    public static readonly string[] Arguments = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"];

    /// <summary>
    /// How long an assertion waits for the page, where a test does not say: most answers make a round trip to the
    /// server over the page's live connection, and on a busy 2-core machine that has taken longer than Playwright's
    /// default 5 s (a dialog still open after Escape, focus not yet moved by the skip link).
    /// </summary>
    public const float ExpectTimeoutMilliseconds = 15_000;

    public static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assertions.SetDefaultExpectTimeout(ExpectTimeoutMilliseconds);
        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true, Args = Arguments });
    }

    /// <summary>
    /// Chooses a file in a Blazor <c>InputFile</c> until the page has taken it (<paramref name="taken"/> becomes enabled):
    /// the input is on the page as soon as it renders, but its change handler is attached a moment later over the
    /// page's live connection, and a file chosen before that is never seen.
    /// </summary>
    public static async Task ChooseFileAsync(ILocator input, ILocator taken, string path)
    {
        // Blazor's InputFile listens for a choice only once its script has run on the element, which then carries
        // _blazorInputFileNextFileId (blazor.web.js); a file chosen before that is never seen. Wait for it first.
        await input.EvaluateAsync(
            "e => new Promise((resolve, reject) => { const start = Date.now(); (function wait() { if (e._blazorInputFileNextFileId !== undefined) resolve(); " +
            "else if (Date.now() - start > 15000) reject(new Error('the file input was not set up by Blazor within 15 s')); else setTimeout(wait, 50); })(); })");
        for (var attempt = 1; ; attempt++)
        {
            await input.SetInputFilesAsync(path);
            try
            {
                await Assertions.Expect(taken).ToBeEnabledAsync(new() { Timeout = 5_000 });
                return;
            }
            catch (Exception e) when (e is PlaywrightException or TimeoutException && attempt < 5)
            {
                // Chosen before the handler was attached: choose it again.
            }
        }
    }

    /// <summary>Saves a full-page screenshot as <c>name.png</c> among the test artifacts.</summary>
    public static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDirectory, name + ".png"), FullPage = true });

    /// <summary>The checkout the tests run from (the folder holding Homeroom.slnx).</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Homeroom.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Homeroom.slnx not found above the test binaries.");
    }
}
