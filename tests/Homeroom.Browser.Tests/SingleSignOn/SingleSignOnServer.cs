using Homeroom.Browser.Tests.Infrastructure;

namespace Homeroom.Browser.Tests.SingleSignOn;

/// <summary>A Homeroom server whose console offers sign-in with a real OpenID provider on loopback, and Chromium.</summary>
public sealed class SingleSignOnServer : BrowserDistrict
{
    public const string ProviderId = "test";
    public const string ProviderName = "Test Provider";
    private const string Prefix = "Homeroom:SingleSignOn:Providers:" + ProviderId + ":";

    public TestOpenIdProvider Provider { get; private set; } = null!;

    protected override string[] Settings =>
    [
        "DetailedErrors=true",
        Prefix + "DisplayName=" + ProviderName,
        Prefix + "Authority=" + Provider.BaseAddress.AbsoluteUri,
        Prefix + "ClientId=" + TestOpenIdProvider.ClientId,
        Prefix + "ClientSecret=" + TestOpenIdProvider.ClientSecret,
        Prefix + "RequireHttpsMetadata=false",
    ];

    protected override async Task BeforeServerAsync() => Provider = Own(await TestOpenIdProvider.StartAsync());

    protected override Task SeedAsync()
    {
        Provider.RedirectUri = new Uri(Host.BaseAddress, "/signin-oidc/" + ProviderId);
        return Task.CompletedTask;
    }
}
