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
        // Wait for the address to change, not for the next page's load event: a signed-in page may move on
        // at once (a teacher's overview goes to the classroom), and Playwright's wait for "load" after such
        // an early in-page navigation has hung although the page was there. Generous: the machines these
        // run on are shared, and a sign-in under load can take long.
        try
        {
            await page.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal), new() { Timeout = 60_000, WaitUntil = WaitUntilState.Commit });
        }
        catch (TimeoutException timeout)
        {
            var shown = await page.Locator("body").InnerTextAsync();
            throw new TimeoutException($"{username} was still on {page.Url} after a minute; the page said: {shown}", timeout);
        }

        // Signed in once the console's live connection shows the signed-in staff member's navigation.
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.List).WaitForAsync(new() { Timeout = 60_000 });

        return page;
    }
}
