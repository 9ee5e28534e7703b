using Homeroom.Server;
using Homeroom.Server.Data;
using Homeroom.Server.Insights;

if (args is ["rebuild-rollups", .. var rest])
{
    // Migrates like a start, rebuilds, and exits without listening (see docs/operations.md).
    await using var host = await HomeroomApp.CreateAsync(rest);
    var folded = await host.Services.GetRequiredService<InsightsRebuild>().RunAsync(CancellationToken.None);
    Console.WriteLine($"Rebuilt insight rollups from {folded} raw events.");
    return;
}

if (args is ["cluster-key", var step, .. var options])
{
    // Rotates a PostgreSQL cluster's key in three steps, every node serving throughout (see docs/operations.md).
    await using var host = await HomeroomApp.CreateAsync(options);
    var rotation = host.Services.GetRequiredService<ClusterKeyRotation>();
    try
    {
        Console.WriteLine(step switch
        {
            "new" => rotation.CreateNext(),
            "rotate" => $"Re-sealed the cluster's check value and {await rotation.RotateAsync()} data-protection key(s) with the next key. " +
                "Every node now seals with it; run `cluster-key adopt` on every node.",
            "adopt" => await rotation.AdoptAsync(),
            _ => throw new InvalidOperationException($"Unknown step '{step}': cluster-key new, then rotate (once), then adopt (on every node)."),
        });
    }
    catch (InvalidOperationException e)
    {
        await Console.Error.WriteLineAsync(e.Message);
        Environment.ExitCode = 1;
    }

    return;
}

var app = await HomeroomApp.CreateAsync(args);
await app.RunAsync();
