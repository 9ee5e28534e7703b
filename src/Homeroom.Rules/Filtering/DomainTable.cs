using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Homeroom.Rules.Filtering;

/// <summary>
/// An open-addressing set of host names, each with a small value (a category-set id, 1 to 65,535).
/// Each slot is one 64-bit word: a 48-bit fingerprint of the host's mixed hash and the 16-bit value,
/// so 5 million hosts take 64 MB and a lookup touches one cache line. Two different hosts are taken
/// for each other only when their 64-bit hashes land in the same probe run with the same 48-bit
/// fingerprint, about one lookup in 10^14; the names themselves are not kept.
/// Immutable once built; safe to read from many threads.
/// </summary>
internal sealed class DomainTable
{
    private const double MaxLoad = 0.62;
    private readonly ulong[] _slots;
    private readonly int _mask;

    // A one-hash Bloom filter over the hosts, about 8 bits per host: a host absent from it is
    // certainly absent from the table, so most lookups for unlisted hosts touch this smaller, more
    // cache-friendly array instead of the table (about one in nine still reaches the table).
    private readonly ulong[] _filter;
    private readonly int _filterMask;

    private DomainTable(ulong[] slots, int count)
    {
        _slots = slots;
        _mask = slots.Length - 1;
        Count = count;
        var bits = 64;
        while (bits < count * 8L && bits < 1 << 30)
        {
            bits <<= 1;
        }

        _filter = new ulong[bits / 64];
        _filterMask = bits - 1;
        foreach (var entry in slots)
        {
            if (entry != 0)
            {
                var bit = FilterBit(entry);
                _filter[bit >> 6] |= 1UL << (bit & 63);
            }
        }
    }

    /// <summary>Hosts held.</summary>
    public int Count { get; }

    /// <summary>Bytes held by the table.</summary>
    public long SizeBytes => ((long)_slots.Length + _filter.Length) * sizeof(ulong);

    /// <summary>An empty table.</summary>
    public static DomainTable Empty { get; } = new(new ulong[1], 0);

    /// <summary>Builds a table from hashes (<see cref="DomainHash"/>) and values. A later duplicate hash replaces the value only through <paramref name="merge"/>.</summary>
    public static DomainTable Build(ReadOnlySpan<ulong> hashes, ReadOnlySpan<ushort> values, Func<ushort, ushort, ushort> merge)
    {
        var capacity = 1;
        while (capacity * MaxLoad < Math.Max(1, hashes.Length))
        {
            capacity <<= 1;
        }

        var slots = new ulong[capacity];
        var mask = capacity - 1;
        var count = 0;
        for (var i = 0; i < hashes.Length; i++)
        {
            var mixed = DomainHash.Mix(hashes[i]);
            var fingerprint = Fingerprint(mixed);
            var slot = (int)mixed & mask;
            while (true)
            {
                var entry = slots[slot];
                if (entry == 0)
                {
                    slots[slot] = fingerprint | values[i];
                    count++;
                    break;
                }

                if ((entry & ~0xFFFFUL) == fingerprint)
                {
                    slots[slot] = fingerprint | merge((ushort)entry, values[i]);
                    break;
                }

                slot = (slot + 1) & mask;
            }
        }

        return new DomainTable(slots, count);
    }

    /// <summary>Hints the processor to load the slot for a mixed hash, so several lookups overlap their memory waits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void Prefetch(ulong mixed)
    {
        if (Sse.IsSupported)
        {
            var bit = FilterBit(Fingerprint(mixed));
            fixed (ulong* p = &_filter[bit >> 6])
            {
                Sse.Prefetch0(p);
            }

            fixed (ulong* p = &_slots[(int)mixed & _mask])
            {
                Sse.Prefetch0(p);
            }
        }
    }

    /// <summary>The value stored for a mixed hash (<see cref="DomainHash.Mix"/>), or 0 when the host is absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort Find(ulong mixed)
    {
        var fingerprint = Fingerprint(mixed);
        var bit = FilterBit(fingerprint);
        if ((_filter[bit >> 6] & (1UL << (bit & 63))) == 0)
        {
            return 0;
        }

        var slots = _slots;
        var slot = (int)mixed & _mask;
        while (true)
        {
            var entry = slots[slot];
            if (entry == 0)
            {
                return 0;
            }

            if ((entry & ~0xFFFFUL) == fingerprint)
            {
                return (ushort)entry;
            }

            slot = (slot + 1) & _mask;
        }
    }

    // Bits 24 and up of the fingerprint (the slot index uses the low bits of the same hash).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FilterBit(ulong fingerprintOrEntry) => (int)(fingerprintOrEntry >> 24) & _filterMask;

    // The top 48 bits; never zero, so an occupied slot is never mistaken for an empty one.
    private static ulong Fingerprint(ulong mixed) => (mixed & ~0xFFFFUL) | 0x10000UL;
}
