using System.Net;
using System.Text.Json;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Locations;
using Homeroom.Server.Notifications;
using Homeroom.Server.Tests.Infrastructure;
using Npgsql;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// Staff notifications across two server nodes on one PostgreSQL database: what one node raises, updates or resolves shows
/// on the other node's open console pages, to the staff each is for there, once; a row that is not Homeroom's is ignored.
/// </summary>
public sealed class ClusterNotificationsTests
{
    private static readonly TimeSpan Arrival = TimeSpan.FromSeconds(10);

    private static async Task<(HomeroomHost A, HomeroomHost B)> StartTwoNodesAsync()
    {
        var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        var b = await HomeroomHost.StartNodeAsync(a);
        await Listening.WaitAsync(a, b);
        return (a, b);
    }

    private static StaffScope Staff(StaffRole role, Guid? school) => new(Guid.NewGuid(), role + "-" + school, "Staff", role, school, null);

    private static async Task<Guid> SchoolAsync(HomeroomHost node, string name) =>
        (await node.PostJsonAsync<JsonElement>("/api/schools", new { name = name + " " + Guid.NewGuid().ToString("N")[..6], timeZone = "UTC" })).GetProperty("id").GetGuid();

    private static async Task<NotificationUpdate> NextAsync(NotificationSubscription subscription) =>
        await subscription.Updates.ReadAsync().AsTask().WaitAsync(Arrival);

    [Fact]
    public async Task AnAlertRaisedOnA_ShowsOnBsPagesForItsStaffOnce_AndAcknowledgingItOnB_ResolvesItOnAsPages()
    {
        var (a, b) = await StartTwoNodesAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        var north = await SchoolAsync(a, "North");
        var south = await SchoolAsync(a, "South");
        var device = (await a.EnrollAsync(await a.CreateTokenAsync(schoolId: north), "SN-" + Guid.NewGuid().ToString("N")[..10])).DeviceId;
        using var northOnA = a.GetService<Notifier>().Subscribe(Staff(StaffRole.SchoolAdmin, north));
        using var northOnB = b.GetService<Notifier>().Subscribe(Staff(StaffRole.SchoolAdmin, north));
        using var districtOnB = b.GetService<Notifier>().Subscribe(Staff(StaffRole.DistrictAdmin, null));
        using var southOnB = b.GetService<Notifier>().Subscribe(Staff(StaffRole.SchoolAdmin, south));
        using var teacherOnB = b.GetService<Notifier>().Subscribe(Staff(StaffRole.Teacher, north));

        // The device leaves its bounds on A (the node its agent would be connected to).
        a.GetService<AlertService>().Report(new BoundsReport(device, true, null, 47.62, -122.3));

        var onA = await NextAsync(northOnA);
        var onB = await NextAsync(northOnB);
        onB.Change.ShouldBe(NotificationChange.Raised);
        onB.Notification.ShouldBe(onA.Notification);
        onB.Notification.Kind.ShouldBe(NotificationKinds.OutOfBounds);
        onB.Notification.DeviceId.ShouldBe(device);
        (await NextAsync(districtOnB)).Notification.SubjectId.ShouldBe(onA.Notification.SubjectId);

        // Acknowledged through B's API: B's pages and, relayed, A's pages drop it.
        using (var ack = await b.PostJsonAsync($"/api/alerts/{onA.Notification.SubjectId}/acknowledge", new { note = "Seen on B" }))
        {
            ack.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await NextAsync(northOnB)).Change.ShouldBe(NotificationChange.Resolved);
        var resolvedOnA = await NextAsync(northOnA);
        resolvedOnA.Change.ShouldBe(NotificationChange.Resolved);
        resolvedOnA.Notification.SubjectId.ShouldBe(onA.Notification.SubjectId);

        // Each page was told each change once (its own node's, not its own node's again through the database), and only
        // the staff the alert is for were told.
        await Poll.UntilAsync(() => Task.FromResult(a.GetService<ClusterNotifications>().Relayed >= 1 && b.GetService<ClusterNotifications>().Relayed >= 1), Arrival);
        await Task.Delay(500);
        northOnA.Updates.TryRead(out _).ShouldBeFalse();
        northOnB.Updates.TryRead(out _).ShouldBeFalse();
        southOnB.Updates.TryRead(out _).ShouldBeFalse("another school's admin is told nothing");
        teacherOnB.Updates.TryRead(out _).ShouldBeFalse("a teacher may not read alerts");
        b.GetService<ClusterNotifications>().Relayed.ShouldBe(1, "B relayed A's raise only");
        a.GetService<ClusterNotifications>().Relayed.ShouldBe(1, "A relayed B's resolution only");
    }

