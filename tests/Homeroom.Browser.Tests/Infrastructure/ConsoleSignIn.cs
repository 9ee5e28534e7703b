using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Infrastructure;

/// <summary>Signs a staff member in to the console the way a person does, for every console test fixture.</summary>
public static class ConsoleSignIn
{
    /// <summary>
    /// A new browser context (its own cookies) signed in through the sign-in page. Errors the page
    /// prints to its console are collected in <paramref name="errors"/>, so tests can assert there were none.
    /// </summary>
    public static async Task<IPage> SignInAsync(
        IBrowser browser, Uri baseAddress, Dictionary<IPage, List<string>> errors, string username, string password, int width = 1280, int height = 800)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseAddress.AbsoluteUri, ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        var printed = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                printed.Add(message.Text);
            }
        };
        page.PageError += (_, error) => printed.Add(error);
        errors[page] = printed;
        await page.GotoAsync("/login");
        await page.GetByLabel("Username").FillAsync(username);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        // Wait for the address to change by watching it, not with Playwright's WaitForURL: when the address
        // has already changed by the time that is called, it waits for a load state instead, and that wait
        // has hung although the signed-in page was there (a teacher's overview moves on to the classroom at
        // once). Generous: the machines these run on are shared, and a sign-in under load can take long.
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (page.Url.Contains("/login", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                var shown = await page.Locator("body").InnerTextAsync();
                throw new TimeoutException($"{username} was still on {page.Url} after a minute; the page said: {shown}");
            }

            await Task.Delay(100);
        }

        // Signed in once the console's live connection shows the signed-in staff member's navigation.
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.List).WaitForAsync(new() { Timeout = 60_000 });

        return page;
    }
}
