using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Scripts;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.Scripts;

public abstract class ScriptHost(DatabaseProvider provider) : SharedHost(provider, "Homeroom:Scripts:KeepPerDevice=2");

public sealed class ScriptSqliteHost() : ScriptHost(DatabaseProvider.Sqlite);

public sealed class ScriptPostgresHost() : ScriptHost(DatabaseProvider.Postgres);

/// <summary>
/// Remote scripts over the real server and real agent WebSockets: the library's approval flow (an edit needs approval
/// again), who may write, approve and run (a technician only approved scripts, a teacher nothing, another school's
/// device does not exist), refused bodies as ProblemDetails, the signature a device receives, the result stored once
/// per command and the newest few kept.
/// </summary>
public abstract class ScriptTests(ScriptHost shared)
{
    private const string Body = "#!/bin/bash\necho \"disk check\"\ndf -h /\n";

    private HomeroomHost Host => shared.Host;

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task<(Guid School, TestAgent Agent)> SchoolDeviceAsync(Contracts.Enrollment.DevicePlatform platform = Contracts.Enrollment.DevicePlatform.Linux)
    {
        var school = await IdAsync("/api/schools", new { name = "Scripts " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" });
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-" + Guid.NewGuid().ToString("N")[..10], platform);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential);
        await agent.ExpectWelcomeAsync();
        return (school, agent);
    }

    private async Task<Guid> ApprovedScriptAsync(string body = Body, int timeLimit = 30)
    {
        var id = await IdAsync("/api/scripts", new { name = "Disk check " + Guid.NewGuid().ToString("N")[..6], description = "Free space on /", platform = "linux", body, timeLimitSeconds = timeLimit });
        (await Host.PostJsonAsync($"/api/scripts/{id}/approve", new { version = 1 })).EnsureSuccessStatusCode();
        return id;
    }

    private Task<HttpClient> AccountAsync(string role, Guid? school) =>
        Host.SignInAsNewAccountAsync($"{role[..4]}-{Guid.NewGuid():N}"[..20], role, schoolId: school);

    [Fact]
    public async Task Library_EditNeedsApprovalAgain_TechnicianRunsOnlyApprovedVersion_AllAudited()
    {
        var (school, agent) = await SchoolDeviceAsync();
        await using var owned = agent;
        using var technician = await AccountAsync("itTechnician", school);
        var id = await IdAsync("/api/scripts", new { name = "Disk check", description = "Free space on /", platform = "linux", body = Body, timeLimitSeconds = 30 });

        // Written, not approved: nobody can run it.
        using (var refused = await technician.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/scripts", new { scriptId = id }))
        {
            refused.StatusCode.ShouldBe(HttpStatusCode.Conflict, await refused.Content.ReadAsStringAsync());
            (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!.ShouldContain("awaits");
        }

        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();

        // A technician may not approve.
        using (var notAllowed = await technician.PostAsJsonAsync($"/api/scripts/{id}/approve", new { version = 1 }))
        {
            notAllowed.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        var approved = await Host.PostJsonAsync<JsonElement>($"/api/scripts/{id}/approve", new { version = 1 });
        approved.GetProperty("runnable").GetBoolean().ShouldBeTrue();
        approved.GetProperty("latest").GetProperty("approvedBy").GetString().ShouldNotBeNull();

        // An edit is a new version awaiting approval; approving the old one is refused, and the script cannot run meanwhile.
        using (var edited = await Host.Client.PutAsJsonAsync($"/api/scripts/{id}", new { name = "Disk check", description = "Free space on / and /home", platform = "linux", body = Body + "df -h /home\n", timeLimitSeconds = 30 }))
        {
            edited.StatusCode.ShouldBe(HttpStatusCode.OK);
            var script = await edited.Content.ReadFromJsonAsync<JsonElement>();
            script.GetProperty("latestVersion").GetInt32().ShouldBe(2);
            script.GetProperty("runnable").GetBoolean().ShouldBeFalse();
            script.GetProperty("versions").GetArrayLength().ShouldBe(2);
        }

        (await Host.PostJsonAsync($"/api/scripts/{id}/approve", new { version = 1 })).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await technician.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/scripts", new { scriptId = id })).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await Host.PostJsonAsync($"/api/scripts/{id}/approve", new { version = 2 })).StatusCode.ShouldBe(HttpStatusCode.OK);

        Guid commandId;
        using (var run = await technician.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/scripts", new { scriptId = id }))
        {
            run.StatusCode.ShouldBe(HttpStatusCode.Accepted, await run.Content.ReadAsStringAsync());
            var requested = await run.Content.ReadFromJsonAsync<JsonElement>();
            requested.GetProperty("version").GetInt32().ShouldBe(2);
            commandId = requested.GetProperty("commandId").GetGuid();
        }

        // The command log shows the script to those who may run scripts, and hides its body from read-only staff.
        using var readOnly = await AccountAsync("readOnly", school);
        var seen = await readOnly.GetFromJsonAsync<JsonElement>($"/api/commands/{commandId}");
        seen.GetProperty("arguments").GetProperty("body").GetString().ShouldBe("(hidden)");
        seen.GetProperty("arguments").GetProperty("name").GetString().ShouldBe("Disk check");
        (await technician.GetFromJsonAsync<JsonElement>($"/api/commands/{commandId}")).GetProperty("arguments").GetProperty("body").GetString().ShouldNotBe("(hidden)");

        // The device receives version 2, signed by the key the welcome frame named.
        var command = await agent.ExpectAsync<CommandFrame>();
        command.Kind.ShouldBe(CommandKinds.RunScript);
        var key = Host.GetService<ScriptSigningKey>().PublicKey;
        ScriptSigning.Verify(command.Arguments, key, "linux", out var verified).ShouldBeNull();
        verified!.Version.ShouldBe(2);
        Encoding.UTF8.GetString(verified.Body).ShouldBe(Body + "df -h /home\n");
        ScriptSigning.Verify(command.Arguments, key, "windows", out _).ShouldNotBeNull();

        var actions = await AuditActionsAsync(id.ToString());
        actions.ShouldBe(["script.create", "script.approve", "script.edit", "script.approve"], ignoreOrder: true);
        (await AuditActionsAsync(agent.DeviceId.ToString())).ShouldContain("script.run");
    }

    [Fact]
    public async Task Run_ResultStoredOncePerCommand_ShownPerDevice_NewestFewKept()
    {
        var (school, agent) = await SchoolDeviceAsync();
        await using var owned = agent;
        using var technician = await AccountAsync("itTechnician", school);
        var id = await ApprovedScriptAsync();
        var commands = new List<CommandFrame>();
        for (var i = 0; i < 3; i++)
        {
            (await technician.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/scripts", new { scriptId = id })).StatusCode.ShouldBe(HttpStatusCode.Accepted);
            var command = await agent.ExpectAsync<CommandFrame>();
            commands.Add(command);
            await agent.SendAsync(new ScriptResultFrame(command.CommandId, i, false, 12, $"run {i}\n", i == 2 ? "warning\n" : "", false));
            await agent.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Succeeded, Result: $"exit code {i}"));
        }

        // A repeat of the same result, and one for a command never sent to this device, store nothing.
        await agent.SendAsync(new ScriptResultFrame(commands[2].CommandId, 99, false, 1, "again", "", false));
        await agent.SendAsync(new ScriptResultFrame(Guid.NewGuid(), 0, false, 1, "forged", "", false));

        List<JsonElement> runs = [];
        await Poll.UntilAsync(async () =>
        {
            var list = await technician.GetFromJsonAsync<JsonElement>($"/api/devices/{agent.DeviceId}/scripts");
            runs = list.EnumerateArray().ToList();
            return runs.Count == 3 && runs.Count(r => r.GetProperty("output").ValueKind == JsonValueKind.Object) == 2 && runs[0].GetProperty("status").GetString() == "succeeded";
        }, HomeroomHost.Timeout);
        runs[0].GetProperty("commandId").GetGuid().ShouldBe(commands[2].CommandId);
        var output = runs[0].GetProperty("output");
        output.GetProperty("exitCode").GetInt32().ShouldBe(2);
        output.GetProperty("stdout").GetString().ShouldBe("run 2\n");
        output.GetProperty("stderr").GetString().ShouldBe("warning\n");
        // Only the newest two results are kept (KeepPerDevice=2): the first run shows its status, not its output.
        runs[2].GetProperty("output").ValueKind.ShouldBe(JsonValueKind.Null);

        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.Set<ScriptResult>().CountAsync(r => r.DeviceId == agent.DeviceId)).ShouldBe(2);
        (await db.Set<ScriptResult>().SingleAsync(r => r.CommandId == commands[2].CommandId)).ExitCode.ShouldBe(2);
    }

    [Fact]
    public async Task Group_RunsOnItsDevicesOfThePlatform_OthersRecordedFailed()
    {
        var (school, linux) = await SchoolDeviceAsync();
        await using var owned = linux;
        var windows = await Host.EnrollAsync(await Host.CreateTokenAsync(schoolId: school), "SN-" + Guid.NewGuid().ToString("N")[..10], Contracts.Enrollment.DevicePlatform.Windows);
        var cart = await IdAsync("/api/groups", new { name = "Cart " + Guid.NewGuid().ToString("N")[..6], kind = "cart", schoolId = school });
        (await Host.PostJsonAsync($"/api/groups/{cart}/members", new { deviceIds = new[] { linux.DeviceId, windows.DeviceId } })).EnsureSuccessStatusCode();
        using var technician = await AccountAsync("itTechnician", school);
        var id = await ApprovedScriptAsync();

        using (var run = await technician.PostAsJsonAsync($"/api/groups/{cart}/scripts", new { scriptId = id }))
        {
            run.StatusCode.ShouldBe(HttpStatusCode.Accepted, await run.Content.ReadAsStringAsync());
            (await run.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deviceCount").GetInt32().ShouldBe(2);
        }

        var command = await linux.ExpectAsync<CommandFrame>();
        await linux.SendAsync(new ScriptResultFrame(command.CommandId, null, true, 30_000, "started\n", "", false));
        await linux.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Failed, Error: "stopped at its time limit of 30 s"));

        JsonElement latest = default;
        await Poll.UntilAsync(async () =>
        {
            latest = (await technician.GetFromJsonAsync<JsonElement>($"/api/groups/{cart}/scripts"))[0];
            return latest.GetProperty("devices").EnumerateArray().Any(d => d.GetProperty("output").ValueKind == JsonValueKind.Object && d.GetProperty("status").GetString() == "failed");
        }, HomeroomHost.Timeout);
        var devices = latest.GetProperty("devices").EnumerateArray().ToDictionary(d => d.GetProperty("deviceId").GetGuid());
        devices[linux.DeviceId].GetProperty("output").GetProperty("timedOut").GetBoolean().ShouldBeTrue();
        devices[linux.DeviceId].GetProperty("output").GetProperty("exitCode").ValueKind.ShouldBe(JsonValueKind.Null);
        devices[windows.DeviceId].GetProperty("status").GetString().ShouldBe("failed");
        devices[windows.DeviceId].GetProperty("error").GetString()!.ShouldContain("the script is for linux");

        // One device of another platform is refused outright.
        using var single = await technician.PostAsJsonAsync($"/api/devices/{windows.DeviceId}/scripts", new { scriptId = id });
        single.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        single.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
    }

    [Fact]
    public async Task Boundaries_TeacherRefused_OtherSchoolDoesNotExist_SchoolAdminCannotWrite()
    {
        var (school, agent) = await SchoolDeviceAsync();
        await using var owned = agent;
        var (_, otherAgent) = await SchoolDeviceAsync();
        await using var ownedOther = otherAgent;
        var id = await ApprovedScriptAsync();
        var teacherPerson = await IdAsync("/api/people", new { kind = "staff", givenName = "T", familyName = "Eacher", schoolId = school });
        using var teacher = await Host.SignInAsNewAccountAsync($"teach-{Guid.NewGuid():N}"[..20], "teacher", personId: teacherPerson);
        using var technician = await AccountAsync("itTechnician", school);
        using var schoolAdmin = await AccountAsync("schoolAdmin", school);

        (await teacher.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/scripts", new { scriptId = id })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await teacher.GetAsync("/api/scripts")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await technician.PostAsJsonAsync($"/api/devices/{otherAgent.DeviceId}/scripts", new { scriptId = id })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await technician.GetAsync($"/api/devices/{otherAgent.DeviceId}/scripts")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await technician.PostAsJsonAsync("/api/scripts", new { name = "Mine", platform = "linux", body = "id", timeLimitSeconds = 5 })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await schoolAdmin.PostAsJsonAsync($"/api/scripts/{id}/approve", new { version = 1 })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await technician.GetFromJsonAsync<JsonElement>("/api/scripts")).EnumerateArray().ShouldContain(s => s.GetProperty("id").GetGuid() == id);

        // Nothing reached either device; the generic command endpoint does not know runScript.
        (await agent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(300))).ShouldBeTrue();
        (await otherAgent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(100))).ShouldBeTrue();
        using var generic = await Host.PostJsonAsync("/api/commands", new { kind = CommandKinds.RunScript, arguments = new Dictionary<string, string> { ["scriptId"] = id.ToString() }, deviceIds = new[] { agent.DeviceId } });
        generic.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task BadBodies_AnsweredWithProblemDetails_NothingStored()
    {
        var before = await CountAsync();
        var oversize = new string('x', ScriptLimits.MaxBodyBytes + 1);
        // Within the byte limit, but base64 of these bytes is mostly '+', which JSON escapes sixfold: the frame would not fit.
        var escapes = Encoding.UTF8.GetString(Enumerable.Repeat(new byte[] { 0xEF, 0xBE, 0xBE }, ScriptLimits.MaxBodyBytes / 3 - 10).SelectMany(b => b).ToArray());
        object[] bad =
        [
            new { name = "", platform = "linux", body = Body, timeLimitSeconds = 30 },
            new { name = "No platform", platform = "dos", body = Body, timeLimitSeconds = 30 },
            new { name = "Empty", platform = "linux", body = "  ", timeLimitSeconds = 30 },
            new { name = "Too long", platform = "linux", body = Body, timeLimitSeconds = ScriptLimits.MaxTimeLimitSeconds + 1 },
            new { name = "No limit", platform = "linux", body = Body },
            new { name = "Oversize", platform = "linux", body = oversize, timeLimitSeconds = 30 },
            new { name = "Escapes", platform = "linux", body = escapes, timeLimitSeconds = 30 },
            new { name = "Nul", platform = "linux", body = "echo\0", timeLimitSeconds = 30 },
        ];
        foreach (var body in bad)
        {
            using var response = await Host.PostJsonAsync("/api/scripts", body);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, JsonSerializer.Serialize(body)[..Math.Min(80, JsonSerializer.Serialize(body).Length)]);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        }

        // Not JSON, and a body far past the request limit.
        using (var notJson = await Host.Client.PostAsync("/api/scripts", new StringContent("{\"name\":", Encoding.UTF8, "application/json")))
        {
            notJson.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }

        using (var huge = await Host.Client.PostAsync("/api/scripts", new StringContent(JsonSerializer.Serialize(new { name = "Huge", platform = "linux", body = new string('y', 400_000), timeLimitSeconds = 5 }), Encoding.UTF8, "application/json")))
        {
            ((int)huge.StatusCode).ShouldBeOneOf(400, 413);
        }

        (await Host.PostJsonAsync($"/api/devices/{Guid.NewGuid()}/scripts", new { scriptId = Guid.NewGuid() })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await CountAsync()).ShouldBe(before);

        // The largest body that fits is accepted.
        var largest = new string('z', ScriptLimits.MaxBodyBytes);
        (await Host.PostJsonAsync("/api/scripts", new { name = "Largest", platform = "windows", body = largest, timeLimitSeconds = 5 })).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Retention_DeletesResultsPastIt()
    {
        var (school, agent) = await SchoolDeviceAsync();
        await using var owned = agent;
        using var technician = await AccountAsync("itTechnician", school);
        var id = await ApprovedScriptAsync();
        (await technician.PostAsJsonAsync($"/api/devices/{agent.DeviceId}/scripts", new { scriptId = id })).StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var command = await agent.ExpectAsync<CommandFrame>();
        (await Host.GetService<ScriptResultWriter>().AcceptAsync(agent.DeviceId, new ScriptResultFrame(command.CommandId, 0, false, 5, "ok\n", "", false))).ShouldBeTrue();

        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        var runs = Host.GetService<ScriptRuns>();
        (await runs.PurgeAsync(db, CancellationToken.None)).ShouldBe(0);
        await db.Set<ScriptResult>().Where(r => r.CommandId == command.CommandId)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.ReceivedAt, DateTime.UtcNow.AddDays(-31)));
        (await runs.PurgeAsync(db, CancellationToken.None)).ShouldBe(1);
        (await db.Set<ScriptResult>().AnyAsync(r => r.CommandId == command.CommandId)).ShouldBeFalse();
    }

    [Fact]
    public void Signature_CoversEveryField()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var body = Encoding.UTF8.GetBytes("echo hi\n");
        var id = Guid.NewGuid();
        var hash = ScriptSigning.Hash(body);
        var signature = key.SignData(ScriptSigning.Payload(id, 3, "linux", hash, 60), HashAlgorithmName.SHA256);
        var good = ScriptSigning.Arguments(id, 3, "Hi", "linux", 60, hash, signature, body);
        var publicKey = key.ExportSubjectPublicKeyInfo();
        ScriptSigning.Verify(good, publicKey, "linux", out var verified).ShouldBeNull();
        verified!.TimeLimit.ShouldBe(TimeSpan.FromSeconds(60));

        foreach (var (field, value) in new[] { ("scriptId", Guid.NewGuid().ToString()), ("version", "4"), ("timeLimit", "3600"), ("platform", "macos"), ("sha256", ScriptSigning.Hash("x"u8)) })
        {
            var changed = new Dictionary<string, string>(good) { [field] = value };
            ScriptSigning.Verify(changed, publicKey, changed["platform"], out _).ShouldBe("the script's signature does not verify", field);
        }

        var tampered = new Dictionary<string, string>(good) { ["body"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("rm -rf /tmp/x\n")) };
        ScriptSigning.Verify(tampered, publicKey, "linux", out _).ShouldBe("the script's body does not match its signed hash");
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ScriptSigning.Verify(good, other.ExportSubjectPublicKeyInfo(), "linux", out _).ShouldBe("the script's signature does not verify");
        ScriptSigning.Verify(good, null, "linux", out _).ShouldNotBeNull();
    }

    private async Task<List<string>> AuditActionsAsync(string targetId)
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Set<Audit.AuditEntry>().Where(a => a.TargetId == targetId && a.Action.StartsWith("script.")).Select(a => a.Action).ToListAsync();
    }

    private async Task<int> CountAsync()
    {
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        return await db.Set<Script>().CountAsync();
    }
}

public sealed class ScriptSqliteTests(ScriptSqliteHost shared) : ScriptTests(shared), IClassFixture<ScriptSqliteHost>;

public sealed class ScriptPostgresTests(ScriptPostgresHost shared) : ScriptTests(shared), IClassFixture<ScriptPostgresHost>;
