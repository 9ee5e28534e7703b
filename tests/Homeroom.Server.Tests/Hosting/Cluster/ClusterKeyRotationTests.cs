using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Npgsql;

namespace Homeroom.Server.Tests.Hosting.Cluster;

/// <summary>
/// Rotating a cluster's key with the steps of <c>cluster-key new|rotate|adopt</c> on two running nodes: every sealed row
/// ends sealed with the new key and not the old; a key the nodes make meanwhile is readable by both; what was protected
/// before the rotation is read by a node holding the new key only, and a node holding only the old key refuses to start.
/// </summary>
public sealed class ClusterKeyRotationTests
{
    private static async Task<Dictionary<string, byte[]>> SealedAsync(TestDatabase database)
    {
        await using var connection = new NpgsqlConnection(database.PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT name, sealed FROM data_protection_keys UNION ALL SELECT name, value FROM cluster_secrets WHERE name = '{ClusterSecrets.CheckName}'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            rows[reader.GetString(0)] = (byte[])reader[1];
        }

        return rows;
    }

    private static void WriteKey(string dataDirectory, string fileName, string base64)
    {
        var path = Path.Combine(dataDirectory, "keys", fileName);
        DataFiles.CreatePrivateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, base64 + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, DataFiles.PrivateFile);
        }
    }

    private static string KeyFile(HomeroomHost node, string name) => Path.Combine(node.DataDirectory, "keys", name);

    [Fact]
    public async Task Rotation_ReSealsEveryKeyWithTheNewKey_NodesServeThroughout_AndTheNewKeyAloneReadsWhatWasProtectedBefore()
    {
        await using var a = await HomeroomHost.StartAsync(DatabaseProvider.Postgres);
        await using var b = await HomeroomHost.StartNodeWithOwnDataAsync(a);
        var protectedBefore = a.GetService<IDataProtectionProvider>().CreateProtector("test").Protect("before the rotation");
        var ca = a.GetService<DeviceCertificateAuthority>().Certificate.Thumbprint;
        var oldKey = (await File.ReadAllTextAsync(KeyFile(a, ClusterKey.FileName))).Trim();
        var before = await SealedAsync(a.Database);
        before.Count.ShouldBeGreaterThanOrEqualTo(2);

        // Rotating with no next key is refused.
        await Should.ThrowAsync<InvalidOperationException>(() => b.GetService<ClusterKeyRotation>().RotateAsync());

        // 1. A next key, copied to the other node.
        a.GetService<ClusterKeyRotation>().CreateNext().ShouldContain(ClusterKey.NextFileName);
        Should.Throw<InvalidOperationException>(() => a.GetService<ClusterKeyRotation>().CreateNext());
        HomeroomHost.CopyPrivate(KeyFile(a, ClusterKey.NextFileName), KeyFile(b, ClusterKey.NextFileName));
        var newKey = (await File.ReadAllTextAsync(KeyFile(a, ClusterKey.NextFileName))).Trim();
        // Adopting before the database is rotated is refused.
        (await Should.ThrowAsync<InvalidOperationException>(() => b.GetService<ClusterKeyRotation>().AdoptAsync())).Message.ShouldContain("rotate");

        // 2. Rotated through node B: every row sealed with the new key only, the values inside unchanged.
        (await b.GetService<ClusterKeyRotation>().RotateAsync()).ShouldBe(before.Count - 1);
        var after = await SealedAsync(a.Database);
        after.Keys.Order(StringComparer.Ordinal).ShouldBe(before.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, sealedValue) in after)
        {
            ClusterKey.Opens(Convert.FromBase64String(oldKey), sealedValue, name).ShouldBeFalse(name);
            ClusterKey.OpenWith(Convert.FromBase64String(newKey), sealedValue, name)
                .ShouldBe(ClusterKey.OpenWith(Convert.FromBase64String(oldKey), before[name], name), name);
        }

        // Both nodes go on: a data-protection key made now by node A (as every 90 days) is sealed with the new key and read by node B.
        var now = DateTimeOffset.UtcNow;
        var made = a.GetService<IKeyManager>().CreateNewKey(now, now.AddDays(90));
        var stored = (await SealedAsync(a.Database)).Single(r => !before.ContainsKey(r.Key));
        ClusterKey.Opens(Convert.FromBase64String(newKey), stored.Value, stored.Key).ShouldBeTrue();
        b.GetService<IKeyManager>().GetAllKeys().ShouldContain(k => k.KeyId == made.KeyId);
        b.GetService<IDataProtectionProvider>().CreateProtector("test").Unprotect(protectedBefore).ShouldBe("before the rotation");

        // 3. Each node adopts the new key; the old one is kept aside.
        foreach (var node in new[] { a, b })
        {
            (await node.GetService<ClusterKeyRotation>().AdoptAsync()).ShouldContain(ClusterKey.OldFileName);
            (await File.ReadAllTextAsync(KeyFile(node, ClusterKey.FileName))).Trim().ShouldBe(newKey);
            (await File.ReadAllTextAsync(KeyFile(node, ClusterKey.OldFileName))).Trim().ShouldBe(oldKey);
            File.Exists(KeyFile(node, ClusterKey.NextFileName)).ShouldBeFalse();
            if (!OperatingSystem.IsWindows())
            {
                File.GetUnixFileMode(KeyFile(node, ClusterKey.OldFileName)).ShouldBe(DataFiles.PrivateFile);
            }
        }

        // A node holding only the new key reads what was protected before the rotation, and has the cluster's CA.
        var fresh = HomeroomHost.NewDataDirectory();
        WriteKey(fresh, ClusterKey.FileName, newKey);
        await using (var c = await HomeroomHost.StartNodeAsync(a.Database, fresh))
        {
            c.GetService<IDataProtectionProvider>().CreateProtector("test").Unprotect(protectedBefore).ShouldBe("before the rotation");
            c.GetService<DeviceCertificateAuthority>().Certificate.Thumbprint.ShouldBe(ca);
        }

        // A node holding only the old key refuses to start, naming what to copy.
        var stale = HomeroomHost.NewDataDirectory();
        WriteKey(stale, ClusterKey.FileName, oldKey);
        (await Should.ThrowAsync<InvalidOperationException>(() => HomeroomHost.StartNodeAsync(a.Database, stale))).Message.ShouldContain(ClusterKey.NextFileName);
    }
}
