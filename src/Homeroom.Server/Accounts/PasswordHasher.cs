using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Homeroom.Server.Accounts;

/// <summary>
/// PBKDF2-SHA256 password hashes stored as <c>pbkdf2-sha256$iterations$salt$hash</c> (base64). Each
/// stored hash carries its own iteration count, so hashes made with another cost (an older default,
/// or the low one the tests configure) still verify.
/// </summary>
public static class PasswordHasher
{
    /// <summary>The cost of new hashes unless <see cref="AccountOptions.PasswordHashIterations"/> says otherwise.</summary>
    public const int DefaultIterations = 210_000;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const string Scheme = "pbkdf2-sha256";

    // The salt and hash part of a stored hash that is random bytes: checking a password against it does
    // the same work as a real check at any cost, and never matches.
    private static readonly string DummySaltAndHash =
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(SaltBytes)) + "$" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(HashBytes));

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));
    }

    /// <summary>
    /// Does the work of <see cref="Verify"/> against a hash that never matches, so that a sign-in for a
    /// name that does not exist (or a disabled account) takes as long as a wrong password for a real one
    /// hashed at <paramref name="iterations"/>.
    /// </summary>
    public static void VerifyDummy(string password, int iterations = DefaultIterations) =>
        Verify(password, string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), DummySaltAndHash));

    public static bool Verify(string password, string stored)
    {
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] != Scheme || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var iterations) || iterations < 1)
        {
            return false;
        }

        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
            var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
