using Homeroom.Server;
using Homeroom.Server.Insights;

if (args is ["rebuild-rollups", .. var rest])
{
    // Migrates like a start, rebuilds, and exits without listening (see docs/operations.md).
    await using var host = await HomeroomApp.CreateAsync(rest);
    var folded = await host.Services.GetRequiredService<InsightsRebuild>().RunAsync(CancellationToken.None);
    Console.WriteLine($"Rebuilt insight rollups from {folded} raw events.");
    return;
}

var app = await HomeroomApp.CreateAsync(args);
await app.RunAsync();
