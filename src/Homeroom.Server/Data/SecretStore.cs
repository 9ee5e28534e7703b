using Homeroom.Server.Apple;
using Npgsql;

namespace Homeroom.Server.Data;

/// <summary>The node-wide secrets, named by the path of the file that holds each one on SQLite.</summary>
public static class SecretNames
{
    public const string DeviceCa = "apple/device-ca.bin";
    public const string PushCertificate = "apple/push-certificate.bin";
    public const string PushRequest = "apple/push-request.bin";
    public const string AsmKey = "apple/asm-key.bin";
    public const string ScriptSigningKey = "scripts/signing-key.bin";

    /// <summary>Every secret, as an upgraded node imports them from its files (<see cref="ClusterSecrets"/>).</summary>
    public static readonly IReadOnlyList<string> All = [DeviceCa, PushCertificate, PushRequest, AsmKey, ScriptSigningKey];
}

/// <summary>
/// Where the node-wide secrets live (each already encrypted with data protection by its owner): files in the data
/// directory on SQLite (<see cref="FileSecretStore"/>, one node), rows every node shares on PostgreSQL
/// (<see cref="DatabaseSecretStore"/>). Synchronous: the owners read them in their constructors, once.
/// </summary>
public abstract class SecretStore
{
    /// <summary>Whether other nodes may change a secret meanwhile (an owner that caches one looks again now and then).</summary>
    public abstract bool Shared { get; }

    /// <summary>The stored value, or null when there is none.</summary>
    public abstract byte[]? Read(string name);

    /// <summary>
    /// The stored value, or, when there is none, the one <paramref name="create"/> makes, stored once: of two nodes doing
    /// this at once, one value is kept and both return it (the loser's is discarded).
    /// </summary>
    public abstract byte[] GetOrAdd(string name, Func<byte[]> create);

    /// <summary>Stores <paramref name="value"/>, replacing any.</summary>
    public abstract void Write(string name, byte[] value);

    public abstract void Delete(string name);

    /// <summary>Where a secret is, for logs.</summary>
    public abstract string Describe(string name);
}

/// <summary>
/// The secrets as files under the data directory (<c>apple/device-ca.bin</c> ...), as every version before kept them:
/// owner-only (0600 in a 0700 directory), written whole through a temporary file, narrowed when found wider.
/// </summary>
public sealed class FileSecretStore(string dataDirectory) : SecretStore
{
    public override bool Shared => false;

    public override byte[]? Read(string name)
    {
        var path = PathOf(name);
        if (!File.Exists(path))
        {
            return null;
        }

        PrivateFiles.Restrict(path);
        return File.ReadAllBytes(path);
    }

    public override byte[] GetOrAdd(string name, Func<byte[]> create)
    {
        if (Read(name) is { } stored)
        {
            return stored;
        }

        var value = create();
        Write(name, value);
        return value;
    }

    public override void Write(string name, byte[] value) => PrivateFiles.Write(PathOf(name), value);

    public override void Delete(string name) => File.Delete(PathOf(name));

    public override string Describe(string name) => PathOf(name);

    /// <summary>The file of <paramref name="name"/>; its directory is created owner-only.</summary>
    public string PathOf(string name)
    {
        if (!SecretNames.All.Contains(name))
        {
            throw new ArgumentOutOfRangeException(nameof(name), name, "Not a known secret.");
        }

        var path = Path.Combine(dataDirectory, name);
        PrivateFiles.Directory(Path.GetDirectoryName(path)!);
        return path;
    }
}

/// <summary>
/// The secrets in PostgreSQL's <c>cluster_secrets</c>, one row per name, shared by every node. A secret is created
/// once: insert-if-absent on the primary key, then read back, so of two nodes creating it at the same time both end
/// with the one that was inserted first. Values are the same data-protected bytes the files held.
/// </summary>
public sealed class DatabaseSecretStore(DatabaseOptions database) : SecretStore
{
    public override bool Shared => true;

    public override byte[]? Read(string name)
    {
        using var connection = Open();
        return Read(connection, name);
    }

    public override byte[] GetOrAdd(string name, Func<byte[]> create)
    {
        using var connection = Open();
        if (Read(connection, name) is { } stored)
        {
            return stored;
        }

        var value = create();
        Insert(connection, name, value);
        return Read(connection, name) ?? throw new InvalidOperationException($"The secret {name} was stored but cannot be read back.");
    }

    public override void Write(string name, byte[] value)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand(
            "INSERT INTO cluster_secrets (name, value) VALUES (@name, @value) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = now()",
            connection);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("value", value);
        command.ExecuteNonQuery();
    }

    public override void Delete(string name)
    {
        using var connection = Open();
        using var command = new NpgsqlCommand("DELETE FROM cluster_secrets WHERE name = @name", connection);
        command.Parameters.AddWithValue("name", name);
        command.ExecuteNonQuery();
    }

    public override string Describe(string name) => $"the database (cluster_secrets '{name}')";

    /// <summary>Inserts unless a value is stored; true when this one was.</summary>
    internal static bool Insert(NpgsqlConnection connection, string name, byte[] value)
    {
        using var command = new NpgsqlCommand("INSERT INTO cluster_secrets (name, value) VALUES (@name, @value) ON CONFLICT (name) DO NOTHING", connection);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("value", value);
        return command.ExecuteNonQuery() == 1;
    }

    internal static byte[]? Read(NpgsqlConnection connection, string name)
    {
        using var command = new NpgsqlCommand("SELECT value FROM cluster_secrets WHERE name = @name", connection);
        command.Parameters.AddWithValue("name", name);
        return command.ExecuteScalar() as byte[];
    }

    private NpgsqlConnection Open()
    {
        var connection = new NpgsqlConnection(database.PostgresConnectionString);
        connection.Open();
        return connection;
    }
}
