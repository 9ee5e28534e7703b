using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Server.Data;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests;

public sealed class SmokeTests
{
    [Fact]
    public async Task Chromium_loads_a_page_from_a_real_server()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Browsers.LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var response = await page.GotoAsync(new Uri(host.BaseAddress, "/healthz").AbsoluteUri);
        response!.Status.ShouldBe(200);
        var script = await page.GotoAsync(new Uri(host.BaseAddress, "/_framework/blazor.web.js").AbsoluteUri);
        script!.Status.ShouldBe(200);
        var home = await page.GotoAsync(host.BaseAddress.AbsoluteUri);
        page.Url.ShouldContain("/login");
    }
}
