using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Activity;

/// <summary>
/// web.usage and app.inventory events from a real agent connection: stored as raw events, the newest
/// app.inventory snapshot kept as the device's Chrome app list beside (never instead of) the
/// operating system's list, within the activity budget; bad usage events close the connection.
/// </summary>
public abstract class UsageEventsTests(DatabaseProvider provider)
{
    private static readonly DateTimeOffset At = DateTimeOffset.UtcNow.AddMinutes(-30);

    private static ActivityEvent Usage(long seq, string url, int seconds, bool focused = true) =>
        new(seq, At.AddSeconds(seq), ActivityKinds.WebUsage, url, DurationSeconds: seconds, Detail: focused ? ActivityKinds.WebUsageFocused : ActivityKinds.WebUsageUnfocused);

    private static List<ActivityEvent> Snapshot(long fromSeq, DateTimeOffset takenAt, params (string Id, string Name, string Detail)[] items) =>
        items.Select((x, i) => new ActivityEvent(fromSeq + i, takenAt, ActivityKinds.AppInventory, Title: x.Name, AppId: x.Id, Detail: x.Detail)).ToList();

    private static async Task<T> DbAsync<T>(HomeroomHost host, Func<HomeroomDbContext, Task<T>> query)
    {
        await using var db = await host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await query(db);
    }

    private static Task<List<DeviceApp>> AppsAsync(HomeroomHost host, Guid deviceId) =>
        DbAsync(host, db => db.DeviceApps.AsNoTracking().Where(a => a.DeviceId == deviceId).OrderBy(a => a.Source).ThenBy(a => a.AppId).ToListAsync());

    private static async Task<List<string>> ChromeAppsAsync(HomeroomHost host, Guid deviceId) =>
        (await AppsAsync(host, deviceId)).Where(a => a.Source == DeviceAppSources.Chrome).Select(a => $"{a.AppId}={a.Name}/{a.Version}").ToList();

    [Fact]
    public async Task UsageAndSnapshots_AreStored_AndTheNewestSnapshotReplacesOnlyTheChromeList()
    {
        await using var host = await HomeroomHost.StartAsync(provider);
        await using var agent = await host.ConnectNewAgentAsync();
        // The operating system's list (an agent's inventory frame) is another source.
        await agent.SendAsync(new InventoryFrame("Windows", "11", null, null, null, null, [new InstalledApp("Microsoft.Teams", "Teams", "24.1")]));
        await Poll.UntilAsync(async () => (await AppsAsync(host, agent.DeviceId)).Count == 1);

        var first = At.AddMinutes(1);
        await agent.SendAsync(new ActivityFrame([
            Usage(1, "https://www.khanacademy.org/", 300),
            Usage(2, "https://docs.google.com/", 42, focused: false),
            .. Snapshot(3, first, ("aaaa", "Kami", "3.1.0 enabled"), ("bbbb", "Read&Write", "2.0 disabled"), ("cccc", "Homeroom", "1.0.0 enabled")),
        ]));
        (await agent.ExpectAsync<ActivityAckFrame>()).ShouldBe(new ActivityAckFrame(5));
        await Poll.UntilAsync(async () => (await ChromeAppsAsync(host, agent.DeviceId)).Count == 3);

        // A newer snapshot: Read&Write removed, Kami updated, a new extension; it spans two frames.
        var second = At.AddMinutes(20);
        await agent.SendAsync(new ActivityFrame(Snapshot(6, second, ("aaaa", "Kami", "3.2.0 enabled"), ("dddd", "Screencastify", "4.0 enabled"))));
        await agent.ExpectAsync<ActivityAckFrame>();
        await agent.SendAsync(new ActivityFrame(Snapshot(8, second, ("cccc", "Homeroom", "1.0.0 enabled"))));
        await agent.ExpectAsync<ActivityAckFrame>();
        await Poll.UntilAsync(async () => !(await ChromeAppsAsync(host, agent.DeviceId)).Contains("bbbb=Read&Write/2.0 disabled")
            && (await ChromeAppsAsync(host, agent.DeviceId)).Count == 3);

        // An older snapshot arriving late (queued while offline) changes nothing.
        await agent.SendAsync(new ActivityFrame(Snapshot(9, At.AddMinutes(5), ("eeee", "Old", "0.1 enabled"))));
        (await agent.ExpectAsync<ActivityAckFrame>()).ThroughSeq.ShouldBe(9);
        // Written after the stale one (one writer, in order): once this is in, the stale one was handled.
        await agent.SendAsync(new ActivityFrame(Snapshot(10, second, ("ffff", "Marker", "1 enabled"))));
        await agent.ExpectAsync<ActivityAckFrame>();
        await Poll.UntilAsync(async () => (await ChromeAppsAsync(host, agent.DeviceId)).Count == 4);

        (await ChromeAppsAsync(host, agent.DeviceId)).ShouldBe(["aaaa=Kami/3.2.0 enabled", "cccc=Homeroom/1.0.0 enabled", "dddd=Screencastify/4.0 enabled", "ffff=Marker/1 enabled"]);
        var os = (await AppsAsync(host, agent.DeviceId)).Where(a => a.Source == DeviceAppSources.Device).ShouldHaveSingleItem();
        os.AppId.ShouldBe("Microsoft.Teams");

        // The operating system's next list leaves the Chrome list alone.
        await agent.SendAsync(new InventoryFrame(null, null, null, null, null, null, [new InstalledApp("Microsoft.Office", "Office", "16")]));
        await Poll.UntilAsync(async () => (await AppsAsync(host, agent.DeviceId)).Any(a => a.AppId == "Microsoft.Office"));
        (await ChromeAppsAsync(host, agent.DeviceId)).Count.ShouldBe(4);
        (await AppsAsync(host, agent.DeviceId)).ShouldNotContain(a => a.AppId == "Microsoft.Teams");

        var usage = await DbAsync(host, db => db.ActivityEvents.AsNoTracking().Where(e => e.DeviceId == agent.DeviceId && e.Kind == ActivityKinds.WebUsage).OrderBy(e => e.Seq).ToListAsync());
        usage.Select(e => (e.Url, e.DurationSeconds, e.Detail)).ShouldBe([("https://www.khanacademy.org/", 300, "focused"), ("https://docs.google.com/", 42, "unfocused")]);
        (await DbAsync(host, db => db.ActivityEvents.CountAsync(e => e.DeviceId == agent.DeviceId && e.Kind == ActivityKinds.AppInventory))).ShouldBe(8);
    }

