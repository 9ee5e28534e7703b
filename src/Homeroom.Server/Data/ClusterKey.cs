using System.Security.Cryptography;
using System.Text;

namespace Homeroom.Server.Data;

/// <summary>
/// On PostgreSQL, the key that seals the data-protection key ring in the database (<see cref="DatabaseKeyRepository"/>):
/// 32 random bytes, base64, in <c>data/keys/cluster.key</c> (owner-only), made by the first node and copied by hand to
/// every other node's data directory. The database holds only sealed keys, so a dump or a read-only role does not give
/// away what signs cookies and encrypts the CA and stored secrets, as before, when the keys were files beside the
/// server and never in the database. Sealed with AES-256-GCM; the row's name is authenticated with it, so a sealed key
/// cannot be moved to another row. Unused on SQLite.
/// <para>
/// Rotation (<see cref="ClusterKeyRotation"/>): a node may also hold the next key, <c>keys/cluster.key.next</c>. It opens
/// what either key sealed (reading the files again when neither opens a value, so a next key copied in while it runs is
/// found), and seals with the key the database's check value is sealed with: the old key until the rotation re-sealed
/// everything, the new one after, whichever of its files a node holds.
/// </para>
/// </summary>
public sealed class ClusterKey(DatabaseOptions database)
{
    public const string FileName = "cluster.key";

    /// <summary>The key a rotation moves to, copied to every node before the rotation.</summary>
    public const string NextFileName = "cluster.key.next";

    /// <summary>The key a node held before it adopted the rotated one (kept for restoring a database backup made before the rotation).</summary>
    public const string OldFileName = "cluster.key.old";

    internal const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private const byte Format = 1;

    private readonly Lock _lock = new();
    private byte[]? _key;
    private byte[]? _next;

    /// <summary>Where the key is: <c>keys/cluster.key</c> in the data directory.</summary>
    public string FilePath => Path.Combine(DataFiles.KeysDirectory(database.DataDirectory), FileName);

    /// <summary>Where the next key is during a rotation: <c>keys/cluster.key.next</c>.</summary>
    public string NextFilePath => Path.Combine(DataFiles.KeysDirectory(database.DataDirectory), NextFileName);

    /// <summary>Where <see cref="ClusterKeyRotation"/> leaves the key a node held before the rotation.</summary>
    public string OldFilePath => Path.Combine(DataFiles.KeysDirectory(database.DataDirectory), OldFileName);

    /// <summary>True when this process made the file (the first node of a new cluster, or an upgraded single node).</summary>
    public bool Created { get; private set; }

    /// <summary>Encrypts <paramref name="plaintext"/> for the row <paramref name="name"/> with this node's key (a new cluster's check value).</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, string name) => SealWith(Keys()[0], plaintext, name);

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> for the row <paramref name="name"/> with the key that sealed the cluster's
    /// check value <paramref name="check"/> (the cluster's key, before or after a rotation); a
    /// <see cref="CryptographicException"/> when this node holds no such key.
    /// </summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, string name, byte[] check) => SealWith(KeyOf(check, ClusterSecrets.CheckName), plaintext, name);

    /// <summary>Decrypts what <see cref="Seal(ReadOnlySpan{byte}, string)"/> made for <paramref name="name"/>; a <see cref="CryptographicException"/> when no key this node holds sealed it, or it was changed.</summary>
    public byte[] Open(byte[] sealedBytes, string name) => OpenWith(KeyOf(sealedBytes, name), sealedBytes, name);

    /// <summary>Reads the key files again (a next key copied in, a rotated key adopted).</summary>
    public void Reload()
    {
        lock (_lock)
        {
            _key = null;
            _next = null;
        }
    }

    /// <summary>This node's next key, null when it holds none.</summary>
    internal byte[]? NextKey()
    {
        var keys = Keys();
        return keys.Count > 1 ? keys[1] : null;
    }

    internal static byte[] SealWith(byte[] key, ReadOnlySpan<byte> plaintext, string name)
    {
        var sealedBytes = new byte[1 + NonceBytes + TagBytes + plaintext.Length];
        sealedBytes[0] = Format;
        var nonce = sealedBytes.AsSpan(1, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(1 + NonceBytes + TagBytes), sealedBytes.AsSpan(1 + NonceBytes, TagBytes), Encoding.UTF8.GetBytes(name));
        return sealedBytes;
    }

    internal static byte[] OpenWith(byte[] key, byte[] sealedBytes, string name)
    {
        if (sealedBytes.Length < 1 + NonceBytes + TagBytes || sealedBytes[0] != Format)
        {
            throw new CryptographicException($"The sealed value of {name} is not in a known format.");
        }

        var plaintext = new byte[sealedBytes.Length - 1 - NonceBytes - TagBytes];
        using var aes = new AesGcm(key, TagBytes);
        aes.Decrypt(sealedBytes.AsSpan(1, NonceBytes), sealedBytes.AsSpan(1 + NonceBytes + TagBytes), sealedBytes.AsSpan(1 + NonceBytes, TagBytes), plaintext, Encoding.UTF8.GetBytes(name));
        return plaintext;
    }

    /// <summary>Whether <paramref name="key"/> opens <paramref name="sealedBytes"/> made for <paramref name="name"/>.</summary>
    internal static bool Opens(byte[] key, byte[] sealedBytes, string name)
    {
        try
        {
            OpenWith(key, sealedBytes, name);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    // The key this node holds that opens the value; the files are read again once when none does.
    private byte[] KeyOf(byte[] sealedBytes, string name)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (Keys().FirstOrDefault(k => Opens(k, sealedBytes, name)) is { } key)
            {
                return key;
            }

            Reload();
        }

        throw new CryptographicException($"No cluster key this node holds ({FilePath}, {NextFilePath}) opens the sealed value of {name}.");
    }

    private List<byte[]> Keys()
    {
        lock (_lock)
        {
            _key ??= LoadOrCreate();
            _next ??= File.Exists(NextFilePath) ? Load(NextFilePath) : null;
            return _next is null ? [_key] : [_key, _next];
        }
    }

    private byte[] LoadOrCreate()
    {
        if (File.Exists(FilePath))
        {
            return Load(FilePath);
        }

        if (WriteNew(FilePath))
        {
            Created = true;
        }

        return Load(FilePath);
    }

    /// <summary>Writes a new random key to <paramref name="path"/> (owner-only, flushed, never over an existing file); false when a file was there first.</summary>
    internal static bool WriteNew(string path)
    {
        DataFiles.CreatePrivateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = DataFiles.PrivateFile;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes)) + "\n"));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process on this data directory made it first: use that one.
            return false;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    internal static byte[] Load(string path)
    {
        byte[]? key = null;
        try
        {
            key = Convert.FromBase64String(File.ReadAllText(path).Trim());
        }
        catch (FormatException)
        {
        }

        return key is { Length: KeyBytes }
            ? key
            : throw new InvalidOperationException($"{path} does not hold a cluster key (base64 of {KeyBytes} bytes). Copy the file from a node of this cluster.");
    }
}