    [Fact]
    public async Task RowsThatAreNotHomeroms_AreIgnored_AndTheNextRealOneStillArrives()
    {
        var (a, b) = await StartTwoNodesAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        using var district = b.GetService<Notifier>().Subscribe(Staff(StaffRole.DistrictAdmin, null));
        var forged = new Notification("outOfBounds", NotificationSeverity.High, Guid.NewGuid(), null, null, "Forged", "x", "//evil.example/", DateTime.UtcNow, Permission.ReadAlerts);
        string[] bodies = ["{not json", ClusterNotifications.Write(new NotificationUpdate(NotificationChange.Raised, forged)), new string('x', ClusterNotifications.MaxBodyLength + 1)];
        var rows = bodies.Select(_ => Guid.CreateVersion7()).ToArray();

        // Anyone who may connect to the database can write rows and notify the channel.
        await using (var rogue = new NpgsqlConnection(a.Database.PostgresConnectionString))
        {
            await rogue.OpenAsync();
            for (var i = 0; i < rows.Length; i++)
            {
                await using var insert = new NpgsqlCommand("INSERT INTO cluster_notifications (id, node, body, created_at) VALUES ($1, 'rogue', $2, now())", rogue);
                insert.Parameters.Add(new NpgsqlParameter { Value = rows[i] });
                insert.Parameters.Add(new NpgsqlParameter { Value = bodies[i] });
                await insert.ExecuteNonQueryAsync();
            }

            await using var notify = new NpgsqlCommand("SELECT pg_notify($1, $2)", rogue);
            notify.Parameters.Add(new NpgsqlParameter { Value = BackplaneMessages.Channel });
            notify.Parameters.Add(new NpgsqlParameter { Value = BackplaneMessages.Notifications("0123456789ab", rows, 7_900).Single() });
            await notify.ExecuteNonQueryAsync();
        }

        var real = new Notification("agentStopped", NotificationSeverity.Warning, Guid.NewGuid(), null, null, "Agent stopped", "On LAB-3", "/alerts/1", DateTime.UtcNow, Permission.ReadAlerts);
        a.GetService<Notifier>().Publish(real);

        var arrived = await NextAsync(district);
        arrived.Notification.SubjectId.ShouldBe(real.SubjectId);
        arrived.Notification.Title.ShouldBe("Agent stopped");
        b.GetService<ClusterNotifications>().Relayed.ShouldBe(1);
    }

    [Theory]
    [InlineData("""{"change":"raised","notification":{"kind":"outOfBounds","severity":"high","subjectId":"0195a3b2-0000-7000-8000-000000000001","title":"t","text":"x","link":"/alerts/1","at":"2026-12-06T10:00:00Z","readPermission":"readAlerts"}}""", true)]
    [InlineData("""{"change":"raised","notification":{"kind":"outOfBounds","severity":"high","subjectId":"0195a3b2-0000-7000-8000-000000000001","title":"t","text":"x","link":"https://evil.example/","at":"2026-12-06T10:00:00Z","readPermission":"readAlerts"}}""", false)]
    [InlineData("""{"change":"raised","notification":{"kind":"outOfBounds","severity":"high","subjectId":"0195a3b2-0000-7000-8000-000000000001","title":"t","text":"x","link":"/alerts/1","at":"2026-12-06T10:00:00Z","readPermission":"everything"}}""", false)]
    [InlineData("""{"change":7,"notification":{"kind":"outOfBounds","severity":"high","subjectId":"0195a3b2-0000-7000-8000-000000000001","title":"t","text":"x","link":"/alerts/1","at":"2026-12-06T10:00:00Z","readPermission":"readAlerts"}}""", false)]
    [InlineData("""{"change":"raised","notification":{"kind":"","severity":"high","subjectId":"0195a3b2-0000-7000-8000-000000000001","title":"t","text":"x","link":"/alerts/1","at":"2026-12-06T10:00:00Z","readPermission":"readAlerts"}}""", false)]
    [InlineData("""{"change":"raised"}""", false)]
    [InlineData("""[]""", false)]
    public void Read_TakesOnlyWhatTheServerWrites(string body, bool taken) =>
        (ClusterNotifications.Read(body) is not null).ShouldBe(taken);
}
