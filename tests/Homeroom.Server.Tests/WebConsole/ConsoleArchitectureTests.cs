namespace Homeroom.Server.Tests.WebConsole;

/// <summary>Console pages reach data only through the use cases the API calls, so they see exactly what the caller's scope allows.</summary>
public sealed class ConsoleArchitectureTests
{
    [Fact]
    public async Task ConsolePages_CallUseCases_NeverTheDatabaseOrEndpointClasses()
    {
        var console = Path.Combine(Homeroom.Rules.Tests.SharedData.RepositoryRoot(), "src", "Homeroom.Server", "WebConsole");
        var pages = Directory.EnumerateFiles(console, "*.razor", SearchOption.AllDirectories).ToList();
        pages.Count.ShouldBeGreaterThan(5);
        foreach (var page in pages)
        {
            var text = await File.ReadAllTextAsync(page);
            text.ShouldNotContain("HomeroomDbContext", customMessage: page);
            text.ShouldNotContain("IDbContextFactory", customMessage: page);
            System.Text.RegularExpressions.Regex.IsMatch(text, @"Endpoints\.\w+Async\(").ShouldBeFalse(page);
        }
    }
}
