using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Homeroom.Server.Tests.Filtering;

/// <summary>
/// Oversized list content made as it is read, so a test can feed hundreds of megabytes (or a
/// gigabyte) to an upload without ever holding them: the archives are built by streaming too. (The
/// same helper as Homeroom.Rules.Tests' GeneratedLists; this project does not reference that one.)
/// </summary>
internal static class GeneratedLists
{
    /// <summary>A .tar.gz (pax format) of the given files, compressed as they are generated.</summary>
    public static byte[] TarGz(params (string Name, Stream Data)[] files)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (name, data) in files)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = data });
            }
        }

        return output.ToArray();
    }

    /// <summary>Text compressed with gzip as it is generated.</summary>
    public static byte[] Gzip(Stream data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            data.CopyTo(gzip);
        }

        return output.ToArray();
    }

    /// <summary>UTF-8 <paramref name="head"/>, then <paramref name="fillLength"/> copies of <paramref name="fill"/>, then <paramref name="tail"/>.</summary>
    public static Stream Text(string head, char fill, long fillLength, string tail) =>
        new RepeatedStream(Encoding.UTF8.GetBytes(head), (byte)fill, fillLength, Encoding.UTF8.GetBytes(tail));

    /// <summary>A seekable stream of head, a repeated byte and tail, generated on each read.</summary>
    private sealed class RepeatedStream(byte[] head, byte fill, long fillLength, byte[] tail) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length { get; } = head.Length + fillLength + tail.Length;

        public override long Position
        {
            get => _position;
            set => _position = Math.Clamp(value, 0, Length);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var written = 0;
            while (written < buffer.Length && _position < Length)
            {
                var target = buffer[written..];
                int n;
                if (_position < head.Length)
                {
                    n = Math.Min(target.Length, head.Length - (int)_position);
                    head.AsSpan((int)_position, n).CopyTo(target);
                }
                else if (_position < head.Length + fillLength)
                {
                    n = (int)Math.Min(target.Length, head.Length + fillLength - _position);
                    target[..n].Fill(fill);
                }
                else
                {
                    var at = (int)(_position - head.Length - fillLength);
                    n = Math.Min(target.Length, tail.Length - at);
                    tail.AsSpan(at, n).CopyTo(target);
                }

                written += n;
                _position += n;
            }

            return written;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => Length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
