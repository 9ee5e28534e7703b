using Homeroom.Contracts.Agents;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Activity;

/// <summary>Each device stores at most its activity budget; beyond it events are acknowledged, counted and dropped.</summary>
public sealed class ActivityBudgetTests
{
    private static ActivityFrame Batch(long from, int count) => new(
        Enumerable.Range(0, count).Select(i => new ActivityEvent(from + i, DateTimeOffset.UtcNow, ActivityKinds.WebBlocked, $"https://poki.test/{from + i}")).ToList());

    private static async Task<long> StoredCountAsync(HomeroomHost host, Guid deviceId)
    {
        await using var db = await host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.ActivityEvents.LongCountAsync(e => e.DeviceId == deviceId);
    }

    [Fact]
    public async Task Flood_BeyondTheBurst_IsAcknowledgedAndDroppedWithoutRows_AndReconnectingDoesNotRefill()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite,
            "Homeroom:Activity:EventBurst=50", "Homeroom:Activity:EventsPerMinute=1", "Homeroom:Activity:EventsPerDay=100000");
        var enrolled = await host.EnrollAsync(await host.CreateTokenAsync(), "FLOOD-1");
        var agent = await TestAgent.ConnectAsync(host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();

        await agent.SendAsync(Batch(1, 40));
        var first = await agent.ExpectAsync<ActivityAckFrame>();
        await agent.SendAsync(Batch(41, 60));
        var second = await agent.ExpectAsync<ActivityAckFrame>();

        first.ShouldBe(new ActivityAckFrame(40));
        second.ShouldBe(new ActivityAckFrame(100, 50));
        (await StoredCountAsync(host, enrolled.DeviceId)).ShouldBe(50);

        agent.Abort();
        await agent.DisposeAsync();
        await using var again = await TestAgent.ConnectAsync(host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        (await again.ExpectWelcomeAsync()).ActivityAckedSeq.ShouldBe(50);
        await again.SendAsync(Batch(101, 500));

        (await again.ExpectAsync<ActivityAckFrame>()).ShouldBe(new ActivityAckFrame(600, 500));
        (await StoredCountAsync(host, enrolled.DeviceId)).ShouldBe(50);
        host.GetService<ActivityBudget>().DroppedCount.ShouldBe(550);
        again.State.ShouldBe(System.Net.WebSockets.WebSocketState.Open);
    }

    [Fact]
    public async Task Flood_BeyondTheDailyCeiling_IsDropped()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite,
            "Homeroom:Activity:EventBurst=10000", "Homeroom:Activity:EventsPerMinute=10000", "Homeroom:Activity:EventsPerDay=30");
        await using var agent = await host.ConnectNewAgentAsync();

        await agent.SendAsync(Batch(1, 50));

        (await agent.ExpectAsync<ActivityAckFrame>()).ShouldBe(new ActivityAckFrame(50, 20));
        (await StoredCountAsync(host, agent.DeviceId)).ShouldBe(30);
    }

    [Fact]
    public async Task OfflineBacklog_OfAWellBehavedAgent_IsStoredWhole()
    {
        await using var host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite);
        await using var agent = await host.ConnectNewAgentAsync();

        // The extension and the simulator keep up to 5,000 events while offline and send them in frames of 500.
        for (var from = 1; from <= 5_000; from += 500)
        {
            await agent.SendAsync(Batch(from, 500));
        }

        ActivityAckFrame ack;
        do
        {
            ack = await agent.ExpectAsync<ActivityAckFrame>();
            ack.Dropped.ShouldBeNull();
        }
        while (ack.ThroughSeq < 5_000);

        (await StoredCountAsync(host, agent.DeviceId)).ShouldBe(5_000);
    }
}
