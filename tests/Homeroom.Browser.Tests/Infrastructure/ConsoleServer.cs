using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Infrastructure;

/// <summary>
/// A console test class's own server (SQLite, detailed console errors) and Chromium, for tests that must not
/// share the console district (whose tests count its devices and records).
/// </summary>
public sealed class ConsoleServer : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public HomeroomHost Host { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Errors each page's browser console printed, to assert there were none.</summary>
    public Dictionary<IPage, List<string>> ConsoleErrors { get; } = [];

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "DetailedErrors=true");
        _playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Browsers.LaunchAsync(_playwright);
    }

    /// <summary>A new browser context (its own cookies) signed in through the console's sign-in page.</summary>
    public Task<IPage> SignInAsync(string username, string password) =>
        ConsoleSignIn.SignInAsync(Browser, Host.BaseAddress, ConsoleErrors, username, password);

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
    }
}
