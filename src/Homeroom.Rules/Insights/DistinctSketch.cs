using System.Buffers.Binary;
using System.Numerics;

namespace Homeroom.Rules.Insights;

/// <summary>
/// Counts distinct students (or devices) and merges across days, schools and groups: a HyperLogLog
/// with 2^12 registers, kept as an exact sorted set of 64-bit hashes while it holds at most
/// <see cref="SparseLimit"/> of them. Small counts (most rows of a daily rollup) are exact up to
/// 64-bit hash collisions; above the limit the relative standard error is 1.04/√4096 ≈ 1.6%
/// (estimates fall within ±6.5%, four standard errors, for practically every input). Merging is
/// exact: the merge of two sketches equals the sketch of the union.
/// </summary>
public sealed class DistinctSketch
{
    /// <summary>Register index bits.</summary>
    public const int Precision = 12;

    /// <summary>Registers in the dense form.</summary>
    public const int Registers = 1 << Precision;

    /// <summary>Hashes kept exactly before the sketch turns dense (2 KB, half the dense form's 4 KB).</summary>
    public const int SparseLimit = 256;

    /// <summary>The longest stored form (<see cref="ToBytes"/>): a format byte and the dense registers.</summary>
    public const int MaxBytes = 1 + Registers;

    /// <summary>Relative standard error of the dense form.</summary>
    public static readonly double StandardError = 1.04 / Math.Sqrt(Registers);

    private const byte SparseFormat = 1;
    private const byte DenseFormat = 2;

    // The sparse form: the distinct hashes in ascending order in _sparse[0.._count] (an array rather than a
    // SortedSet: the fold adds to hundreds of thousands of small sketches, and a tree allocates a node per hash).
    private ulong[]? _sparse = [];
    private int _count;
    private byte[]? _dense;

    /// <summary>Whether the sketch still counts exactly.</summary>
    public bool IsExact => _sparse is not null;

    /// <summary>The 64-bit hash of an id: a strong mix of its bytes, so sequential ids spread evenly.</summary>
    public static ulong Hash(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        var low = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var high = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        return Mix(low ^ Mix(high + 0x9E3779B97F4A7C15UL));
    }

