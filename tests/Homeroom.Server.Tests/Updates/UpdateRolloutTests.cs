using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Notifications;
using Homeroom.Server.Updates;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Updates;

/// <summary>
/// OS update rollouts end to end over the API on a real database: the gate promotes a healthy pilot after
/// its soak and pauses with a reason an administrator understands when devices go quiet; pause, resume
/// and stop; a target older than the devices run is refused; school administrators read only the rollouts
/// touching their school; Apple devices get the ring's target by its deadline and ScheduleOSUpdate after it.
/// The job is driven by the test (its own pass runs hourly in real time) with the host's movable clock.
/// </summary>
public abstract class UpdateRolloutTests(DatabaseProvider provider) : IAsyncLifetime
{
    private Guid _north, _south, _pilot, _broad;
    private readonly List<Guid> _pilotDevices = [], _broadDevices = [];

    protected HomeroomHost Host { get; private set; } = null!;

    private RolloutEvaluator Evaluator => Host.GetService<RolloutEvaluator>();

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(provider, "Homeroom:Updates:EvaluationInterval=01:00:00");
        _north = await IdAsync("/api/schools", new { name = "North " + Unique(), timeZone = "America/Chicago" });
        _south = await IdAsync("/api/schools", new { name = "South " + Unique(), timeZone = "UTC" });
        _pilot = await IdAsync("/api/groups", new { name = "Pilot " + Unique(), kind = "custom", schoolId = _north });
        _broad = await IdAsync("/api/groups", new { name = "Broad " + Unique(), kind = "custom", schoolId = _north });
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private static string Unique() => Guid.NewGuid().ToString("N")[..6];

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task EnrollAsync(Guid group, List<Guid> into, int count, DevicePlatform platform, string version)
    {
        var token = await Host.CreateTokenAsync(groupId: group);
        for (var i = 0; i < count; i++)
        {
            into.Add((await Host.EnrollAsync(token, "SN-" + Unique(), platform)).DeviceId);
        }

        await SetAsync(into, version, Now);
    }

    private DateTime Now => Host.Clock.GetUtcNow().UtcDateTime;

    /// <summary>What the devices reported last: their OS version and when they checked in (as inventory and presence write them).</summary>
    private async Task SetAsync(IEnumerable<Guid> devices, string? version, DateTime? seen)
    {
        var ids = devices.ToList();
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        if (version is not null)
        {
            await db.Devices.Where(d => ids.Contains(d.Id)).ExecuteUpdateAsync(d => d.SetProperty(x => x.OsVersion, version));
        }

        await db.Devices.Where(d => ids.Contains(d.Id)).ExecuteUpdateAsync(d => d.SetProperty(x => x.LastSeenAt, seen));
    }

    private static object Rollout(string platform, string target, params object[] rings) => new { name = "Rollout " + Unique(), platform, targetVersion = target, rings };

    private async Task<JsonElement> GetRolloutAsync(Guid id) => await Host.GetJsonAsync<JsonElement>($"/api/updates/rollouts/{id}");

    private static JsonElement Ring(JsonElement rollout, int position) => rollout.GetProperty("rings")[position];

