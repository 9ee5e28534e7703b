using System.Buffers.Binary;
using System.Buffers.Text;
using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// A security key in software, written from the WebAuthn Level 2 specification (§6.1 authenticator data, §6.5.1
/// attested credential data, §8.7 the "none" attestation, COSE EC2 keys from RFC 9053) with the runtime's ECDSA and
/// CBOR writer, independently of the library the server verifies with: what a USB key and a browser would send back.
/// Its signature counter can be set, to play a cloned key.
/// </summary>
public sealed class SoftwareSecurityKey : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public byte[] CredentialId { get; } = RandomNumberGenerator.GetBytes(32);

    public Guid Aaguid { get; } = Guid.NewGuid();

    /// <summary>The counter the next signature carries (raised by one before each signature).</summary>
    public uint Counter { get; set; }

    public string CredentialIdText => Base64Url.EncodeToString(CredentialId);

    /// <summary>The COSE_Key of the public key (kty EC2, alg ES256, crv P-256, x, y).</summary>
    public byte[] CosePublicKey()
    {
        var parameters = _key.ExportParameters(false);
        var writer = new CborWriter(CborConformanceMode.Ctap2Canonical);
        writer.WriteStartMap(5);
        writer.WriteInt32(1);
        writer.WriteInt32(2);
        writer.WriteInt32(3);
        writer.WriteInt32(-7);
        writer.WriteInt32(-1);
        writer.WriteInt32(1);
        writer.WriteInt32(-2);
        writer.WriteByteString(parameters.Q.X!);
        writer.WriteInt32(-3);
        writer.WriteByteString(parameters.Q.Y!);
        writer.WriteEndMap();
        return writer.Encode();
    }

    /// <summary>The answer to <c>navigator.credentials.create</c> for these options (the server's JSON), as the browser's toJSON() gives it.</summary>
    public string Attest(string optionsJson, string origin, string? challengeOverride = null)
    {
        using var options = JsonDocument.Parse(optionsJson);
        var challenge = challengeOverride ?? options.RootElement.GetProperty("challenge").GetString()!;
        var rpId = options.RootElement.GetProperty("rp").GetProperty("id").GetString()!;
        var clientData = ClientData("webauthn.create", challenge, origin);

        var authData = new List<byte>();
        authData.AddRange(SHA256.HashData(Encoding.UTF8.GetBytes(rpId)));
        authData.Add(0x41); // UP | AT
        authData.AddRange(BigEndian(Counter));
        authData.AddRange(Aaguid.ToByteArray(bigEndian: true));
        authData.Add((byte)(CredentialId.Length >> 8));
        authData.Add((byte)CredentialId.Length);
        authData.AddRange(CredentialId);
        authData.AddRange(CosePublicKey());

        var writer = new CborWriter(CborConformanceMode.Ctap2Canonical);
        writer.WriteStartMap(3);
        writer.WriteTextString("fmt");
        writer.WriteTextString("none");
        writer.WriteTextString("attStmt");
        writer.WriteStartMap(0);
        writer.WriteEndMap();
        writer.WriteTextString("authData");
        writer.WriteByteString([.. authData]);
        writer.WriteEndMap();

        return JsonSerializer.Serialize(new
        {
            id = CredentialIdText,
            rawId = CredentialIdText,
            type = "public-key",
            response = new { clientDataJSON = Base64Url.EncodeToString(clientData), attestationObject = Base64Url.EncodeToString(writer.Encode()), transports = new[] { "usb" } },
            clientExtensionResults = new { },
        });
    }

    /// <summary>The answer to <c>navigator.credentials.get</c> for these options: a signature over the authenticator data and the client data's hash.</summary>
    public string Assert(string optionsJson, string origin, string? challengeOverride = null)
    {
        using var options = JsonDocument.Parse(optionsJson);
        var challenge = challengeOverride ?? options.RootElement.GetProperty("challenge").GetString()!;
        var rpId = options.RootElement.GetProperty("rpId").GetString()!;
        var clientData = ClientData("webauthn.get", challenge, origin);
        Counter++;
        byte[] authData = [.. SHA256.HashData(Encoding.UTF8.GetBytes(rpId)), 0x01, .. BigEndian(Counter)];
        var signature = _key.SignData([.. authData, .. SHA256.HashData(clientData)], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return JsonSerializer.Serialize(new
        {
            id = CredentialIdText,
            rawId = CredentialIdText,
            type = "public-key",
            response = new
            {
                clientDataJSON = Base64Url.EncodeToString(clientData),
                authenticatorData = Base64Url.EncodeToString(authData),
                signature = Base64Url.EncodeToString(signature),
                userHandle = (string?)null,
            },
            clientExtensionResults = new { },
        });
    }

    public void Dispose() => _key.Dispose();

    private static byte[] ClientData(string type, string challenge, string origin) =>
        JsonSerializer.SerializeToUtf8Bytes(new { type, challenge, origin, crossOrigin = false });

    private static byte[] BigEndian(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }
}
