using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>A district administrator and an empty catalog.</summary>
public sealed class AppCatalogDistrict : BrowserDistrict
{
    protected override async Task SeedAsync() => await AccountAsync("boss", "districtAdmin");
}

/// <summary>The catalog's entry form in Chromium: a Mac package beside the other identities, refused when bad, stored and shown when good.</summary>
public sealed class AppCatalogConsoleTests(AppCatalogDistrict district) : IClassFixture<AppCatalogDistrict>
{
    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task Admin_AddsAnAppWithAMacPackage_BadHashRefused_ThenSavedAndShown()
    {
        var admin = await district.SignInAsync("boss");
        await admin.GotoAsync("/apps/new");
        await admin.GetByTestId("app-name").FillAsync("Paint");
        await admin.GetByTestId("app-mac-id").FillAsync("org.example.paint.pkg");
        await admin.GetByTestId("app-mac-url").FillAsync("https://apps.example.org/paint.pkg");
        await admin.GetByTestId("app-mac-sha256").FillAsync("not a hash");
        await admin.GetByTestId("app-mac-path").FillAsync("/Applications/Paint.app");
        await admin.GetByTestId("app-mac-bundle").FillAsync("org.example.Paint");
        await admin.GetByTestId("app-save").ClickAsync();

        await Expect(admin.GetByTestId("app-error")).ToContainTextAsync("macPackage.sha256", new() { Timeout = 15_000 });
        (await district.Host.GetJsonAsync<JsonElement>("/api/apps")).GetArrayLength().ShouldBe(0);

        var sha = new string('c', 64);
        await admin.GetByTestId("app-mac-sha256").FillAsync(sha);
        await admin.GetByTestId("app-save").ClickAsync();

        await Expect(admin.GetByTestId("app-mac-package")).ToHaveTextAsync(
            $"org.example.paint.pkg from https://apps.example.org/paint.pkg, SHA-256 {sha}; installs /Applications/Paint.app (org.example.Paint)", new() { Timeout = 15_000 });
        var stored = (await district.Host.GetJsonAsync<JsonElement>("/api/apps"))[0].GetProperty("macPackage");
        stored.GetProperty("packageId").GetString().ShouldBe("org.example.paint.pkg");
        stored.GetProperty("sha256").GetString().ShouldBe(sha);
        (await Axe.SeriousViolationsAsync(admin)).ShouldBeEmpty();
        await Browsers.ScreenshotAsync(admin, "app-mac-package");
    }
}
