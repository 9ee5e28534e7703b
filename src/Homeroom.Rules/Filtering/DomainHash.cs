using System.Runtime.CompilerServices;

namespace Homeroom.Rules.Filtering;

/// <summary>
/// A 64-bit hash of a host name computed from its last character to its first, so one pass over
/// a host yields the hash of every suffix that starts at a label boundary
/// (<c>com</c>, <c>example.com</c>, <c>www.example.com</c>). Hosts are hashed as ASCII lower case;
/// callers normalise first (<see cref="FilterUrl"/>).
/// </summary>
internal static class DomainHash
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    /// <summary>The hash of a whole normalised host.</summary>
    public static ulong Of(ReadOnlySpan<char> host)
    {
        var h = Offset;
        for (var i = host.Length - 1; i >= 0; i--)
        {
            h = Step(h, host[i]);
        }

        return h;
    }

    /// <summary>Adds one character (already lower case) to a running hash.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Step(ulong h, char c) => (h ^ c) * Prime;

    /// <summary>Spreads the bits so the low bits can index a table (the MurmurHash3 finaliser).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53UL;
        h ^= h >> 33;
        return h;
    }
}
