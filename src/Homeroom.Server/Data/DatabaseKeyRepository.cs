using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;

namespace Homeroom.Server.Data;

/// <summary>
/// On PostgreSQL, the data-protection key ring (which signs session cookies and anti-forgery tokens and encrypts the
/// stored secrets) in <c>data_protection_keys</c>, one row per key, shared by every node; each key's XML sealed with
/// the <see cref="ClusterKey"/>. A few lines over Npgsql rather than Microsoft.AspNetCore.DataProtection.EntityFrameworkCore:
/// that package keeps each key's XML in clear text in an entity the one DbContext would have to carry on SQLite too,
/// and sealing it would need an XML encryptor whose type name is written into every key. Keys are added, never changed
/// or removed (data protection expires them; what an old key protected stays readable).
/// </summary>
public sealed class DatabaseKeyRepository(DatabaseOptions database, ClusterKey clusterKey) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = Open();
        using var command = new NpgsqlCommand("SELECT name, sealed FROM data_protection_keys ORDER BY created_at, name", connection);
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            var name = reader.GetString(0);
            elements.Add(XElement.Parse(Encoding.UTF8.GetString(clusterKey.Open((byte[])reader[1], name))));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = Open();
        Insert(connection, element, IsSafeName(friendlyName) ? friendlyName : Guid.NewGuid().ToString("N"));
    }

    /// <summary>The names of the stored keys.</summary>
    internal static HashSet<string> Names(NpgsqlConnection connection)
    {
        using var command = new NpgsqlCommand("SELECT name FROM data_protection_keys", connection);
        using var reader = command.ExecuteReader();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    /// <summary>
    /// Stores a key unless one of that name is stored (an import run twice adds nothing), sealed with the key that sealed
    /// the cluster's check value: read under a share lock, so a <see cref="ClusterKeyRotation"/> (which updates the check
    /// value first) either waits for this key and re-seals it, or is seen whole.
    /// </summary>
    internal bool Insert(NpgsqlConnection connection, XElement element, string name)
    {
        using var transaction = connection.BeginTransaction();
        byte[]? check;
        using (var read = new NpgsqlCommand("SELECT value FROM cluster_secrets WHERE name = @name FOR SHARE", connection, transaction))
        {
            read.Parameters.AddWithValue("name", ClusterSecrets.CheckName);
            check = read.ExecuteScalar() as byte[];
        }

        var plaintext = Encoding.UTF8.GetBytes(element.ToString(SaveOptions.DisableFormatting));
        using var command = new NpgsqlCommand("INSERT INTO data_protection_keys (name, sealed) VALUES (@name, @sealed) ON CONFLICT (name) DO NOTHING", connection, transaction);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("sealed", check is null ? clusterKey.Seal(plaintext, name) : clusterKey.Seal(plaintext, name, check));
        var inserted = command.ExecuteNonQuery() == 1;
        transaction.Commit();
        return inserted;
    }

    private static bool IsSafeName(string name) =>
        name.Length is > 0 and <= 100 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private NpgsqlConnection Open()
    {
        var connection = new NpgsqlConnection(database.PostgresConnectionString);
        connection.Open();
        return connection;
    }
}
