using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.SingleSignOn;

/// <summary>A Homeroom server whose console offers sign-in with a real OpenID provider on loopback, and Chromium.</summary>
public sealed class SingleSignOnServer : IAsyncLifetime
{
    public const string ProviderId = "test";
    public const string ProviderName = "Test Provider";

    private IPlaywright? _playwright;

    public TestOpenIdProvider Provider { get; private set; } = null!;

    public HomeroomHost Host { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Provider = await TestOpenIdProvider.StartAsync();
        const string prefix = "Homeroom:SingleSignOn:Providers:" + ProviderId + ":";
        Host = await HomeroomHost.StartAsync(
            DatabaseProvider.Sqlite,
            "DetailedErrors=true",
            prefix + "DisplayName=" + ProviderName,
            prefix + "Authority=" + Provider.BaseAddress.AbsoluteUri,
            prefix + "ClientId=" + TestOpenIdProvider.ClientId,
            prefix + "ClientSecret=" + TestOpenIdProvider.ClientSecret,
            prefix + "RequireHttpsMetadata=false");
        Provider.RedirectUri = new Uri(Host.BaseAddress, "/signin-oidc/" + ProviderId);
        _playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Browsers.LaunchAsync(_playwright);
    }

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

        if (Provider is not null)
        {
            await Provider.DisposeAsync();
        }
    }
}
