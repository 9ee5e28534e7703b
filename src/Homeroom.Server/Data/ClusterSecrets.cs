using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Data;

/// <summary>
/// Readies the secrets the nodes of a PostgreSQL cluster share, once at each start, after the migrations and before
/// anything uses data protection, under a PostgreSQL advisory lock so nodes starting together take turns:
/// <list type="number">
/// <item>checks that this node's <see cref="ClusterKey"/> is the cluster's (the first node leaves a sealed check value;
/// a node with another key refuses to start, naming the file to copy);</item>
/// <item>imports an upgraded single node's files into a database that holds no data-protection key yet: the key ring
/// (<c>keys/*.xml</c>) and the secrets (<see cref="SecretNames"/>, copied as they are: the imported keys decrypt them),
/// so the upgrade keeps its CA, signing key and sessions; the files stay where they were, unused;</item>
/// <item>makes the cluster's first data-protection key when there is no active one, so nodes starting together do not
/// each make their own and then refuse each other's cookies until their key rings refresh.</item>
/// </list>
/// Nothing on SQLite, whose one node keeps its files as before.
/// </summary>
public sealed class ClusterSecrets(
    DatabaseOptions database, ClusterKey clusterKey, IKeyManager keyManager, IOptions<KeyManagementOptions> keyOptions, TimeProvider time, ILogger<ClusterSecrets> logger)
{
    /// <summary>The advisory lock nodes take turns on ("HRsecret").</summary>
    public const long LockKey = 0x4852_7365_6372_6574;

    /// <summary>The row in <c>cluster_secrets</c> that tells whether a node holds the cluster's key.</summary>
    public const string CheckName = "cluster-key-check";

    private static readonly byte[] CheckValue = "Homeroom cluster key check"u8.ToArray();

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (database.Provider != DatabaseProvider.Postgres)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(database.PostgresConnectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({LockKey})", cancellationToken);
        try
        {
            CheckClusterKey(connection);
            ImportFiles(connection);
            EnsureActiveKey();
        }
        finally
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({LockKey})", CancellationToken.None);
        }
    }

    private void CheckClusterKey(NpgsqlConnection connection)
    {
        if (DatabaseSecretStore.Insert(connection, CheckName, clusterKey.Seal(CheckValue, CheckName)))
        {
            DataLog.ClusterKeyAdopted(logger, clusterKey.FilePath);
            return;
        }

        try
        {
            clusterKey.Open(DatabaseSecretStore.Read(connection, CheckName)!, CheckName);
        }
        catch (CryptographicException)
        {
            throw new InvalidOperationException(
                $"{clusterKey.FilePath} is not the key of the cluster this database belongs to{(clusterKey.Created ? " (this node just made a new one)" : "")}: " +
                $"copy keys/{ClusterKey.FileName} from the data directory of a node of the cluster over it (after a rotation, the rotated key: " +
                $"keys/{ClusterKey.FileName} of a node that adopted it, or keys/{ClusterKey.NextFileName}), then start again.");
        }
    }

    private void ImportFiles(NpgsqlConnection connection)
    {
        var keysDirectory = DataFiles.KeysDirectory(database.DataDirectory);
        var keyFiles = Directory.Exists(keysDirectory) ? Directory.GetFiles(keysDirectory, "*.xml").Order(StringComparer.Ordinal).ToList() : [];
        var secretFiles = SecretNames.All.Where(name => File.Exists(Path.Combine(database.DataDirectory, name))).ToList();
        var stored = DatabaseKeyRepository.Names(connection);
        if (stored.Count == 0)
        {
            var repository = new DatabaseKeyRepository(database, clusterKey);
            foreach (var file in keyFiles)
            {
                repository.Insert(connection, XElement.Load(file), Path.GetFileNameWithoutExtension(file));
            }

            foreach (var name in secretFiles)
            {
                DatabaseSecretStore.Insert(connection, name, File.ReadAllBytes(Path.Combine(database.DataDirectory, name)));
            }

            if (keyFiles.Count + secretFiles.Count > 0)
            {
                DataLog.FilesImported(logger, keyFiles.Count, string.Join(", ", secretFiles), Path.GetFullPath(database.DataDirectory));
            }

            return;
        }

        // The cluster has its keys already: files of this node's own that differ are not used (and never imported
        // later: a key ring or a CA of one node's cannot be merged into the cluster's).
        var unused = keyFiles.Where(f => !stored.Contains(Path.GetFileNameWithoutExtension(f))).Select(f => Path.GetFileName(f))
            .Concat(secretFiles.Where(name => DatabaseSecretStore.Read(connection, name) is not { } value
                || !value.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(database.DataDirectory, name)))))
            .ToList();
        if (unused.Count > 0)
        {
            DataLog.FilesNotImported(logger, string.Join(", ", unused), Path.GetFullPath(database.DataDirectory));
        }
    }

    private void EnsureActiveKey()
    {
        var now = time.GetUtcNow();
        if (keyManager.GetAllKeys().Any(k => !k.IsRevoked && k.ActivationDate <= now && k.ExpirationDate > now))
        {
            return;
        }

        var key = keyManager.CreateNewKey(now, now + keyOptions.Value.NewKeyLifetime);
        DataLog.DataProtectionKeyCreated(logger, key.KeyId);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
