using System.Security.Cryptography;
using Homeroom.Server.Data;
using Microsoft.AspNetCore.DataProtection;

namespace Homeroom.Server.Scripts;

/// <summary>
/// The server's script-signing key (ECDSA P-256): it signs each script version a district administrator approves, and
/// its public half goes to every agent in the welcome frame. Kept like the Apple device CA, encrypted with the server's
/// data-protection keys in the <see cref="SecretStore"/>: on SQLite in <c>data/scripts/signing-key.bin</c>, readable by
/// the server's user only (back up <c>data/keys</c> with <c>data/scripts</c>); on PostgreSQL in the database, one key
/// for every node, so an agent connected to any node verifies what any node signed.
/// </summary>
public sealed class ScriptSigningKey : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public ScriptSigningKey(SecretStore secrets, IDataProtectionProvider protection, ILogger<ScriptSigningKey> logger)
    {
        var protector = protection.CreateProtector("Homeroom.Scripts.SigningKey");
        // Made once: on PostgreSQL two nodes making it at the same time both end with the one stored first.
        var stored = secrets.GetOrAdd(SecretNames.ScriptSigningKey, () =>
        {
            ScriptsLog.KeyCreated(logger, secrets.Describe(SecretNames.ScriptSigningKey));
            return protector.Protect(_key.ExportPkcs8PrivateKey());
        });
        _key.ImportPkcs8PrivateKey(protector.Unprotect(stored), out _);
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
