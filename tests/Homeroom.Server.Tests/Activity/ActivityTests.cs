using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Activity;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Activity;

public abstract class ActivityTests(DatabaseProvider provider) : IAsyncLifetime
{
    protected HomeroomHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await HomeroomHost.StartAsync(provider);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private static ActivityFrame Batch(long from, int count, DateTimeOffset at) => new(
        Enumerable.Range(0, count).Select(i => new ActivityEvent(from + i, at.AddSeconds(i), ActivityKinds.WebVisit, $"https://example.org/page/{from + i}", "Example")).ToList());

    private async Task<long> StoredCountAsync(Guid deviceId)
    {
        await using var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.ActivityEvents.LongCountAsync(e => e.DeviceId == deviceId);
    }

    [Fact]
    public async Task Batch_IsStoredThenAcknowledged()
    {
        await using var agent = await Host.ConnectNewAgentAsync();

        await agent.SendAsync(Batch(1, 50, DateTimeOffset.UtcNow));

        (await agent.ExpectAsync<ActivityAckFrame>()).ThroughSeq.ShouldBe(50);
        (await StoredCountAsync(agent.DeviceId)).ShouldBe(50);
    }

    [Fact]
    public async Task ResentBatches_AfterReconnect_AreStoredOnce()
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "ACT-1");
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        (await agent.ExpectWelcomeAsync()).ActivityAckedSeq.ShouldBe(0);
        var now = DateTimeOffset.UtcNow;
        await agent.SendAsync(Batch(1, 20, now));
        await agent.ExpectAsync<ActivityAckFrame>();
        await agent.CloseAsync();
        await agent.DisposeAsync();

        await using var again = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        (await again.ExpectWelcomeAsync()).ActivityAckedSeq.ShouldBe(20);
        // An agent that missed the ack resends overlapping batches.
        await again.SendAsync(Batch(11, 20, now.AddSeconds(10)));
        (await again.ExpectAsync<ActivityAckFrame>()).ThroughSeq.ShouldBe(30);
        await again.SendAsync(Batch(1, 5, now));
        (await again.ExpectAsync<ActivityAckFrame>()).ThroughSeq.ShouldBe(30);

        (await StoredCountAsync(enrolled.DeviceId)).ShouldBe(30);
    }

    [Fact]
    public async Task Retention_DeletesOnlyEventsPastTheLimit()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var now = DateTimeOffset.UtcNow;
        await agent.SendAsync(Batch(1, 10, now.AddDays(-100)));
        await agent.ExpectAsync<ActivityAckFrame>();
        await agent.SendAsync(Batch(11, 10, now.AddDays(-1)));
        await agent.ExpectAsync<ActivityAckFrame>();

        var purged = await Host.GetService<ActivityRetention>().PurgeAsync(CancellationToken.None);

        purged.ShouldBe(10);
        (await StoredCountAsync(agent.DeviceId)).ShouldBe(10);
    }

    [Fact]
    public async Task Retention_CountsFromWhenEventsHappened_WhetherTheyArrivedOnTime_Late_OrDatedAhead()
    {
        var device = (await Host.EnrollAsync(await Host.CreateTokenAsync(), "ACT-RETENTION")).DeviceId;
        var now = Host.Clock.GetUtcNow().UtcDateTime;
        var days = TimeSpan.FromDays(1);
        await using (var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            // Retention is 90 days. Stored directly: what arrives through the gateway is never dated ahead any more.
            (long Seq, DateTime Occurred, DateTime Received)[] events =
            [
                (1, now - 100 * days, now - 100 * days), // on time, past retention
                (2, now - 100 * days, now - TimeSpan.FromHours(1)), // happened past retention, arrived just now
                (3, now - 95 * days, now - 10 * days), // arrived 85 days late
                (4, now - 89 * days, now - 89 * days), // within retention
                (5, now - 89 * days, now - 95 * days), // dated six days after it arrived (stored before the server clamped that)
                (6, now - 90 * days - TimeSpan.FromHours(2), now - 90 * days + TimeSpan.FromHours(2)), // arrived four hours late, on time
            ];
            db.ActivityEvents.AddRange(events.Select(e => new ActivityRecord
            {
                DeviceId = device, Seq = e.Seq, OccurredAt = e.Occurred, ReceivedAt = e.Received, Kind = ActivityKinds.WebVisit, Url = "https://example.org/",
            }));
            await db.SaveChangesAsync();
        }

        async Task<long[]> KeptAsync()
        {
            await using var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return await db.ActivityEvents.Where(e => e.DeviceId == device).OrderBy(e => e.Seq).Select(e => e.Seq).ToArrayAsync();
        }

        (await Host.GetService<ActivityRetention>().PurgeAsync(CancellationToken.None)).ShouldBe(3);
        // The one that arrived on time is deleted once its arrival is past retention too: at most a day after its time.
        (await KeptAsync()).ShouldBe([4, 5, 6]);
        Host.Clock.Advance(TimeSpan.FromHours(3));
        (await Host.GetService<ActivityRetention>().PurgeAsync(CancellationToken.None)).ShouldBe(1);
        (await KeptAsync()).ShouldBe([4, 5]);
    }

    [Fact]
    public async Task EventsDatedAheadOfTheServer_AreDatedWhenTheyArrived_AndRetentionStillReachesThem()
    {
        await using var agent = await Host.ConnectNewAgentAsync();
        var now = DateTimeOffset.UtcNow;
        // A device whose clock runs a year ahead, and one a minute ahead (within the allowed skew).
        await agent.SendAsync(new ActivityFrame([
            new ActivityEvent(1, now.AddDays(365), ActivityKinds.WebVisit, "https://example.org/ahead", "Ahead"),
            new ActivityEvent(2, now.AddMinutes(1), ActivityKinds.WebVisit, "https://example.org/close", "Close"),
        ]));
        await agent.ExpectAsync<ActivityAckFrame>();

        await using var db = await Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var stored = await db.ActivityEvents.Where(e => e.DeviceId == agent.DeviceId).OrderBy(e => e.Seq).ToListAsync();
        stored.Count.ShouldBe(2);
        stored[0].OccurredAt.ShouldBe(stored[0].ReceivedAt, TimeSpan.FromMilliseconds(1));
        stored[0].OccurredAt.ShouldBeLessThan(now.UtcDateTime.AddMinutes(1));
        stored[1].OccurredAt.ShouldBe(now.AddMinutes(1).UtcDateTime, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task Batch_WithNonIncreasingSequence_IsRefusedAndNothingStored()
    {
        await using var agent = await Host.ConnectNewAgentAsync();

        await agent.SendAsync(new ActivityFrame([
            new ActivityEvent(5, DateTimeOffset.UtcNow, ActivityKinds.WebVisit),
            new ActivityEvent(4, DateTimeOffset.UtcNow, ActivityKinds.WebVisit)]));

        (await agent.WaitForCloseAsync()).Code.ShouldBe(AgentCloseCodes.MalformedFrame);
        (await StoredCountAsync(agent.DeviceId)).ShouldBe(0);
        var device = await Host.GetJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}");
        device.GetProperty("id").GetGuid().ShouldBe(agent.DeviceId);
    }
}

public sealed class ActivitySqliteTests() : ActivityTests(DatabaseProvider.Sqlite);

public sealed class ActivityPostgresTests() : ActivityTests(DatabaseProvider.Postgres);
