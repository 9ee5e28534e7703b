using System.Globalization;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Policies;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// Policies on two nodes of one PostgreSQL database: a version stored by one node reaches a device connected to the
/// other (a backplane notice, or the backplane's sweep when no notice came), and the passes a clock starts run on one node.
/// </summary>
public sealed class PolicyAcrossNodesTests
{
    // Connects, takes the policy the device is given at connect and reports it applied, as agents do.
    private static async Task<TestAgent> ConnectAsync(HomeroomHost node, EnrollResponse device)
    {
        var agent = await TestAgent.ConnectAsync(node.AgentUri, device.DeviceId, device.Credential);
        await agent.ExpectWelcomeAsync();
        await AppliedAsync(agent, await agent.ExpectAsync<PolicyFrame>());
        return agent;
    }

    private static Task AppliedAsync(TestAgent agent, PolicyFrame frame) => agent.SendAsync(new PolicyStatusFrame(frame.Version, true, null));

    // The next policy frame of at least this version (a repeat of an older one, harmless to an agent, is skipped).
    private static async Task<PolicyFrame> PolicyAsync(TestAgent agent, long atLeast, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var left = until - DateTime.UtcNow;
            var frame = await agent.ExpectAsync<PolicyFrame>(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            if (frame.Version >= atLeast)
            {
                return frame;
            }
        }
    }

    private static async Task<Guid> ProfileAsync(HomeroomHost node, string name, object settings) =>
        (await node.PostJsonAsync<JsonElement>("/api/profiles", new { name, settings })).GetProperty("id").GetGuid();

    private static async Task AssignAsync(HomeroomHost node, Guid profileId, object? condition = null) =>
        await node.PostJsonAsync<JsonElement>("/api/assignments", new { profileId, level = "district", condition });

    private static async Task<long> StoredVersionAsync(HomeroomHost node, Guid deviceId)
    {
        await using var db = await node.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.DevicePolicies.Where(p => p.DeviceId == deviceId).Select(p => p.Version).SingleAsync();
    }

