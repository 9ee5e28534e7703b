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
/// </summary>
public sealed class ClusterKey(DatabaseOptions database)
{
    public const string FileName = "cluster.key";
    private const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private const byte Format = 1;

    private readonly Lock _lock = new();
    private byte[]? _key;

    /// <summary>Where the key is: <c>keys/cluster.key</c> in the data directory.</summary>
    public string FilePath => Path.Combine(DataFiles.KeysDirectory(database.DataDirectory), FileName);

    /// <summary>True when this process made the file (the first node of a new cluster, or an upgraded single node).</summary>
    public bool Created { get; private set; }

    /// <summary>Encrypts <paramref name="plaintext"/> for the row <paramref name="name"/>: format byte, nonce, tag, ciphertext.</summary>
    public byte[] Seal(ReadOnlySpan<byte> plaintext, string name)
    {
        var sealedBytes = new byte[1 + NonceBytes + TagBytes + plaintext.Length];
        sealedBytes[0] = Format;
        var nonce = sealedBytes.AsSpan(1, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(Key(), TagBytes);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(1 + NonceBytes + TagBytes), sealedBytes.AsSpan(1 + NonceBytes, TagBytes), Encoding.UTF8.GetBytes(name));
        return sealedBytes;
    }

    /// <summary>Decrypts what <see cref="Seal"/> made for <paramref name="name"/>; a <see cref="CryptographicException"/> when another key sealed it or it was changed.</summary>
    public byte[] Open(byte[] sealedBytes, string name)
    {
        if (sealedBytes.Length < 1 + NonceBytes + TagBytes || sealedBytes[0] != Format)
        {
            throw new CryptographicException($"The sealed value of {name} is not in a known format.");
        }

        var plaintext = new byte[sealedBytes.Length - 1 - NonceBytes - TagBytes];
        using var aes = new AesGcm(Key(), TagBytes);
        aes.Decrypt(sealedBytes.AsSpan(1, NonceBytes), sealedBytes.AsSpan(1 + NonceBytes + TagBytes), sealedBytes.AsSpan(1 + NonceBytes, TagBytes), plaintext, Encoding.UTF8.GetBytes(name));
        return plaintext;
    }

    private byte[] Key()
    {
        lock (_lock)
        {
            return _key ??= LoadOrCreate();
        }
    }

    private byte[] LoadOrCreate()
    {
        if (File.Exists(FilePath))
        {
            return Load();
        }

        DataFiles.CreatePrivateDirectory(Path.GetDirectoryName(FilePath)!);
        var temporary = FilePath + "." + Guid.NewGuid().ToString("N") + ".tmp";
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

            File.Move(temporary, FilePath, overwrite: false);
            Created = true;
        }
        catch (IOException) when (File.Exists(FilePath))
        {
            // Another process on this data directory made it first: use that one.
        }
        finally
        {
            File.Delete(temporary);
        }

        return Load();
    }

    private byte[] Load()
    {
        byte[]? key = null;
        try
        {
            key = Convert.FromBase64String(File.ReadAllText(FilePath).Trim());
        }
        catch (FormatException)
        {
        }

        return key is { Length: KeyBytes }
            ? key
            : throw new InvalidOperationException($"{FilePath} does not hold a cluster key (base64 of {KeyBytes} bytes). Copy the file from a node of this cluster.");
    }
}
