using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Infrastructure;

/// <summary>axe-core (installed by the test project's build, npm ci) run on a page: its serious and critical violations.</summary>
public static class Axe
{
    public static readonly string Script = Path.Combine(Browsers.RepositoryRoot(), "tests", "Homeroom.Browser.Tests", "node_modules", "axe-core", "axe.min.js");

    private static readonly Lazy<string> Source = new(() => File.ReadAllText(Script));

    /// <summary>Each serious or critical violation on the page as one line: impact, rule, help and up to three elements.</summary>
    public static async Task<string[]> SeriousViolationsAsync(IPage page)
    {
        // Evaluated through the browser's debugging channel, not added as a <script> element: the console's content security
        // policy refuses inline scripts, and a test must not loosen it.
        await page.EvaluateAsync(Source.Value + "\n;true");
        return await page.EvaluateAsync<string[]>(
            """
            async () => {
              const result = await axe.run(document, { resultTypes: ['violations'] });
              return result.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
            }
            """);
    }
}