    // MurmurHash3's 64-bit finaliser.
    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCDUL;
        x ^= x >> 33;
        x *= 0xC4CEB93FE53E87DUL;
        x ^= x >> 33;
        return x;
    }

    /// <summary>Adds an id.</summary>
    public void Add(Guid id) => AddHash(Hash(id));

    /// <summary>Adds a hash made by <see cref="Hash"/>.</summary>
    public void AddHash(ulong hash)
    {
        if (_sparse is { } sparse)
        {
            var at = Array.BinarySearch(sparse, 0, _count, hash);
            if (at >= 0)
            {
                return;
            }

            at = ~at;
            if (_count == sparse.Length)
            {
                var grown = new ulong[Math.Min(Math.Max(4, sparse.Length * 2), SparseLimit + 1)];
                Array.Copy(sparse, grown, _count);
                _sparse = sparse = grown;
            }

            Array.Copy(sparse, at, sparse, at + 1, _count - at);
            sparse[at] = hash;
            _count++;
            if (_count > SparseLimit)
            {
                ToDense();
            }

            return;
        }

        AddDense(_dense!, hash);
    }

    /// <summary>Adds hashes given in ascending order, without repeats (a sparse sketch's), by one merge of the two sorted lists.</summary>
    private void AddSorted(ReadOnlySpan<ulong> hashes)
    {
        if (_sparse is not { } mine)
        {
            foreach (var hash in hashes)
            {
                AddDense(_dense!, hash);
            }

            return;
        }

        if (hashes.Length <= 4)
        {
            foreach (var hash in hashes)
            {
                AddHash(hash);
            }

            return;
        }

        var merged = new ulong[_count + hashes.Length];
        int i = 0, j = 0, n = 0;
        while (i < _count && j < hashes.Length)
        {
            var a = mine[i];
            var b = hashes[j];
            if (a < b)
            {
                merged[n++] = a;
                i++;
            }
            else if (b < a)
            {
                merged[n++] = b;
                j++;
            }
            else
            {
                merged[n++] = a;
                i++;
                j++;
            }
        }

        while (i < _count)
        {
            merged[n++] = mine[i++];
        }

        while (j < hashes.Length)
        {
            merged[n++] = hashes[j++];
        }

        _sparse = merged;
        _count = n;
        if (_count > SparseLimit)
        {
            ToDense();
        }
    }

    /// <summary>Adds everything <paramref name="other"/> counted.</summary>
    public void Merge(DistinctSketch other)
    {
        if (other._sparse is { } hashes)
        {
            AddSorted(hashes.AsSpan(0, other._count));
            return;
        }

        if (_sparse is not null)
        {
            ToDense();
        }

        var mine = _dense!;
        var theirs = other._dense!;
        for (var i = 0; i < Registers; i++)
        {
            if (theirs[i] > mine[i])
            {
                mine[i] = theirs[i];
            }
        }
    }

    /// <summary>
    /// Adds everything the sketch in <paramref name="bytes"/> (made by <see cref="ToBytes"/>) counted,
    /// without building it first: a report merges tens of thousands of stored sketches, and the
    /// registers of a dense one are merged a vector at a time. The same as <c>Merge(FromBytes(bytes))</c>.
    /// </summary>
    public void MergeBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        switch (bytes[0])
        {
            case SparseFormat when (bytes.Length - 1) % 8 == 0 && (bytes.Length - 1) / 8 <= SparseLimit:
                if (_dense is { } registers)
                {
                    // Into registers the hashes' order does not matter: no sorted copy of them is needed.
                    for (var at = 1; at < bytes.Length; at += 8)
                    {
                        AddDense(registers, BinaryPrimitives.ReadUInt64LittleEndian(bytes[at..]));
                    }

                    return;
                }

                AddSorted(ReadSparse(bytes));
                return;
            case DenseFormat when bytes.Length == 1 + Registers:
                if (_sparse is not null)
                {
                    ToDense();
                }

                var mine = _dense.AsSpan();
                var theirs = bytes[1..];
                var i = 0;
                if (Vector.IsHardwareAccelerated)
                {
                    for (; i <= Registers - Vector<byte>.Count; i += Vector<byte>.Count)
                    {
                        Vector.Max(new Vector<byte>(mine[i..]), new Vector<byte>(theirs[i..])).CopyTo(mine[i..]);
                    }
                }

                for (; i < Registers; i++)
                {
                    mine[i] = Math.Max(mine[i], theirs[i]);
                }

                return;
            default:
                throw new FormatException("Not a distinct sketch.");
        }
    }

    /// <summary>The number of distinct ids added (exact while <see cref="IsExact"/>).</summary>
    public long Count()
    {
        if (_sparse is not null)
        {
            return _count;
        }

        var registers = _dense!;
        double sum = 0;
        var zeros = 0;
        foreach (var r in registers)
        {
            sum += Math.ScaleB(1.0, -r);
            if (r == 0)
            {
                zeros++;
            }
        }

        const double m = Registers;
        var alpha = 0.7213 / (1 + 1.079 / m);
        var estimate = alpha * m * m / sum;
        // Linear counting where HyperLogLog is biased (small cardinalities); the 2^64 hash needs no
        // large-range correction at school scale.
        if (estimate <= 2.5 * m && zeros > 0)
        {
            estimate = m * Math.Log(m / zeros);
        }

        return (long)Math.Round(estimate);
    }

    /// <summary>The sketch as bytes: a format byte, then the sorted hashes or the registers.</summary>
    public byte[] ToBytes()
    {
        if (_sparse is { } sparse)
        {
            var bytes = new byte[1 + (8 * _count)];
            bytes[0] = SparseFormat;
            var at = 1;
            for (var i = 0; i < _count; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), sparse[i]);
                at += 8;
            }

            return bytes;
        }

        var dense = new byte[1 + Registers];
        dense[0] = DenseFormat;
        _dense!.CopyTo(dense, 1);
        return dense;
    }

    /// <summary>The bytes (<see cref="ToBytes"/>) of the union of two stored sketches: what a stored row holds after another row's ids are added to it.</summary>
    public static byte[] MergeStored(byte[] stored, byte[] added)
    {
        var sketch = FromBytes(stored);
        sketch.MergeBytes(added);
        return sketch.ToBytes();
    }

    /// <summary>Reads bytes made by <see cref="ToBytes"/>; empty or null is an empty sketch.</summary>
    public static DistinctSketch FromBytes(ReadOnlySpan<byte> bytes)
    {
        var sketch = new DistinctSketch();
        if (bytes.IsEmpty)
        {
            return sketch;
        }

        switch (bytes[0])
        {
            case SparseFormat when (bytes.Length - 1) % 8 == 0 && (bytes.Length - 1) / 8 <= SparseLimit:
                sketch.AddSorted(ReadSparse(bytes));
                return sketch;
            case DenseFormat when bytes.Length == 1 + Registers:
                sketch._sparse = null;
                sketch._dense = bytes[1..].ToArray();
                return sketch;
            default:
                throw new FormatException("Not a distinct sketch.");
        }
    }

    private void ToDense()
    {
        var dense = new byte[Registers];
        for (var i = 0; i < _count; i++)
        {
            AddDense(dense, _sparse![i]);
        }

        _sparse = null;
        _count = 0;
        _dense = dense;
    }

    /// <summary>A stored sparse sketch's hashes, in ascending order without repeats (sorted here if the bytes were not).</summary>
    private static ulong[] ReadSparse(ReadOnlySpan<byte> bytes)
    {
        var hashes = new ulong[(bytes.Length - 1) / 8];
        var sorted = true;
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(1 + (8 * i))..]);
            sorted &= i == 0 || hashes[i] > hashes[i - 1];
        }

        if (!sorted)
        {
            Array.Sort(hashes);
            var n = 0;
            for (var i = 0; i < hashes.Length; i++)
            {
                if (n == 0 || hashes[i] != hashes[n - 1])
                {
                    hashes[n++] = hashes[i];
                }
            }

            return hashes[..n];
        }

        return hashes;
    }

    private static void AddDense(byte[] registers, ulong hash)
    {
        var index = (int)(hash >> (64 - Precision));
        // The rank of the first 1 bit in the remaining 52 bits (a guard bit bounds it).
        var rest = (hash << Precision) | (1UL << (Precision - 1));
        var rank = (byte)(BitOperations.LeadingZeroCount(rest) + 1);
        if (rank > registers[index])
        {
            registers[index] = rank;
        }
    }
}
