using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Homeroom.Simulator.Fleet;

/// <summary>
/// Paints a small, valid PNG standing in for a screen capture: a page-like layout whose colours
/// change with the site and time, so a teacher's grid visibly updates. No image library needed.
/// </summary>
public static class ThumbnailPainter
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    public static byte[] Paint(int width, int height, int siteHash, long frameNumber, bool locked)
    {
        var raw = new byte[height * ((width * 3) + 1)];
        var (r, g, b) = ((byte)(siteHash & 0xFF), (byte)((siteHash >> 8) & 0xFF), (byte)((siteHash >> 16) & 0xFF));
        var top = height / 8;
        var bar = top + (int)(frameNumber * 7 % Math.Max(1, height - top - 6));
        for (var y = 0; y < height; y++)
        {
            var row = y * ((width * 3) + 1);
            raw[row] = 0; // filter: none
            for (var x = 0; x < width; x++)
            {
                var p = row + 1 + (x * 3);
                byte pr, pg, pb;
                if (locked)
                {
                    (pr, pg, pb) = (30, 30, 40);
                }
                else if (y < height / 8)
                {
                    (pr, pg, pb) = (r, g, b); // a title bar in the site's colour
                }
                else if (y >= bar && y < bar + 6 && x > width / 10 && x < width * 9 / 10)
                {
                    (pr, pg, pb) = (40, 90, 200); // a moving "scroll" band
                }
                else
                {
                    var text = (y / 6 % 2 == 0) && x > width / 10 && x < (width * 9 / 10) - ((y * 7) % (width / 3));
                    (pr, pg, pb) = text ? ((byte)120, (byte)120, (byte)120) : ((byte)250, (byte)250, (byte)250);
                }

                raw[p] = pr;
                raw[p + 1] = pg;
                raw[p + 2] = pb;
            }
        }

        using var output = new MemoryStream();
        output.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // truecolour
        WriteChunk(output, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                zlib.Write(raw);
            }

            WriteChunk(output, "IDAT", compressed.ToArray());
        }

        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        output.Write(number);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        var crc = Crc(Crc(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(number, crc);
        output.Write(number);
    }

    private static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
