using System.Security.Cryptography;
using System.Text;

namespace Homeroom.Server.Accounts;

/// <summary>Random secrets (device credentials, API keys, enrollment tokens) and their at-rest hashes.</summary>
public static class Secrets
{
    /// <summary>A 256-bit random secret, base64url, with a readable prefix saying what it is.</summary>
    public static string Create(string prefix) =>
        prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// SHA-256 in hex. Enough for 256-bit random secrets (no dictionary to guess from); passwords use
    /// <see cref="PasswordHasher"/> instead.
    /// </summary>
    public static string Hash(string secret) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>Constant-time comparison of a presented secret with a stored hash.</summary>
    public static bool Matches(string secret, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(secret)), Encoding.ASCII.GetBytes(storedHash));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
