using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Data;
using Homeroom.Server.Scripts;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Tests.SelfUpdates;

public abstract class AgentUpdateHost(DatabaseProvider provider) : SharedHost(provider, "Homeroom:AgentUpdates:MaxPackageBytes=4096");

public sealed class AgentUpdateSqliteHost() : AgentUpdateHost(DatabaseProvider.Sqlite);

public sealed class AgentUpdatePostgresHost() : AgentUpdateHost(DatabaseProvider.Postgres);

/// <summary>
/// Agent builds over the real server and real agent WebSockets: what an upload must be (runtime, version, an
/// executable of the runtime, within the size limit), who may manage builds, the signed manifest an older agent is
/// offered (and a current one is not), and the download, which needs the device's own credential.
/// </summary>
public abstract class AgentUpdateTests(AgentUpdateHost shared)
{
    private static int _version = 10;

    private HomeroomHost Host => shared.Host;

    // A fresh runtime-less version number for each build, so tests sharing the host never collide.
    private static string NextVersion() => $"3.{Interlocked.Increment(ref _version)}.0";

    private static byte[] Elf(int size = 256, byte fill = 1)
    {
        var file = new byte[size];
        Array.Fill(file, fill);
        "\u007fELF"u8.CopyTo(file);
        file[4] = 2;
        file[18] = 0x3E;
        file[19] = 0;
        return file;
    }

    private static byte[] MachO(uint cpu)
    {
        var file = new byte[128];
        BitConverter.TryWriteBytes(file.AsSpan(0), 0xFEEDFACFu);
        BitConverter.TryWriteBytes(file.AsSpan(4), cpu);
        return file;
    }

    private static async Task<HttpResponseMessage> UploadAsync(HttpClient client, string rid, string version, byte[] file)
    {
        using var content = new ByteArrayContent(file);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await client.PostAsync($"/api/agent-updates?rid={rid}&version={version}", content);
    }

