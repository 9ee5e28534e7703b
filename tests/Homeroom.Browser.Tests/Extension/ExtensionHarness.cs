using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Extension;

/// <summary>
/// A real Homeroom server and a Chromium profile with the unpacked extension loaded, configured
/// through its service worker the way the options page would. Pages under <c>http://*.test/</c>
/// are served by the harness (a title and a heading naming the path), so tests need no network.
/// </summary>
public sealed partial class ExtensionHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    // Enrolling goes through a freshly started service worker, the options page and the server; on a starved
    // machine (CI once saw 50 % CPU steal) that took longer than 30 s, so the wait for it is longer.
    private static readonly TimeSpan EnrollmentTimeout = TimeSpan.FromSeconds(90);

    private readonly string _userDataDir;
    private IPlaywright _playwright = null!;
    private IPage? _control;
    private IReadOnlyList<string> _otherExtensions = [];

    private ExtensionHarness(HomeroomHost host, string userDataDir)
    {
        Host = host;
        _userDataDir = userDataDir;
    }

    public HomeroomHost Host { get; }

    public IBrowserContext Context { get; private set; } = null!;

    public string ExtensionId { get; private set; } = null!;

    public Guid DeviceId { get; private set; }

    public static string ExtensionDirectory => Path.Combine(Browsers.RepositoryRoot(), "extension");

    public string ExtensionUrl(string path) => $"chrome-extension://{ExtensionId}/{path}";

    /// <summary>Starts the server, runs <paramref name="prepare"/> against it (profiles, lists), then starts Chromium with the extension and waits until it has enrolled.</summary>
    /// <param name="prepare">Run against the server before Chromium starts.</param>
    /// <param name="otherExtensions">Directories of more unpacked extensions to load beside Homeroom's (a student's own, say).</param>
    public static async Task<ExtensionHarness> StartAsync(Func<HomeroomHost, Task>? prepare = null, IReadOnlyList<string>? otherExtensions = null)
    {
        var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        var harness = new ExtensionHarness(host, Directory.CreateTempSubdirectory("homeroom-ext-").FullName) { _otherExtensions = otherExtensions ?? [] };
        try
        {
            if (prepare is not null)
            {
                await prepare(host);
            }

            await harness.LaunchAsync();
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    private async Task LaunchAsync()
    {
        Assertions.SetDefaultExpectTimeout(Browsers.ExpectTimeoutMilliseconds);
        _playwright = await Playwright.CreateAsync();
        var extension = string.Join(',', _otherExtensions.Prepend(ExtensionDirectory));
        Context = await _playwright.Chromium.LaunchPersistentContextAsync(_userDataDir, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = Browsers.ChromiumPath,
            Headless = true,
            ViewportSize = new ViewportSize { Width = 1000, Height = 700 },
            Args = [.. Browsers.Arguments, $"--disable-extensions-except={extension}", $"--load-extension={extension}"],
        });
        await Context.RouteAsync(TestSite(), route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 200,
            ContentType = "text/html; charset=utf-8",
            Body = $"<!doctype html><html><head><title>Test page {new Uri(route.Request.Url).AbsolutePath}</title></head><body><h1>{new Uri(route.Request.Url).Host}{new Uri(route.Request.Url).AbsolutePath}</h1></body></html>",
        }));

        ExtensionId = ExtensionIdOf(ExtensionDirectory);

        // Set up the way a technician would on an unmanaged browser: the options page.
        var token = await Host.CreateTokenAsync();
        var options = await ControlPageAsync();
        await options.Locator("form[data-ready=true]").WaitForAsync();
        await options.Locator("#serverUrl").FillAsync(Host.BaseAddress.ToString());
        await options.Locator("#enrollmentToken").FillAsync(token);
        await options.Locator("button[type=submit]").ClickAsync();
        try
        {
            await Poll.UntilAsync(async () => await StorageAsync("enrollment") is { ValueKind: JsonValueKind.Object }, EnrollmentTimeout);
        }
        catch (TimeoutException timeout)
        {
            var page = await ControlPageAsync();
            throw new TimeoutException(
                $"The extension did not enroll; its options page says \"{await page.Locator("#status").InnerTextAsync()}\", config {await StorageAsync("config")}.", timeout);
        }
        DeviceId = (await StorageAsync("enrollment")).GetProperty("deviceId").GetGuid();
    }

    /// <summary>Chrome names an unpacked extension after its directory: SHA-256 of the path, 32 hex digits spelled a to p.</summary>
    public static string ExtensionIdOf(string directory)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(directory)));
        return string.Concat(Convert.ToHexStringLower(hash.AsSpan(0, 16)).Select(c => (char)('a' + Convert.ToInt32(c.ToString(), 16))));
    }

    /// <summary>An extension page (the options page) for reading the extension's storage; opened again when it was closed or covered.</summary>
    public async Task<IPage> ControlPageAsync()
    {
        var url = ExtensionUrl("pages/options.html");
        if (_control is { IsClosed: false } && _control.Url == url)
        {
            return _control;
        }

        _control = await Context.NewPageAsync();
        await _control.GotoAsync(url);
        return _control;
    }

    public async Task CloseControlPageAsync()
    {
        if (_control is { IsClosed: false })
        {
            await _control.CloseAsync();
        }

        _control = null;
    }

    /// <summary>One key of the extension's storage, as JSON (null when absent).</summary>
    public async Task<JsonElement> StorageAsync(string key, string area = "local")
    {
        var page = await ControlPageAsync();
        var json = await page.EvaluateAsync<string>("([area, key]) => chrome.storage[area].get(key).then(v => JSON.stringify(v[key] ?? null))", new[] { area, key });
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    public async Task<IPage> OpenAsync(string url)
    {
        var page = await Context.NewPageAsync();
        await GotoAsync(page, url);
        return page;
    }

    /// <summary>Navigates, tolerating the navigation being replaced by the extension (block or lock page).</summary>
    public static async Task GotoAsync(IPage page, string url)
    {
        try
        {
            await page.GotoAsync(url, new PageGotoOptions { Timeout = (float)Timeout.TotalMilliseconds });
        }
        catch (PlaywrightException error) when (error.Message.Contains("ERR_ABORTED", StringComparison.Ordinal) || error.Message.Contains("interrupted", StringComparison.Ordinal) || error.Message.Contains("ERR_BLOCKED", StringComparison.Ordinal))
        {
            // The extension sent the tab elsewhere; the test checks where.
        }
    }

    public async Task<JsonElement> DeviceAsync() => await Host.GetJsonAsync<JsonElement>($"/api/devices/{DeviceId}");

    public async Task<bool> IsOnlineAsync() => (await DeviceAsync()).GetProperty("online").GetBoolean();

    /// <summary>Waits until the device reported its policy applied in full (the server's compliance view).</summary>
    public Task UntilPolicyAppliedAsync() => Poll.UntilAsync(async () =>
    {
        var policy = await Host.GetJsonAsync<JsonElement>($"/api/devices/{DeviceId}/policy");
        return policy.GetProperty("appliedVersion").GetInt64() >= 1 && policy.GetProperty("compliant").GetBoolean();
    }, Timeout);

    public async Task<Guid> IssueAsync(string kind, object? arguments = null) =>
        (await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind, arguments, deviceIds = new[] { DeviceId } })).GetProperty("id").GetGuid();

    public async Task<int> CountAsync(Guid commandId, string status) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/commands/{commandId}")).GetProperty("counts").GetProperty(status).GetInt32();

    public Task UntilSucceededAsync(Guid commandId) => Poll.UntilAsync(async () => await CountAsync(commandId, "succeeded") == 1, Timeout);

    public async Task<JsonElement> DeliveryAsync(Guid commandId) =>
        (await Host.GetJsonAsync<JsonElement>($"/api/commands/{commandId}/deliveries")).GetProperty("items")[0];

    /// <summary>Waits for browser state; on timeout the message lists every open page, which is what a failure needs.</summary>
    public async Task UntilAsync(Func<bool> condition)
    {
        try
        {
            await Poll.UntilAsync(() => Task.FromResult(condition()), Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The browser did not reach the expected state. Open pages: {string.Join(", ", Context.Pages.Select(p => p.Url))}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Context is not null)
        {
            await Context.CloseAsync();
        }

        _playwright?.Dispose();
        await Host.DisposeAsync();
        try
        {
            Directory.Delete(_userDataDir, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still hold a lock file for a moment; the temp folder is cleaned later.
        }
    }

    [GeneratedRegex(@"^http://[a-z0-9.-]+\.test(:\d+)?(/|$)")]
    private static partial Regex TestSite();
}
