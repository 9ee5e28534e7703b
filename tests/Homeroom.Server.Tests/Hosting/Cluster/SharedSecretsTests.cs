using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Apple;
using Homeroom.Server.AppleSchoolManager;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Scripts;
using Homeroom.Server.Tests.Apple;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Apple;
using Microsoft.AspNetCore.DataProtection;
using Npgsql;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// Nodes of one PostgreSQL cluster, each with a data directory of its own as on separate machines (only the cluster
/// key copied, as an operator adding a node does): the data-protection key ring and the node-wide secrets live in the
/// database, so a cookie, a device identity or a signature made by one node is good on every other; nodes starting
/// together make one of each; an upgraded single node's files are imported; a node with another cluster key refuses
/// to start, and the database holds the key ring sealed.
/// </summary>
public sealed class SharedSecretsTests
{
    private const string Password = "a long enough passphrase";

    private static async Task<JsonElement> PostAsync(HomeroomHost node, string path, object body) => await node.PostJsonAsync<JsonElement>(path, body);

    private static async Task<long> CountAsync(TestDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static void WriteClusterKey(string dataDirectory, string key)
    {
        var path = Path.Combine(dataDirectory, "keys", "cluster.key");
        DataFiles.CreatePrivateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, key + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, DataFiles.PrivateFile);
        }
    }

    [Fact]
    public async Task StaffCookie_SignedInOnNodeA_IsAcceptedByNodeB()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        await using var b = await HomeroomHost.StartNodeWithOwnDataAsync(a);
        (await a.PostJsonAsync("/api/accounts", new { username = "nurse.joy", displayName = "Nurse Joy", password = Password, role = "districtAdmin" })).EnsureSuccessStatusCode();
        var cookies = new CookieContainer(); // cookies for 127.0.0.1 go to either node's port, as behind one load balancer
        using var onA = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = a.BaseAddress, Timeout = HomeroomHost.Timeout };
        using var onB = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = b.BaseAddress, Timeout = HomeroomHost.Timeout };
        onA.DefaultRequestHeaders.Add("X-Homeroom-Request", "1");
        onB.DefaultRequestHeaders.Add("X-Homeroom-Request", "1");

        using (var login = await onA.PostAsJsonAsync("/api/auth/login", new { username = "nurse.joy", password = Password }))
        {
            login.EnsureSuccessStatusCode();
        }

        using var me = await onB.GetAsync(new Uri("/api/auth/me", UriKind.Relative));
        me.StatusCode.ShouldBe(HttpStatusCode.OK, await me.Content.ReadAsStringAsync());
        (await me.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("username").GetString().ShouldBe("nurse.joy");

        // Signed out through node B: signed out on node A too.
        (await onB.PostAsync(new Uri("/api/auth/logout", UriKind.Relative), null)).EnsureSuccessStatusCode();
        using var after = await onA.GetAsync(new Uri("/api/auth/me", UriKind.Relative));
        after.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Devices_EnrolledThroughNodeA_AreAcceptedByNodeB_AgentAndAppleIdentity()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        await using var b = await HomeroomHost.StartNodeWithOwnDataAsync(a);

        // An agent's credential from node A opens a connection on node B.
        var enrolled = await a.EnrollAsync(await a.CreateTokenAsync(), "SN-CLUSTER-1");
        await using (var agent = await TestAgent.ConnectAsync(b.AgentUri, enrolled.DeviceId, enrolled.Credential))
        {
            (await agent.ExpectWelcomeAsync()).DeviceId.ShouldBe(enrolled.DeviceId);
        }

        // An iPad takes its identity from node A's enrollment profile (issued by node A's view of the CA) ...
        using var throughA = new VirtualAppleDevice(a.Client, a.BaseAddress, "00008030-0001A2D3E0C38802E", "DMPC000001");
        await throughA.InstallEnrollmentProfileAsync(await a.CreateTokenAsync());
        using (var authenticate = await throughA.AuthenticateAsync())
        {
            authenticate.StatusCode.ShouldBe(HttpStatusCode.OK, await authenticate.Content.ReadAsStringAsync());
        }

        (await throughA.TokenUpdateAsync()).StatusCode.ShouldBe(HttpStatusCode.OK);
        var id = (await a.GetJsonAsync<JsonElement>($"/api/devices?q={throughA.Serial}")).GetProperty("items")[0].GetProperty("id").GetGuid();
        var command = (await PostAsync(a, "/api/commands", new { kind = "lock", deviceIds = new[] { id } })).GetProperty("id").GetGuid();

        // ... and node B accepts that identity's signature and hands it the command node A stored.
        using var throughB = new VirtualAppleDevice(b.Client, b.BaseAddress, throughA.Udid, throughA.Serial) { Identity = throughA.Identity };
        await throughB.PollAsync();
        throughB.Received.ShouldContain(r => r.Id == command && r.RequestType == "DeviceLock");

        // A self-made identity claiming the same device is still refused by node B.
        using var forger = new VirtualAppleDevice(b.Client, b.BaseAddress, throughA.Udid, throughA.Serial);
        using var forged = await forger.SendAsync("/mdm/connect", new() { ["UDID"] = throughA.Udid, ["Status"] = "Idle" });
        forged.StatusCode.ShouldBeOneOf(HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Script_SignedOnNodeA_VerifiesWithTheKeyNodeBGaveItsAgent()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        await using var b = await HomeroomHost.StartNodeWithOwnDataAsync(a);
        foreach (var node in new[] { a, b })
        {
            var listener = node.GetService<BackplaneListener>();
            await Poll.UntilAsync(() => Task.FromResult(listener.IsListening), TimeSpan.FromSeconds(15));
        }

        var enrolled = await a.EnrollAsync(await a.CreateTokenAsync(), "SN-CLUSTER-2", DevicePlatform.Linux);
        await using var agent = await TestAgent.ConnectAsync(b.AgentUri, enrolled.DeviceId, enrolled.Credential);
        var welcome = await agent.ExpectWelcomeAsync();
        const string body = "#!/bin/bash\nuptime\n";
        var script = (await PostAsync(a, "/api/scripts", new { name = "Uptime", description = "How long", platform = "linux", body, timeLimitSeconds = 30 })).GetProperty("id").GetGuid();
        (await a.PostJsonAsync($"/api/scripts/{script}/approve", new { version = 1 })).EnsureSuccessStatusCode();

        (await a.PostJsonAsync($"/api/devices/{enrolled.DeviceId}/scripts", new { scriptId = script })).StatusCode.ShouldBe(HttpStatusCode.Accepted);

        var frame = await agent.ExpectAsync<CommandFrame>(TimeSpan.FromSeconds(5));
        frame.Kind.ShouldBe(CommandKinds.RunScript);
        ScriptSigning.Verify(frame.Arguments, Convert.FromBase64String(welcome.ScriptSigningKey!), "linux", out var verified).ShouldBeNull();
        Encoding.UTF8.GetString(verified!.Body).ShouldBe(body);
        b.GetService<ScriptSigningKey>().PublicKeyBase64.ShouldBe(a.GetService<ScriptSigningKey>().PublicKeyBase64);
    }

    [Fact]
    public async Task TwoNodesStartedAtOnce_MakeOneDataProtectionKeyOneCaOneSigningKey_AndShareTheOtherSecrets()
    {
        await using var database = await TestDatabase.CreateMigratedAsync(DatabaseProvider.Postgres);
        var clusterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var directories = new[] { HomeroomHost.NewDataDirectory(), HomeroomHost.NewDataDirectory() };
        foreach (var directory in directories)
        {
            WriteClusterKey(directory, clusterKey);
        }

        var started = await Task.WhenAll(directories.Select(d => HomeroomHost.StartNodeAsync(database, d)));
        await using var a = started[0];
        await using var b = started[1];

        // Both make their CA and signing key at the same moment (an RSA 3072 key takes a second or more to make).
        var authorities = await Task.WhenAll(started.Select(n => Task.Run(() => n.GetService<DeviceCertificateAuthority>())));
        var signingKeys = await Task.WhenAll(started.Select(n => Task.Run(() => n.GetService<ScriptSigningKey>())));

        authorities[1].Certificate.Thumbprint.ShouldBe(authorities[0].Certificate.Thumbprint);
        authorities[1].Certificate.HasPrivateKey.ShouldBeTrue();
        signingKeys[1].PublicKeyBase64.ShouldBe(signingKeys[0].PublicKeyBase64);
        (await CountAsync(database, "SELECT count(*) FROM data_protection_keys")).ShouldBe(1);
        (await CountAsync(database, "SELECT count(*) FROM cluster_secrets WHERE name IN ('apple/device-ca.bin', 'scripts/signing-key.bin')")).ShouldBe(2);
        directories.ShouldAllBe(d => !Directory.Exists(Path.Combine(d, "apple")) && !Directory.Exists(Path.Combine(d, "scripts")));

        // What one node protects the other reads; the push certificate's waiting request and the ASM key are shared.
        var sealedByA = a.GetService<IDataProtectionProvider>().CreateProtector("test").Protect("shared");
        b.GetService<IDataProtectionProvider>().CreateProtector("test").Unprotect(sealedByA).ShouldBe("shared");
        var csr = a.GetService<PushCertificateStore>().CreateSigningRequest("Test district", DateTimeOffset.UtcNow);
        b.GetService<PushCertificateStore>().PendingSigningRequest().ShouldBe(csr);
        b.GetService<AsmKeyStore>().Existing(DateTimeOffset.UtcNow).ShouldBeNull();
        var asm = a.GetService<AsmKeyStore>().Certificate(DateTimeOffset.UtcNow);
        b.GetService<AsmKeyStore>().Existing(DateTimeOffset.UtcNow)!.Thumbprint.ShouldBe(asm.Thumbprint);
    }

    [Fact]
    public async Task PushCertificate_RequestedOnNodeA_ImportedThroughNodeB_IsUsedByNodeA()
    {
        using var pki = new FakeApplePki();
        string[] settings = [.. pki.VendorSettings, "Homeroom:Apple:PushCertificate:ClusterRefreshInterval=00:00:01"];
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres, settings);
        await using var b = await HomeroomHost.StartNodeWithOwnDataAsync(a, settings);
        const string topic = "com.apple.mgmt.External.0d6c1a52-3f0e-4c1b-9a57-6b8f1f1d2c11";

        // The key of the request node A made waits in the database, so node B takes Apple's certificate for it.
        var csr = await FakeApplePki.RequestAsync(a);
        using var certificate = pki.Issue(csr, topic, a.Clock.GetUtcNow().AddDays(365));
        using (var imported = await FakeApplePki.UploadAsync(b.Client, certificate))
        {
            imported.StatusCode.ShouldBe(HttpStatusCode.OK, await imported.Content.ReadAsStringAsync());
        }

        // Node A loaded no certificate at start; it takes the imported one at its next look (here after a second).
        await Poll.UntilAsync(async () => (await FakeApplePki.StatusAsync(a)).TryGetProperty("topic", out var seen) && seen.GetString() == topic, TimeSpan.FromSeconds(10));
        a.GetService<PushCertificateStore>().Certificate!.Thumbprint.ShouldBe(b.GetService<PushCertificateStore>().Certificate!.Thumbprint);
        a.GetService<PushCertificateStore>().Certificate!.HasPrivateKey.ShouldBeTrue();
    }

    [Fact]
    public async Task FirstStartOnTheNewVersion_ImportsTheSingleNodesFiles_SoEveryNodeKeepsItsCaKeyAndSessions()
    {
        // A single server as every version before kept its secrets: files in its data directory.
        var upgraded = HomeroomHost.NewDataDirectory();
        string caThumbprint, signingKey, sealedBefore;
        await using (var single = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite))
        {
            caThumbprint = single.GetService<DeviceCertificateAuthority>().Certificate.Thumbprint;
            signingKey = single.GetService<ScriptSigningKey>().PublicKeyBase64;
            sealedBefore = single.GetService<IDataProtectionProvider>().CreateProtector("test").Protect("before the upgrade");
            foreach (var folder in new[] { "keys", "apple", "scripts" })
            {
                foreach (var file in Directory.GetFiles(Path.Combine(single.DataDirectory, folder)))
                {
                    HomeroomHost.CopyPrivate(file, Path.Combine(upgraded, folder, Path.GetFileName(file)));
                }
            }
        }

        await using var database = await TestDatabase.CreateMigratedAsync(DatabaseProvider.Postgres);
        await using var first = await HomeroomHost.StartNodeAsync(database, upgraded);
        await using var added = await HomeroomHost.StartNodeWithOwnDataAsync(first);

        foreach (var node in new[] { first, added })
        {
            node.GetService<DeviceCertificateAuthority>().Certificate.Thumbprint.ShouldBe(caThumbprint);
            node.GetService<ScriptSigningKey>().PublicKeyBase64.ShouldBe(signingKey);
            node.GetService<IDataProtectionProvider>().CreateProtector("test").Unprotect(sealedBefore).ShouldBe("before the upgrade");
        }

        // The imported files stay where they were; restarting imports nothing twice.
        File.Exists(Path.Combine(upgraded, "apple", "device-ca.bin")).ShouldBeTrue();
        var keys = await CountAsync(database, "SELECT count(*) FROM data_protection_keys");
        await first.RestartAsync();
        (await CountAsync(database, "SELECT count(*) FROM data_protection_keys")).ShouldBe(keys);
        first.GetService<DeviceCertificateAuthority>().Certificate.Thumbprint.ShouldBe(caThumbprint);
    }

    [Fact]
    public async Task NodeWithAnotherClusterKey_RefusesToStart_AndTheDatabaseHoldsTheKeyRingSealed()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        var stranger = HomeroomHost.NewDataDirectory();
        WriteClusterKey(stranger, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

        var refused = await Should.ThrowAsync<InvalidOperationException>(() => HomeroomHost.StartNodeAsync(a.Database, stranger));

        refused.Message.ShouldContain("cluster.key");
        (await a.CreateTokenAsync()).ShouldNotBeNullOrEmpty(); // node A goes on serving
        await using var connection = new NpgsqlConnection(a.Database.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT sealed FROM data_protection_keys", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = 0;
        while (await reader.ReadAsync())
        {
            var stored = Encoding.UTF8.GetString((byte[])reader[0]);
            stored.ShouldNotContain("masterKey");
            stored.ShouldNotContain("<key");
            rows++;
        }

        rows.ShouldBe(1);
    }
}
