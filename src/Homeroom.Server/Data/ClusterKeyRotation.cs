using Npgsql;

namespace Homeroom.Server.Data;

/// <summary>
/// Replaces a PostgreSQL cluster's <see cref="ClusterKey"/> without losing what it seals, in three steps an operator runs
/// with the server's command line (<c>Homeroom.Server cluster-key new|rotate|adopt</c>, see docs/operations.md), every
/// node serving throughout:
/// <list type="number">
/// <item><see cref="CreateNext"/> on one node writes a new key to <c>keys/cluster.key.next</c>; the operator copies that
/// file to every other node's data directory. A node holding it opens what either key sealed and still seals with the old
/// one (the key the database's check value is sealed with).</item>
/// <item><see cref="RotateAsync"/> on one node re-seals the check value and every data-protection key with the next key
/// in one transaction. From then on every node seals with the new key and still opens both.</item>
/// <item><see cref="AdoptAsync"/> on every node makes the next key its key (<c>keys/cluster.key</c>), keeping the old one
/// as <c>keys/cluster.key.old</c> for restoring a database backup made before the rotation; refused until the database
/// is rotated. A node that restarts with only the old key after step 2 refuses to start and names the file to copy.</item>
/// </list>
/// What the data-protection keys protect (cookies, the CA, stored secrets) is not touched: those keys themselves do not
/// change, only the key that seals them in the database.
/// </summary>
public sealed class ClusterKeyRotation(DatabaseOptions database, ClusterKey clusterKey, ILogger<ClusterKeyRotation> logger)
{
    /// <summary>Step 1: writes <c>keys/cluster.key.next</c>; returns what the operator does next.</summary>
    public string CreateNext()
    {
        EnsurePostgres();
        if (File.Exists(clusterKey.NextFilePath))
        {
            throw new InvalidOperationException(
                $"{clusterKey.NextFilePath} exists already: a rotation is under way. Copy it to every node and run `cluster-key rotate`, or delete it on every node to start again.");
        }

        ClusterKey.WriteNew(clusterKey.NextFilePath);
        clusterKey.Reload();
        DataLog.ClusterKeyRotation(logger, $"made the next key {clusterKey.NextFilePath}");
        return $"Wrote {clusterKey.NextFilePath}. Copy it (owner-only) to keys/{ClusterKey.NextFileName} in the data directory of every other node, then run `cluster-key rotate` on one node.";
    }

    /// <summary>Step 2: re-seals the check value and every data-protection key with the next key; returns how many keys were re-sealed.</summary>
    public async Task<int> RotateAsync(CancellationToken cancellationToken = default)
    {
        EnsurePostgres();
        clusterKey.Reload();
        var next = clusterKey.NextKey()
            ?? throw new InvalidOperationException($"There is no {clusterKey.NextFilePath}: run `cluster-key new` first and copy the file to every node.");

        await using var connection = new NpgsqlConnection(database.PostgresConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The check value first, locked: a node storing a key meanwhile either finished (and its key is re-sealed below) or waits and then seals with the new key.
        byte[] check;
        await using (var read = new NpgsqlCommand("SELECT value FROM cluster_secrets WHERE name = @name FOR UPDATE", connection, transaction))
        {
            read.Parameters.AddWithValue("name", ClusterSecrets.CheckName);
            check = await read.ExecuteScalarAsync(cancellationToken) as byte[]
                ?? throw new InvalidOperationException("The database holds no cluster key check value: start a node on it first.");
        }

        await UpdateAsync(connection, transaction, "UPDATE cluster_secrets SET value = @sealed, updated_at = now() WHERE name = @name",
            ClusterSecrets.CheckName, ClusterKey.SealWith(next, clusterKey.Open(check, ClusterSecrets.CheckName), ClusterSecrets.CheckName), cancellationToken);

        var keys = new List<(string Name, byte[] Sealed)>();
        await using (var read = new NpgsqlCommand("SELECT name, sealed FROM data_protection_keys ORDER BY name FOR UPDATE", connection, transaction))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add((reader.GetString(0), (byte[])reader[1]));
            }
        }

        foreach (var (name, sealedKey) in keys)
        {
            await UpdateAsync(connection, transaction, "UPDATE data_protection_keys SET sealed = @sealed WHERE name = @name",
                name, ClusterKey.SealWith(next, clusterKey.Open(sealedKey, name), name), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        DataLog.ClusterKeyRotation(logger, $"re-sealed the check value and {keys.Count} data-protection key(s) with the next key");
        return keys.Count;
    }

    /// <summary>Step 3: on this node, the next key becomes the key and the old one <c>keys/cluster.key.old</c>; refused until the database is rotated.</summary>
    public async Task<string> AdoptAsync(CancellationToken cancellationToken = default)
    {
        EnsurePostgres();
        clusterKey.Reload();
        var next = clusterKey.NextKey()
            ?? throw new InvalidOperationException($"There is no {clusterKey.NextFilePath} on this node: copy it from the node that made it.");
        await using (var connection = new NpgsqlConnection(database.PostgresConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            if (DatabaseSecretStore.Read(connection, ClusterSecrets.CheckName) is not { } check || !ClusterKey.Opens(next, check, ClusterSecrets.CheckName))
            {
                throw new InvalidOperationException("The database is not sealed with the next key yet: run `cluster-key rotate` on one node first.");
            }
        }

        File.Copy(clusterKey.FilePath, clusterKey.OldFilePath, overwrite: true);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(clusterKey.OldFilePath, DataFiles.PrivateFile);
        }

        File.Move(clusterKey.NextFilePath, clusterKey.FilePath, overwrite: true);
        clusterKey.Reload();
        DataLog.ClusterKeyRotation(logger, $"this node now holds the rotated key in {clusterKey.FilePath}");
        return $"{clusterKey.FilePath} is the rotated key; the old one is {clusterKey.OldFilePath}: delete it once no database backup from before the rotation needs restoring.";
    }

    private void EnsurePostgres()
    {
        if (database.Provider != DatabaseProvider.Postgres)
        {
            throw new InvalidOperationException("The cluster key exists only on PostgreSQL; a SQLite server keeps its keys as files in its data directory.");
        }
    }

    private static async Task UpdateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, string name, byte[] sealedValue, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("sealed", sealedValue);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