    private async Task<List<string>> AuditActionsAsync(Guid rollout)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var id = rollout.ToString();
        return await db.AuditLog.Where(a => a.TargetId == id).OrderBy(a => a.Id).Select(a => a.Action).ToListAsync();
    }

    [Fact]
    public async Task Gate_PilotOnTargetAndHealthyForTheSoak_PromotesTheNextRing_AndAuditsIt()
    {
        await EnrollAsync(_pilot, _pilotDevices, 10, DevicePlatform.ChromeOS, "120.0.6099.235");
        await EnrollAsync(_broad, _broadDevices, 10, DevicePlatform.ChromeOS, "120.0.6099.235");
        using var created = await Host.PostJsonAsync("/api/updates/rollouts", Rollout("chromeos", "121.0.6167.85",
            new { groupId = _pilot, requiredPercent = 90, soakHours = 48 }, new { groupId = _broad, requiredPercent = 90, soakHours = 48 }));
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var rollout = await created.Content.ReadFromJsonAsync<JsonElement>();
        var id = rollout.GetProperty("id").GetGuid();
        rollout.GetProperty("googleAdminPin").GetString().ShouldBe("121.");
        rollout.GetProperty("delivery").GetString()!.ShouldContain("Google Admin");
        Ring(rollout, 0).GetProperty("phase").GetString().ShouldBe("inProgress");
        Ring(rollout, 1).GetProperty("phase").GetString().ShouldBe("waiting");

        (await Evaluator.EvaluateAllAsync()).ShouldHaveSingleItem().Decision.Outcome.ShouldBe(Rules.Updates.GateOutcome.Wait);
        rollout = await GetRolloutAsync(id);
        rollout.GetProperty("statusText").GetString()!.ShouldContain("0 of 10 Pilot");
        Ring(rollout, 0).GetProperty("devices").GetInt32().ShouldBe(10);

        // Nine of ten update (90 %): the soak starts.
        await SetAsync(_pilotDevices.Take(9), "121.0.6167.85", Now);
        await Evaluator.EvaluateAllAsync();
        rollout = await GetRolloutAsync(id);
        Ring(rollout, 0).GetProperty("phase").GetString().ShouldBe("soaking");
        Ring(rollout, 0).GetProperty("soakMinutesLeft").GetInt32().ShouldBe(48 * 60);

        Host.Clock.Advance(TimeSpan.FromHours(47));
        await SetAsync(_pilotDevices.Concat(_broadDevices), null, Now);
        await Evaluator.EvaluateAllAsync();
        Ring(await GetRolloutAsync(id), 0).GetProperty("phase").GetString().ShouldBe("soaking");

        Host.Clock.Advance(TimeSpan.FromHours(1));
        await SetAsync(_pilotDevices.Concat(_broadDevices), null, Now);
        var promoted = (await Evaluator.EvaluateAllAsync()).ShouldHaveSingleItem();
        promoted.Events.ShouldContain(e => e.Kind == Rules.Updates.RolloutEventKind.Promoted);
        rollout = await GetRolloutAsync(id);
        rollout.GetProperty("state").GetString().ShouldBe("active");
        rollout.GetProperty("currentRing").GetInt32().ShouldBe(1);
        Ring(rollout, 0).GetProperty("phase").GetString().ShouldBe("passed");
        Ring(rollout, 1).GetProperty("phase").GetString().ShouldBe("inProgress");
        (await AuditActionsAsync(id)).ShouldBe(["updates.rollout.create", "updates.rollout.soak", "updates.rollout.promote"]);

        // The device page's ring.
        var rings = await Host.GetJsonAsync<JsonElement>($"/api/updates/devices/{_pilotDevices[0]}");
        rings.GetArrayLength().ShouldBe(1);
        rings[0].GetProperty("atTarget").GetBoolean().ShouldBeTrue();
        rings[0].GetProperty("phase").GetString().ShouldBe("passed");
    }

    [Fact]
    public async Task Gate_PilotDevicesGoQuiet_PausesSayingWhy_ThenResumeAndStop()
    {
        await EnrollAsync(_pilot, _pilotDevices, 10, DevicePlatform.ChromeOS, "121.0.6167.85");
        var id = await IdAsync("/api/updates/rollouts", Rollout("chromeos", "121.0.6167.85", new { groupId = _pilot, requiredPercent = 90, soakHours = 24 }));
        await Evaluator.EvaluateAllAsync();
        Ring(await GetRolloutAsync(id), 0).GetProperty("phase").GetString().ShouldBe("soaking");

        // District staff who read updates have a page open (a school's admin too, who is not told: rollouts are the district's).
        using var district = Host.GetService<Notifier>().Subscribe(new StaffScope(Guid.NewGuid(), "district", "District", StaffRole.DistrictAdmin, null, null));
        using var school = Host.GetService<Notifier>().Subscribe(new StaffScope(Guid.NewGuid(), "school", "School", StaffRole.SchoolAdmin, Guid.NewGuid(), null));

        // Three devices stop checking in; a day later the gate cannot pass.
        var quietSince = Now;
        Host.Clock.Advance(TimeSpan.FromHours(26));
        await SetAsync(_pilotDevices.Skip(3), null, Now);
        await Evaluator.EvaluateAllAsync();
        var rollout = await GetRolloutAsync(id);
        rollout.GetProperty("state").GetString().ShouldBe("paused");
        var reason = rollout.GetProperty("pauseReason").GetString()!;
        reason.ShouldStartWith($"3 of 10 Pilot");
        reason.ShouldContain($"have not reported since {quietSince:dddd d MMMM}");
        reason.ShouldContain("at most 1 device of 10 may fall short");
        (await AuditActionsAsync(id)).ShouldContain("updates.rollout.pause");
        var told = await district.Updates.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout);
        told.Change.ShouldBe(NotificationChange.Raised);
        told.Notification.Kind.ShouldBe(NotificationKinds.RolloutPaused);
        told.Notification.Text.ShouldBe(reason);
        told.Notification.Link.ShouldBe($"/updates?id={id}");
        school.Updates.TryRead(out _).ShouldBeFalse();

        // Paused: nothing promotes or changes.
        (await Evaluator.EvaluateAllAsync()).ShouldBeEmpty();

        using (var again = await Host.Client.PostAsync($"/api/updates/rollouts/{id}/pause", null))
        {
            again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!.ShouldContain("already paused");
        }

        // Resuming accepts the quiet devices: left out, the seven others soak again.
        using (var resumed = await Host.Client.PostAsync($"/api/updates/rollouts/{id}/resume", null))
        {
            resumed.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await district.Updates.ReadAsync().AsTask().WaitAsync(HomeroomHost.Timeout)).Change.ShouldBe(NotificationChange.Resolved);
        var decision = (await Evaluator.EvaluateAllAsync()).ShouldHaveSingleItem().Decision;
        decision.Progress.Excused.ShouldBe(3);
        decision.Outcome.ShouldBe(Rules.Updates.GateOutcome.StartSoak);

        using (var stopped = await Host.Client.PostAsync($"/api/updates/rollouts/{id}/stop", null))
        {
            stopped.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await stopped.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString().ShouldBe("stopped");
        }

        (await Evaluator.EvaluateAllAsync()).ShouldBeEmpty();
        using (var resume = await Host.Client.PostAsync($"/api/updates/rollouts/{id}/resume", null))
        {
            resume.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        }

        (await AuditActionsAsync(id)).ShouldBe(["updates.rollout.create", "updates.rollout.soak", "updates.rollout.pause", "updates.rollout.resume", "updates.rollout.soak", "updates.rollout.stop"]);
    }

    [Fact]
    public async Task Gate_FailedInstalls_CountAsUnhealthy()
    {
        await EnrollAsync(_pilot, _pilotDevices, 4, DevicePlatform.ChromeOS, "121.0.6167.85");
        var id = await IdAsync("/api/updates/rollouts", Rollout("chromeos", "121.0.6167.85", new { groupId = _pilot, requiredPercent = 75, soakHours = 24 }));
        Host.Clock.Advance(TimeSpan.FromMinutes(10));
        await SetAsync(_pilotDevices, null, Now);
        await using (var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var command = new Homeroom.Server.Commands.Command
            {
                Id = Guid.CreateVersion7(), Kind = CommandKinds.UpdateOs, ArgumentsJson = """{"version":"121.0.6167.85"}""", TargetType = "devices",
                IssuedBy = "admin", IssuedAt = Now, ExpiresAt = Now.AddDays(1), TargetCount = 2,
            };
            db.Commands.Add(command);
            await db.SaveChangesAsync(); // The model knows no link between the two: the command is stored first.
            foreach (var device in _pilotDevices.Take(2))
            {
                db.CommandDeliveries.Add(new Homeroom.Server.Commands.CommandDelivery { CommandId = command.Id, DeviceId = device, Status = DeliveryStatus.Failed, UpdatedAt = Now, Error = "not enough space" });
            }

            await db.SaveChangesAsync();
        }

        var decision = (await Evaluator.EvaluateAllAsync()).ShouldHaveSingleItem().Decision;
        decision.Progress.FailedInstall.ShouldBe(2);
        (await GetRolloutAsync(id)).GetProperty("pauseReason").GetString()!.ShouldStartWith("2 failed to install 121.0.6167.85.");
    }

    [Fact]
    public async Task Create_TargetOlderThanDevicesRun_OrBadInput_IsRefusedWithProblemDetails()
    {
        await EnrollAsync(_pilot, _pilotDevices, 3, DevicePlatform.IPadOS, "18.1");
        await SetAsync(_pilotDevices.Take(1), "18.10", Now);
        var deadline = Now.AddDays(7);

        using var older = await Host.PostJsonAsync("/api/updates/rollouts", Rollout("ios", "18.9", new { groupId = _pilot, requiredPercent = 95, soakHours = 48, deadline }));
        older.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await older.Content.ReadFromJsonAsync<JsonElement>();
        problem.GetProperty("errors").GetProperty("rings[0].groupId")[0].GetString()!.ShouldStartWith("1 device of Pilot");
        problem.GetProperty("errors").GetProperty("rings[0].groupId")[0].GetString()!.ShouldContain("already runs 18.10, newer than the target 18.9");

        using var bad = await Host.PostJsonAsync("/api/updates/rollouts", new
        {
            name = "", platform = "android", targetVersion = "18.x", checkInHours = 0,
            rings = new object[] { new { groupId = _pilot, requiredPercent = 0, soakHours = -1 }, new { groupId = _pilot, requiredPercent = 50, soakHours = 1 } },
        });
        bad.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        foreach (var field in new[] { "name", "platform", "targetVersion", "checkInHours", "rings[0].requiredPercent", "rings[0].soakHours", "rings" })
        {
            errors.TryGetProperty(field, out _).ShouldBeTrue(field);
        }

        using var noDeadline = await Host.PostJsonAsync("/api/updates/rollouts", Rollout("ios", "18.10", new { groupId = _pilot, requiredPercent = 95, soakHours = 48 }));
        noDeadline.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await noDeadline.Content.ReadAsStringAsync()).ShouldContain("Apple rings need a deadline");

        using var ok = await Host.PostJsonAsync("/api/updates/rollouts", Rollout("ios", "18.10", new { groupId = _pilot, requiredPercent = 95, soakHours = 48, deadline }));
        ok.StatusCode.ShouldBe(HttpStatusCode.Created);
        using var busy = await Host.PostJsonAsync("/api/updates/rollouts", Rollout("ios", "18.11", new { groupId = _pilot, requiredPercent = 95, soakHours = 48, deadline }));
        busy.StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Read_SchoolAdmins_SeeOnlyRolloutsTouchingTheirSchool_AndChangeNothing()
    {
        await EnrollAsync(_pilot, _pilotDevices, 2, DevicePlatform.ChromeOS, "120.0");
        var id = await IdAsync("/api/updates/rollouts", Rollout("chromeos", "121.0", new { groupId = _pilot, requiredPercent = 95, soakHours = 48 }));
        using var northAdmin = await Host.SignInAsNewAccountAsync("na-" + Unique(), "schoolAdmin", schoolId: _north);
        using var southAdmin = await Host.SignInAsNewAccountAsync("sa-" + Unique(), "schoolAdmin", schoolId: _south);
        using var teacher = await Host.SignInAsNewAccountAsync("te-" + Unique(), "teacher", schoolId: _north);

        (await northAdmin.GetFromJsonAsync<JsonElement>("/api/updates/rollouts")).EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ShouldContain(id);
        (await northAdmin.GetAsync($"/api/updates/rollouts/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await southAdmin.GetFromJsonAsync<JsonElement>("/api/updates/rollouts")).EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ShouldNotContain(id);
        (await southAdmin.GetAsync($"/api/updates/rollouts/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await northAdmin.PostAsync($"/api/updates/rollouts/{id}/stop", null)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await teacher.GetAsync("/api/updates/rollouts")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await GetRolloutAsync(id)).GetProperty("state").GetString().ShouldBe("active");
    }

    [Fact]
    public async Task Apple_RingTargetReachesDevicesByTheDeadline_AndScheduleOSUpdateAfterItOnce()
    {
        await EnrollAsync(_pilot, _pilotDevices, 3, DevicePlatform.IPadOS, "18.1");
        await EnrollAsync(_broad, _broadDevices, 2, DevicePlatform.IPadOS, "18.1");
        await using (var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            foreach (var device in _pilotDevices.Concat(_broadDevices))
            {
                db.AppleDevices.Add(new AppleDevice { DeviceId = device, Udid = "UDID-" + Unique(), IdentityThumbprint = Unique(), Supervised = true, EnrolledAt = Now });
            }

            await db.SaveChangesAsync();
        }

        var deadline = new DateTime(Now.Year + 1, 1, 15, 23, 0, 0, DateTimeKind.Utc);
        var id = await IdAsync("/api/updates/rollouts", Rollout("ios", "18.2",
            new { groupId = _pilot, requiredPercent = 100, soakHours = 48, deadline }, new { groupId = _broad, requiredPercent = 100, soakHours = 48, deadline = deadline.AddDays(14) }));

        await using (var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            // The pilot ring started: its devices are told 18.2 by the deadline in the school's zone (Chicago, UTC-6 in January).
            var target = (await UpdateDelivery.TargetForAsync(db, _pilotDevices[0], CancellationToken.None)).ShouldNotBeNull();
            target.ShouldBe(new Rules.Apple.SoftwareUpdateTarget("18.2", new DateTime(deadline.Year, 1, 15, 17, 0, 0)));
            var declarations = Rules.Apple.Declarations.For(Rules.Policies.PolicyDocument.Read(default), target);
            declarations[1].Payload["TargetOSVersion"].ShouldBe("18.2");
            declarations[1].Payload["TargetLocalDateTime"].ShouldBe($"{deadline.Year}-01-15T17:00:00");

            // The broad ring has not started: nothing reaches it.
            (await UpdateDelivery.TargetForAsync(db, _broadDevices[0], CancellationToken.None)).ShouldBeNull();
        }

        (await Evaluator.EvaluateAllAsync()).ShouldHaveSingleItem().UpdateCommandsSent.ShouldBe(0);

        // Past the deadline, two pilot iPads are still on 18.1: each is sent ScheduleOSUpdate, once.
        Host.Clock.Advance(deadline - Now + TimeSpan.FromMinutes(1));
        await SetAsync(_pilotDevices.Take(1), "18.2", Now);
        await SetAsync(_pilotDevices.Skip(1), null, Now);
        var evaluation = (await Evaluator.EvaluateAllAsync()).ShouldHaveSingleItem();
        (await GetRolloutAsync(id)).GetProperty("state").GetString().ShouldBe("paused"); // The deadline passed short of 100 %.
        evaluation.UpdateCommandsSent.ShouldBe(0); // Paused: nothing more is sent.

        using (var resumed = await Host.Client.PostAsync($"/api/updates/rollouts/{id}/resume", null))
        {
            resumed.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await Evaluator.EvaluateAllAsync()).ShouldHaveSingleItem().UpdateCommandsSent.ShouldBe(2);
        (await Evaluator.EvaluateAllAsync()).ShouldHaveSingleItem().UpdateCommandsSent.ShouldBe(0);
        await using (var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync())
        {
            var sent = await db.CommandDeliveries.Where(cd => db.Commands.Any(c => c.Id == cd.CommandId && c.Kind == CommandKinds.UpdateOs)).Select(cd => cd.DeviceId).ToListAsync();
            sent.ShouldBe(_pilotDevices.Skip(1), ignoreOrder: true);
        }
    }
}

public sealed class UpdateRolloutSqliteTests() : UpdateRolloutTests(DatabaseProvider.Sqlite);

public sealed class UpdateRolloutPostgresTests() : UpdateRolloutTests(DatabaseProvider.Postgres);
