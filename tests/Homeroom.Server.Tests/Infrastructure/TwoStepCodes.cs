using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// RFC 6238 time-based codes written out in full from the RFC (HMAC-SHA-1 over the 30-second step
/// counter, dynamic truncation, 6 digits): what an authenticator app on a phone computes, written here
/// independently of the library the server uses, so the tests check the server against the standard.
/// </summary>
public static class TwoStepCodes
{
    public static string At(string base32Secret, DateTimeOffset time, int digits = 6) => ForStep(FromBase32(base32Secret), time.ToUnixTimeSeconds() / 30, digits);

    public static string ForStep(byte[] key, long step, int digits = 6)
    {
        Span<byte> counter = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(counter, step);
        var hash = HMACSHA1.HashData(key, counter);
        var offset = hash[^1] & 0x0f;
        var binary = ((hash[offset] & 0x7f) << 24) | (hash[offset + 1] << 16) | (hash[offset + 2] << 8) | hash[offset + 3];
        var modulus = (int)Math.Pow(10, digits);
        return (binary % modulus).ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(digits, '0');
    }

    public static byte[] FromBase32(string text)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bytes = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var c in text.TrimEnd('=').ToUpperInvariant())
        {
            buffer = (buffer << 5) | alphabet.IndexOf(c, StringComparison.Ordinal);
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }

        return [.. bytes];
    }
}