    [Fact]
    public async Task ProfileAssignedThroughNodeA_ReachesTheDeviceOnNodeB_AtOnce()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, "Homeroom:Backplane:SweepInterval=00:00:00");
        await using var b = await HomeroomHost.StartNodeAsync(a, "Homeroom:Backplane:SweepInterval=00:00:00");
        await Listening.WaitAsync(a, b);
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "POLICY-B-1");
        await using var agent = await ConnectAsync(b, device);
        var before = await StoredVersionAsync(a, device.DeviceId);

        await AssignAsync(a, await ProfileAsync(a, "No camera", new { restrictions = new { camera = false } }));

        // Node A stored the new version; node B holds the connection and sends it (no sweep in this test).
        var frame = await PolicyAsync(agent, before + 1, TimeSpan.FromSeconds(5));
        frame.Document.GetProperty("restrictions").GetProperty("camera").GetBoolean().ShouldBeFalse();
        frame.Version.ShouldBe(await StoredVersionAsync(a, device.DeviceId));
    }

    [Fact]
    public async Task VersionStoredButNeverAnnounced_ReachesTheDeviceAtTheNextSweep()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, "Homeroom:Backplane:SweepInterval=00:00:02");
        await using var b = await HomeroomHost.StartNodeAsync(a, "Homeroom:Backplane:SweepInterval=00:00:02");
        await Listening.WaitAsync(a, b);
        var device = await a.EnrollAsync(await a.CreateTokenAsync(), "POLICY-B-2");
        await using var agent = await ConnectAsync(b, device);
        var applied = await StoredVersionAsync(a, device.DeviceId);
        await Poll.UntilAsync(async () =>
        {
            await using var db = await a.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return await db.DevicePolicies.AnyAsync(p => p.DeviceId == device.DeviceId && p.ReportedVersion == applied);
        });

        // As a node killed between storing a version and announcing it leaves it: stored (some seconds ago), never sent.
        await using (var db = await a.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var storedAt = a.Clock.GetUtcNow().UtcDateTime.AddMinutes(-1);
            await db.DevicePolicies.Where(p => p.DeviceId == device.DeviceId)
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.Version, p => p.Version + 1).SetProperty(p => p.ComputedAt, storedAt));
        }

        var frame = await PolicyAsync(agent, applied + 1, TimeSpan.FromSeconds(15));
        frame.Version.ShouldBe(applied + 1);
        await AppliedAsync(agent, frame);
        await Poll.UntilAsync(async () =>
        {
            await using var db = await a.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
            return await db.DevicePolicies.AnyAsync(p => p.DeviceId == device.DeviceId && p.ReportedVersion == applied + 1);
        });

        // Reported: the sweeps after this send nothing more.
        (await agent.NothingOfTypeAsync<PolicyFrame>(TimeSpan.FromSeconds(5))).ShouldBeTrue();
    }

    [Fact]
    public async Task ScheduleBoundary_OneNodeRunsThePass_AndDevicesOnBothNodesSwitch()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, "Homeroom:Backplane:SweepInterval=00:00:00");
        await using var b = await HomeroomHost.StartNodeAsync(a, "Homeroom:Backplane:SweepInterval=00:00:00");
        await Listening.WaitAsync(a, b);
        var onA = await a.EnrollAsync(await a.CreateTokenAsync(), "POLICY-A-3");
        var onB = await a.EnrollAsync(await a.CreateTokenAsync(), "POLICY-B-3");
        await using var agentA = await ConnectAsync(a, onA);
        await using var agentB = await ConnectAsync(b, onB);

        // Both nodes' clocks 15 s before a minute boundary; a window that starts on it locks every device.
        var now = a.Clock.GetUtcNow();
        var boundary = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(2);
        a.Clock.Advance(boundary - now - TimeSpan.FromSeconds(15));
        b.Clock.Advance(boundary - now - TimeSpan.FromSeconds(15));
        var day = boundary.DayOfWeek.ToString().ToLowerInvariant();
        var curfew = await ProfileAsync(a, "Curfew", new { device = new { locked = true } });
        var window = new { schedule = new[] { new { days = new[] { day }, start = boundary.ToString("HH:mm", CultureInfo.InvariantCulture), end = boundary.AddMinutes(30).ToString("HH:mm", CultureInfo.InvariantCulture) } } };
        var versionA = await StoredVersionAsync(a, onA.DeviceId);
        var versionB = await StoredVersionAsync(a, onB.DeviceId);
        await AssignAsync(a, curfew, window);
        await Task.Delay(TimeSpan.FromSeconds(2)); // the change's own pass (on node A) is over

        var fullPasses = new int[2];
        void CountOn(HomeroomHost node, int index) => node.GetService<PolicyDistributor>().PassCompleted += pass =>
        {
            if (pass.Full)
            {
                Interlocked.Increment(ref fullPasses[index]);
            }
        };
        CountOn(a, 0);
        CountOn(b, 1);

        var lockedA = await PolicyAsync(agentA, versionA + 1, TimeSpan.FromSeconds(40));
        var lockedB = await PolicyAsync(agentB, versionB + 1, TimeSpan.FromSeconds(40));

        a.Clock.GetUtcNow().ShouldBeGreaterThanOrEqualTo(boundary);
        lockedA.Document.GetProperty("device").GetProperty("locked").GetBoolean().ShouldBeTrue();
        lockedB.Document.GetProperty("device").GetProperty("locked").GetBoolean().ShouldBeTrue();
        // Exactly one node resolved the fleet at the boundary (node A, which took the change and so knew the boundary,
        // whichever node holds the sweep's lease); the other only sent its own device the version A stored.
        fullPasses.Sum().ShouldBe(1, $"full passes: node A {fullPasses[0]}, node B {fullPasses[1]}");
        await using var db = await a.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        fullPasses[0].ShouldBe(1);
        (await db.Database.SqlQuery<string>($"SELECT holder AS \"Value\" FROM job_leases WHERE name = {PolicyDistributor.BoundaryJob}").ToListAsync()).Count.ShouldBe(1);
    }
}
