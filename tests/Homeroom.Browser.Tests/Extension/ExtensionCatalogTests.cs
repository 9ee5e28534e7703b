using System.Text.Json;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Browser.Tests.Extension;

/// <summary>
/// The app catalog on a Chromebook, in real Chromium: an extension the district blocks is turned off by
/// Homeroom's extension (chrome.management.setEnabled) once the policy arrives, and turned back on
/// when the block is removed.
/// </summary>
public sealed class ExtensionCatalogTests
{
    [Fact]
    public async Task BlockedExtension_IsTurnedOff_AndBackOnWhenTheBlockIsRemoved()
    {
        // A student's own extension, unpacked beside Homeroom's: Chrome names it after its directory.
        var arcade = Directory.CreateTempSubdirectory("homeroom-arcade-").FullName;
        await File.WriteAllTextAsync(Path.Combine(arcade, "manifest.json"), """{"manifest_version":3,"name":"Arcade","version":"1.0"}""");
        var arcadeId = ExtensionHarness.ExtensionIdOf(arcade);
        Guid assignment = default;
        await using var harness = await ExtensionHarness.StartAsync(async host =>
        {
            var app = await host.PostJsonAsync<JsonElement>("/api/apps", new { name = "Arcade", category = "games", chromeExtensionId = arcadeId });
            assignment = (await host.PostJsonAsync<JsonElement>($"/api/apps/{app.GetProperty("id").GetGuid()}/assignments", new { intent = "blocked", level = "district" }))
                .GetProperty("id").GetGuid();
        }, [arcade]);

        await harness.UntilPolicyAppliedAsync();
        await Poll.UntilAsync(async () => await EnabledAsync(harness, arcadeId) == false, ExtensionHarness.Timeout);
        (await harness.StorageAsync("catalogTurnedOff")).EnumerateArray().Select(e => e.GetString()).ShouldBe([arcadeId]);
        (await EnabledAsync(harness, harness.ExtensionId)).ShouldBe(true, "Homeroom's extension never turns itself off");

        using var removed = await harness.Host.Client.DeleteAsync(new Uri($"/api/app-assignments/{assignment}", UriKind.Relative));
        removed.EnsureSuccessStatusCode();

        await Poll.UntilAsync(async () => await EnabledAsync(harness, arcadeId) == true, ExtensionHarness.Timeout);
    }

    private static async Task<bool?> EnabledAsync(ExtensionHarness harness, string id)
    {
        var page = await harness.ControlPageAsync();
        var json = await page.EvaluateAsync<string>("id => chrome.management.get(id).then(i => JSON.stringify(i.enabled), () => 'null')", id);
        return JsonSerializer.Deserialize<bool?>(json);
    }
}
