using System.Security.Cryptography;
using Homeroom.Server.Apple;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.DataProtection;

namespace Homeroom.Server.Scripts;

/// <summary>
/// The server's script-signing key (ECDSA P-256): it signs each script version a district administrator approves, and
/// its public half goes to every agent in the welcome frame. Kept like the Apple device CA: in the data directory
/// (<c>data/scripts/signing-key.bin</c>), encrypted with the server's data-protection keys, readable by the server's
/// user only (back up <c>data/keys</c> with <c>data/scripts</c>; several servers share one data directory's files).
/// </summary>
public sealed class ScriptSigningKey : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public ScriptSigningKey(DatabaseOptions database, IDataProtectionProvider protection, ILogger<ScriptSigningKey> logger)
    {
        var directory = PrivateFiles.Directory(Path.Combine(database.DataDirectory, "scripts"));
        var file = Path.Combine(directory, "signing-key.bin");
        var protector = protection.CreateProtector("Homeroom.Scripts.SigningKey");
        if (File.Exists(file))
        {
            PrivateFiles.Restrict(file);
            _key.ImportPkcs8PrivateKey(protector.Unprotect(File.ReadAllBytes(file)), out _);
        }
        else
        {
            PrivateFiles.Write(file, protector.Protect(_key.ExportPkcs8PrivateKey()));
            ScriptsLog.KeyCreated(logger, file);
        }

        PublicKey = _key.ExportSubjectPublicKeyInfo();
        PublicKeyBase64 = Convert.ToBase64String(PublicKey);
    }

    /// <summary>The public key, SubjectPublicKeyInfo DER.</summary>
    public byte[] PublicKey { get; }

    /// <summary>The public key as the welcome frame carries it.</summary>
    public string PublicKeyBase64 { get; }

    /// <summary>Signs a payload (SHA-256, IEEE P1363 r‖s).</summary>
    public byte[] Sign(byte[] payload) => _key.SignData(payload, HashAlgorithmName.SHA256);

    public void Dispose() => _key.Dispose();
}
