using System.Buffers;
using System.Formats.Tar;
using System.Text;

namespace Homeroom.Rules.Filtering;

/// <summary>
/// Reads a tar stream entry by entry, forward only, with every allocation bounded: entry data is
/// only ever streamed (<see cref="Data"/>), and the records that carry long names (pax <c>x</c> and
/// <c>g</c>, GNU <c>L</c> and <c>K</c>) are read only up to <see cref="MaxMetadataBytes"/>. Reads the
/// ustar, pax and GNU forms written by GNU tar, bsdtar and .NET. (<see cref="TarReader"/> reads a pax
/// record whole into memory at whatever size its header declares: a 5 MB archive can make it
/// allocate 500 MB.)
/// </summary>
internal sealed class TarStream
{
    /// <summary>Longest pax or GNU long-name record read.</summary>
    public const int MaxMetadataBytes = 64 * 1024;

    private const int BlockSize = 512;
    private readonly Stream _stream;
    private readonly byte[] _header = new byte[BlockSize];
    private long _remaining;
    private int _padding;

    public TarStream(Stream stream)
    {
        _stream = stream;
        Data = new EntryData(this);
    }

    /// <summary>The current entry's full name (<c>blacklists/games/domains</c>).</summary>
    public string Name { get; private set; } = string.Empty;

    /// <summary>The current entry's type.</summary>
    public TarEntryType EntryType { get; private set; }

    /// <summary>The current entry's data length.</summary>
    public long Length { get; private set; }

    /// <summary>Whether the current entry is a regular file.</summary>
    public bool IsFile => EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile;

    /// <summary>The current entry's data; what is left unread is skipped by the next <see cref="MoveNext"/>.</summary>
    public Stream Data { get; }

    /// <summary>Moves to the next file, directory or other entry; false at the end of the archive.</summary>
    /// <exception cref="InvalidDataException">The stream is not a tar archive, or is truncated or malformed.</exception>
    public bool MoveNext()
    {
        Skip(_remaining + _padding);
        _remaining = 0;
        _padding = 0;
        string? longName = null;
        while (true)
        {
            if (!ReadHeader())
            {
                return false;
            }

            var type = (TarEntryType)_header[156];
            var size = ParseSize(_header.AsSpan(124, 12));
            switch (type)
            {
                case TarEntryType.ExtendedAttributes:
                    longName = PaxPath(ReadMetadata(size)) ?? longName;
                    continue;
                case TarEntryType.LongPath:
                    longName = CString(ReadMetadata(size));
                    continue;
                case TarEntryType.GlobalExtendedAttributes or TarEntryType.LongLink:
                    ReadMetadata(size);
                    continue;
                default:
                    Name = longName ?? HeaderName();
                    EntryType = type;
                    Length = size;
                    _remaining = size;
                    _padding = Padding(size);
                    return true;
            }
        }
    }

    // False at the end-of-archive block (a block of zeros).
    private bool ReadHeader()
    {
        var read = _stream.ReadAtLeast(_header, BlockSize, throwOnEndOfStream: false);
        if (read < BlockSize)
        {
            throw new InvalidDataException("The archive ends before its end marker: it is truncated or not a tar archive.");
        }

        if (!_header.AsSpan().ContainsAnyExcept((byte)0))
        {
            return false;
        }

        var stored = ParseOctal(_header.AsSpan(148, 8));
        long unsigned = 0;
        long signed = 0;
        for (var i = 0; i < BlockSize; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : _header[i];
            unsigned += b;
            signed += (sbyte)b;
        }

        if (stored != unsigned && stored != signed)
        {
            throw new InvalidDataException("A tar header's checksum does not match: this is not a tar archive, or it is damaged.");
        }

        return true;
    }

    private byte[] ReadMetadata(long size)
    {
        if (size > MaxMetadataBytes)
        {
            throw new InvalidDataException($"A tar metadata record declares {size:N0} bytes; at most {MaxMetadataBytes:N0} are read.");
        }

        var data = new byte[size];
        ReadExactly(data);
        Skip(Padding(size));
        return data;
    }

    private void ReadExactly(Span<byte> buffer)
    {
        if (_stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) < buffer.Length)
        {
            throw new InvalidDataException("The archive is truncated.");
        }
    }

    private void Skip(long count)
    {
        if (count <= 0)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            while (count > 0)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(count, buffer.Length));
                ReadExactly(chunk);
                count -= chunk.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private string HeaderName()
    {
        var name = CString(_header.AsSpan(0, 100));

        // POSIX ustar ("ustar\0" "00") keeps leading directories in the prefix field; GNU's
        // "ustar  \0" uses those bytes for other things.
        if (_header.AsSpan(257, 6).SequenceEqual("ustar\0"u8))
        {
            var prefix = CString(_header.AsSpan(345, 155));
            if (prefix.Length > 0)
            {
                return prefix + "/" + name;
            }
        }

        return name;
    }

    // Pax records: "<length> <key>=<value>\n", the length counting the whole record.
    private static string? PaxPath(ReadOnlySpan<byte> records)
    {
        string? path = null;
        while (!records.IsEmpty)
        {
            var space = records.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(Encoding.ASCII.GetString(records[..space]), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
                || length <= space + 1 || length > records.Length || records[length - 1] != (byte)'\n')
            {
                throw new InvalidDataException("A pax header record is malformed.");
            }

            var record = records[(space + 1)..(length - 1)];
            var equals = record.IndexOf((byte)'=');
            if (equals > 0 && record[..equals].SequenceEqual("path"u8))
            {
                path = Encoding.UTF8.GetString(record[(equals + 1)..]);
            }

            records = records[length..];
        }

        return path;
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    // Octal digits (leading spaces or zeros, ending at a space or NUL), or GNU's base-256 form.
    private static long ParseSize(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            long value = field[0] & 0x7F;
            foreach (var b in field[1..])
            {
                if (value > (long.MaxValue >> 8))
                {
                    throw new InvalidDataException("A tar entry's size is out of range.");
                }

                value = (value << 8) | b;
            }

            return value;
        }

        return ParseOctal(field);
    }

    private static long ParseOctal(ReadOnlySpan<byte> field)
    {
        var i = 0;
        while (i < field.Length && field[i] is (byte)' ' or 0)
        {
            i++;
        }

        long value = 0;
        for (; i < field.Length && field[i] is not ((byte)' ' or 0); i++)
        {
            if (field[i] is < (byte)'0' or > (byte)'7' || value > (long.MaxValue >> 3))
            {
                throw new InvalidDataException("A tar header field is not a number: this is not a tar archive.");
            }

            value = (value << 3) | (uint)(field[i] - '0');
        }

        return value;
    }

    private static int Padding(long size) => (int)((BlockSize - (size % BlockSize)) % BlockSize);

    // The current entry's data: reads stop at its end.
    private sealed class EntryData(TarStream tar) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (tar._remaining == 0 || buffer.IsEmpty)
            {
                return 0;
            }

            var read = tar._stream.Read(buffer[..(int)Math.Min(buffer.Length, tar._remaining)]);
            if (read == 0)
            {
                throw new InvalidDataException("The archive is truncated.");
            }

            tar._remaining -= read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Counts the bytes read through it and stops the read that would pass a limit.</summary>
internal sealed class LimitedReadStream(Stream inner, long limit, Func<Exception> tooLarge) : Stream
{
    private long _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        _read += read;
        if (_read > limit)
        {
            throw tooLarge();
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