    [Theory]
    [InlineData("https://www.google.com/search?q=private", 60)]
    [InlineData("https://www.khanacademy.org/", 7_200)]
    public async Task WebUsage_WithAPathOrAnAbsurdDuration_ClosesTheConnectionAndStoresNothing(string url, int seconds)
    {
        await using var host = await HomeroomHost.StartAsync(provider);
        await using var agent = await host.ConnectNewAgentAsync();

        await agent.SendAsync(new ActivityFrame([new ActivityEvent(1, At, ActivityKinds.WebVisit, "https://example.org/", DurationSeconds: 5), Usage(2, url, seconds)]));

        var (code, reason) = await agent.WaitForCloseAsync();
        code.ShouldBe(AgentCloseCodes.MalformedFrame);
        reason.ShouldStartWith("web.usage");
        (await DbAsync(host, db => db.ActivityEvents.CountAsync(e => e.DeviceId == agent.DeviceId))).ShouldBe(0);
    }

    [Fact]
    public async Task Snapshot_OverTheActivityBudget_KeepsOnlyTheEventsWithinIt()
    {
        await using var host = await HomeroomHost.StartAsync(provider, "Homeroom:Activity:EventBurst=3", "Homeroom:Activity:EventsPerMinute=1");
        await using var agent = await host.ConnectNewAgentAsync();

        await agent.SendAsync(new ActivityFrame(Snapshot(1, At, ("a1", "A", "1 enabled"), ("a2", "B", "1 enabled"), ("a3", "C", "1 enabled"), ("a4", "D", "1 enabled"), ("a5", "E", "1 enabled"))));

        (await agent.ExpectAsync<ActivityAckFrame>()).ShouldBe(new ActivityAckFrame(5, 2));
        await Poll.UntilAsync(async () => (await ChromeAppsAsync(host, agent.DeviceId)).Count == 3);
        (await ChromeAppsAsync(host, agent.DeviceId)).ShouldBe(["a1=A/1 enabled", "a2=B/1 enabled", "a3=C/1 enabled"]);
        (await DbAsync(host, db => db.ActivityEvents.CountAsync(e => e.DeviceId == agent.DeviceId))).ShouldBe(3);
    }
}

public sealed class UsageEventsSqliteTests() : UsageEventsTests(DatabaseProvider.Sqlite);

public sealed class UsageEventsPostgresTests() : UsageEventsTests(DatabaseProvider.Postgres);