    private async Task<JsonElement> UploadedAsync(string rid, string version, byte[] file)
    {
        using var response = await UploadAsync(Host.Client, rid, version, file);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    // The builds' stored files: under agent-updates on SQLite, chunks in agent_build_content on PostgreSQL (every node's).
    private async Task<List<string>> StoredFilesAsync()
    {
        if (Host.Database.Provider == DatabaseProvider.Sqlite)
        {
            var directory = Path.Combine(Host.GetService<DatabaseOptions>().DataDirectory, "agent-updates");
            return Directory.Exists(directory) ? [.. Directory.EnumerateFiles(directory).Select(f => Path.GetFileName(f))] : [];
        }

        await using var connection = new Npgsql.NpgsqlConnection(Host.Database.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT DISTINCT sha256 FROM agent_build_content", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private async Task<(EnrollResponse Device, TestAgent Agent)> AgentAsync(string agentVersion, DevicePlatform platform = DevicePlatform.Linux)
    {
        var enrolled = await Host.EnrollAsync(await Host.CreateTokenAsync(), "SN-" + Guid.NewGuid().ToString("N")[..10], platform);
        var agent = await TestAgent.ConnectAsync(Host.AgentUri, enrolled.DeviceId, enrolled.Credential, auth: false);
        await agent.SendAsync(new AuthFrame(enrolled.DeviceId, enrolled.Credential, AgentProtocol.Version, agentVersion));
        await agent.ExpectWelcomeAsync();
        return (enrolled, agent);
    }

    [Fact]
    public async Task Upload_RefusesWhatIsNotABuildOfTheRuntime_WithProblemDetails()
    {
        var version = NextVersion();
        foreach (var (rid, v, file, field) in new[]
        {
            ("linux-arm64", version, Elf(), "rid"),
            ("linux-x64", "1.0", Elf(), "version"),
            ("linux-x64", "01.0.0", Elf(), "version"),
            ("linux-x64", "1.0.0-beta", Elf(), "version"),
            ("linux-x64", version, "MZ\u0090\0 a Windows program"u8.ToArray(), "file"),
            ("linux-x64", version, "#!/bin/sh\necho not a program\n"u8.ToArray(), "file"),
            ("win-x64", version, Elf(), "file"),
            ("osx-x64", version, MachO(0x0100000C), "file"),
        })
        {
            using var refused = await UploadAsync(Host.Client, rid, v, file);
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest, $"{rid} {v}");
            refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue($"{rid} {v}: {field}");
        }

        using (var tooBig = await UploadAsync(Host.Client, "linux-x64", version, Elf(4097)))
        {
            tooBig.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
            tooBig.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        }

        // Nothing of the refused uploads was kept; the same version is taken once, for its runtime.
        (await Host.GetJsonAsync<JsonElement>("/api/agent-updates")).GetProperty("builds").EnumerateArray()
            .Any(b => b.GetProperty("version").GetString() == version).ShouldBeFalse();
        (await UploadedAsync("osx-arm64", version, MachO(0x0100000C))).GetProperty("size").GetInt64().ShouldBe(128);
        (await UploadedAsync("linux-x64", version, Elf(4096))).GetProperty("rid").GetString().ShouldBe("linux-x64");
        using var again = await UploadAsync(Host.Client, "linux-x64", version, Elf(300));
        again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await StoredFilesAsync()).ShouldAllBe(name => AgentUpdates.IsSha256(name)); // no temporary upload left behind
    }

    [Fact]
    public async Task Builds_AreForDistrictAdministratorsOnly_AndEveryChangeIsAudited()
    {
        var school = (await Host.PostJsonAsync<JsonElement>("/api/schools", new { name = "Updates " + Guid.NewGuid().ToString("N")[..8], timeZone = "UTC" })).GetProperty("id").GetGuid();
        foreach (var role in new[] { "schoolAdmin", "itTechnician", "teacher", "readOnly" })
        {
            using var staff = await Host.SignInAsNewAccountAsync($"{role[..4]}-{Guid.NewGuid():N}"[..20], role, schoolId: school);
            (await staff.GetAsync("/api/agent-updates")).StatusCode.ShouldBe(HttpStatusCode.Forbidden, role);
            using var upload = await UploadAsync(staff, "linux-x64", NextVersion(), Elf());
            upload.StatusCode.ShouldBe(HttpStatusCode.Forbidden, role);
        }

        var build = await UploadedAsync("linux-x64", NextVersion(), Elf());
        var id = build.GetProperty("id").GetGuid();
        (await Host.Client.PostAsync($"/api/agent-updates/{id}/current", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Host.Client.DeleteAsync($"/api/agent-updates/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await Host.Client.DeleteAsync($"/api/agent-updates/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        await using var db = await Host.GetService<IDbContextFactory<HomeroomDbContext>>().CreateDbContextAsync();
        (await db.Set<Audit.AuditEntry>().Where(a => a.TargetId == id.ToString()).OrderBy(a => a.Id).Select(a => a.Action).ToListAsync())
            .ShouldBe(["agentUpdate.upload", "agentUpdate.current", "agentUpdate.delete"]);
        (await StoredFilesAsync()).ShouldNotContain(build.GetProperty("sha256").GetString()!);
    }

    [Fact]
    public async Task OlderAgent_IsOfferedTheSignedCurrentBuild_CurrentOneIsNot_DownloadNeedsTheDeviceCredential()
    {
        var version = NextVersion();
        var file = Elf(1000, 7);
        var build = await UploadedAsync("linux-x64", version, file);
        var (older, olderAgent) = await AgentAsync("homeroom-agent/1.0.0");
        await using var ownedOlder = olderAgent;
        var (_, currentAgent) = await AgentAsync($"homeroom-agent/{version}");
        await using var ownedCurrent = currentAgent;
        var (_, windowsAgent) = await AgentAsync("homeroom-agent/1.0.0", DevicePlatform.Windows);
        await using var ownedWindows = windowsAgent;

        // Marking it current reaches the online agent that is older, with a manifest its pinned key verifies.
        (await Host.Client.PostAsync($"/api/agent-updates/{build.GetProperty("id").GetGuid()}/current", null)).EnsureSuccessStatusCode();
        var command = await olderAgent.ExpectAsync<CommandFrame>();
        command.Kind.ShouldBe(CommandKinds.AgentUpdate);
        var key = Host.GetService<ScriptSigningKey>().PublicKey;
        AgentUpdates.Verify(command.Arguments, key, "linux-x64", "1.0.0", out var manifest).ShouldBeNull();
        manifest!.Version.ShouldBe(version);
        manifest.Size.ShouldBe(1000);
        manifest.Sha256.ShouldBe(Convert.ToHexStringLower(SHA256.HashData(file)));
        (await currentAgent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();
        (await windowsAgent.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(100))).ShouldBeTrue();

        // What an agent checks: its own runtime, a newer version, the server's key, every signed field.
        AgentUpdates.Verify(command.Arguments, key, "win-x64", "1.0.0", out _).ShouldBe("no build for win-x64 in the command");
        AgentUpdates.Verify(command.Arguments, key, "linux-x64", version, out _).ShouldNotBeNull().ShouldContain("not newer");
        using (var other = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            AgentUpdates.Verify(command.Arguments, other.ExportSubjectPublicKeyInfo(), "linux-x64", "1.0.0", out _).ShouldBe("the build's signature does not verify");
        }

        var parts = command.Arguments!["linux-x64"].Split(' ');
        var otherSha = new string('b', 64);
        foreach (var forged in new[]
        {
            string.Join(' ', "9.9.9", parts[1], parts[2], parts[3], parts[4]),
            string.Join(' ', parts[0], parts[1], "999", parts[3], parts[4]),
            string.Join(' ', parts[0], otherSha, parts[2], parts[3], AgentProtocol.UpdatePath(otherSha)),
        })
        {
            AgentUpdates.Verify(new Dictionary<string, string> { ["linux-x64"] = forged }, key, "linux-x64", "1.0.0", out _).ShouldBe("the build's signature does not verify", forged);
        }

        AgentUpdates.Verify(new Dictionary<string, string> { ["linux-x64"] = string.Join(' ', parts[0], parts[1], parts[2], parts[3], "/elsewhere") }, key, "linux-x64", "1.0.0", out _)
            .ShouldBe("the build's manifest is malformed");

        // Reconnecting while it waits brings the same command, not a second one.
        await olderAgent.CloseAsync();
        var again = await TestAgent.ConnectAsync(Host.AgentUri, older.DeviceId, older.Credential, auth: false);
        await using var ownedAgain = again;
        await again.SendAsync(new AuthFrame(older.DeviceId, older.Credential, AgentProtocol.Version, "homeroom-agent/1.0.0"));
        await again.ExpectWelcomeAsync();
        (await again.ExpectAsync<CommandFrame>()).CommandId.ShouldBe(command.CommandId);
        (await again.NothingOfTypeAsync<CommandFrame>(TimeSpan.FromMilliseconds(500))).ShouldBeTrue();

        // The download: the device's own credential, nothing else.
        using var anonymous = Host.CreateClient();
        (await anonymous.GetAsync(manifest.DownloadPath)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await Host.Client.GetAsync(manifest.DownloadPath)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized); // a staff session is not a device
        using (var wrong = AgentProtocol.DeviceRequest(Host.BaseAddress, manifest.DownloadPath, older.DeviceId, older.Credential + "x"))
        {
            (await anonymous.SendAsync(wrong)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using (var unknown = AgentProtocol.DeviceRequest(Host.BaseAddress, AgentProtocol.UpdatePath(new string('a', 64)), older.DeviceId, older.Credential))
        {
            (await anonymous.SendAsync(unknown)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        }

        using var download = AgentProtocol.DeviceRequest(Host.BaseAddress, manifest.DownloadPath, older.DeviceId, older.Credential);
        using var response = await anonymous.SendAsync(download);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Content.ReadAsByteArrayAsync()).ShouldBe(file);

        // The console's counts: one Linux agent runs the current version.
        var listed = (await Host.GetJsonAsync<JsonElement>("/api/agent-updates")).GetProperty("builds").EnumerateArray()
            .Single(b => b.GetProperty("id").GetGuid() == build.GetProperty("id").GetGuid());
        listed.GetProperty("current").GetBoolean().ShouldBeTrue();
        listed.GetProperty("devices").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task OffersToOneDeviceAtOnce_IssueOneCommand()
    {
        // A Mac build, so the Linux and Windows agents of the other tests are never offered it.
        var build = (await UploadedAsync("osx-arm64", NextVersion(), MachO(0x0100000C))).GetProperty("id").GetGuid();
        (await Host.Client.PostAsync($"/api/agent-updates/{build}/current", null)).EnsureSuccessStatusCode();
        var device = await Host.EnrollAsync(await Host.CreateTokenAsync(), "SN-" + Guid.NewGuid().ToString("N")[..10], DevicePlatform.MacOS);
        var dbFactory = Host.GetService<IDbContextFactory<HomeroomDbContext>>();
        await using (var db = await dbFactory.CreateDbContextAsync())
        {
            await db.Devices.Where(d => d.Id == device.DeviceId).ExecuteUpdateAsync(s => s.SetProperty(d => d.AgentVersion, "homeroom-agent/1.0.0"));
        }

        // As when the device connects in the moment the build becomes current: both paths offer, one command results.
        var offers = Host.GetService<Homeroom.Server.SelfUpdates.AgentUpdateOffers>();
        var issued = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => offers.OfferAsync(device.DeviceId, CancellationToken.None))));
        issued.Count(id => id is not null).ShouldBe(1);
        await using (var db = await dbFactory.CreateDbContextAsync())
        {
            (await db.CommandDeliveries.Where(d => d.DeviceId == device.DeviceId).CountAsync()).ShouldBe(1);
        }

        (await offers.OfferAsync(device.DeviceId, CancellationToken.None)).ShouldBeNull(); // and later ones see it waiting
        (await Host.Client.DeleteAsync($"/api/agent-updates/{build}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public void Versions_AreOrderedNumerically()
    {
        AgentUpdates.Compare("1.10.0", "1.9.9").ShouldBePositive();
        AgentUpdates.Compare("2.0.0", "2.0.0").ShouldBe(0);
        AgentUpdates.VersionOfAgent("homeroom-agent/1.2.3").ShouldBe("1.2.3");
        AgentUpdates.VersionOfAgent("test-agent/1.0").ShouldBeNull();
        AgentUpdates.IsVersion("65536.0.0").ShouldBeFalse();
    }
}

public sealed class AgentUpdateSqliteTests(AgentUpdateSqliteHost shared) : AgentUpdateTests(shared), IClassFixture<AgentUpdateSqliteHost>;

public sealed class AgentUpdatePostgresTests(AgentUpdatePostgresHost shared) : AgentUpdateTests(shared), IClassFixture<AgentUpdatePostgresHost>;
