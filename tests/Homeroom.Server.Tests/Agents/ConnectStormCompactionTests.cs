using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;

namespace Homeroom.Server.Tests.Agents;

/// <summary>
/// The collection after a connect storm (<see cref="ConnectStormCompaction"/>) on a real server with agents over real
/// WebSockets: it runs once enough agents connected and the connecting stopped, not while they still connect, not again
/// without new connections, and not twice within its least interval.
/// </summary>
public sealed class ConnectStormCompactionTests : IAsyncLifetime
{
    private HomeroomHost Host { get; set; } = null!;

    private ConnectStormCompaction Compaction => Host.GetService<ConnectStormCompaction>();

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite,
        "Homeroom:Agents:CompactAfterConnects=3",
        "Homeroom:Agents:CompactWhenFewerConnects=1",
        "Homeroom:Agents:CompactAtMostEverySeconds=60",
        "Homeroom:Agents:CompactCheckSeconds=3600", // the test runs each check itself
        $"Homeroom:Metrics:ScrapeToken={ScrapeToken}");

    private const string ScrapeToken = "storm-compaction-scrape-token-0123456789";

    public async Task DisposeAsync() => await Host.DisposeAsync();

    [Fact]
    public async Task AfterEnoughAgentsConnected_AndTheConnectingStopped_CollectsOnce()
    {
        await using (var first = await ConnectAsync(2))
        {
            Compaction.Check().ShouldBeFalse(); // two connected: fewer than three
            Compaction.Check().ShouldBeFalse();
        }

        await using var agents = await ConnectAsync(1);
        Compaction.Check().ShouldBeFalse(); // three now, but one connected since the last check: still connecting
        var fullCollections = GC.CollectionCount(GC.MaxGeneration);
        Compaction.Check().ShouldBeTrue();
        Compaction.Compactions.ShouldBe(1);
        GC.CollectionCount(GC.MaxGeneration).ShouldBeGreaterThan(fullCollections);
        Compaction.Check().ShouldBeFalse(); // nobody connected since

        await using var more = await ConnectAsync(3);
        Compaction.Check().ShouldBeFalse();
        Compaction.Check().ShouldBeFalse(); // a storm again, but within a minute of the last collection
        Host.Clock.Advance(TimeSpan.FromSeconds(61));
        Compaction.Check().ShouldBeTrue();
        Compaction.Compactions.ShouldBe(2);

        // Operators see it in the metrics.
        using var scraper = new HttpClient { BaseAddress = Host.BaseAddress };
        scraper.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ScrapeToken);
        await Poll.UntilAsync(async () => (await scraper.GetStringAsync(new Uri("/metrics", UriKind.Relative))).Split('\n')
            .Any(line => line.StartsWith("homeroom_gc_compactions_total{", StringComparison.Ordinal) && line.Contains("trigger=\"connect_storm\"", StringComparison.Ordinal) && line.EndsWith(" 2", StringComparison.Ordinal)));
    }

    private async Task<Agents> ConnectAsync(int count)
    {
        var agents = new Agents();
        for (var i = 0; i < count; i++)
        {
            var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "STORM-" + Guid.NewGuid().ToString("N")[..10], DevicePlatform.ChromeOS);
            var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
            agents.Add(agent);
            await agent.ExpectWelcomeAsync();
        }

        return agents;
    }

    private sealed class Agents : List<TestAgent>, IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var agent in this)
            {
                await agent.DisposeAsync();
            }
        }
    }
}
