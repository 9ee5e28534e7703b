using System.Buffers.Binary;
using System.Text;

namespace Homeroom.Contracts.Tests.Apple;

/// <summary>
/// Writes binary property lists (bplist00) for tests: Homeroom itself only reads them. As Apple's
/// writer does, a <c>byte[]</c>, list or dictionary that appears more than once (the same instance) is
/// written once and referenced from every place it appears, which is how a small file can stand for
/// a huge value (see <see cref="Bomb"/>).
/// </summary>
internal static class BinaryPlistWriter
{
    /// <summary>
    /// A dictionary with an MDM message's keys and an array that refers <paramref name="references"/>
    /// times to one data value of <paramref name="dataBytes"/> bytes: a file of about dataBytes + 2 ×
    /// references bytes whose values, read naively, come to dataBytes × references.
    /// </summary>
    public static byte[] Bomb(Dictionary<string, object> message, int dataBytes, int references)
    {
        var shared = new byte[dataBytes];
        Array.Fill(shared, (byte)'A');
        return Write(new Dictionary<string, object>(message) { ["Padding"] = Enumerable.Repeat<object>(shared, references).ToList() });
    }

    public static byte[] Write(object top)
    {
        var objects = new List<byte[]>();
        var refs = new List<List<int>>();
        var written = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        Add(top);
        using var output = new MemoryStream();
        output.Write("bplist00"u8);
        var offsets = new List<long>();
        for (var i = 0; i < objects.Count; i++)
        {
            offsets.Add(output.Position);
            output.Write(objects[i]);
            foreach (var r in refs[i])
            {
                output.WriteByte((byte)(r >> 8));
                output.WriteByte((byte)r);
            }
        }

        var table = output.Position;
        var b = new byte[4];
        foreach (var offset in offsets)
        {
            BinaryPrimitives.WriteInt32BigEndian(b, (int)offset);
            output.Write(b);
        }

        Span<byte> trailer = stackalloc byte[32];
        trailer[6] = 4;
        trailer[7] = 2;
        BinaryPrimitives.WriteInt64BigEndian(trailer[8..], objects.Count);
        BinaryPrimitives.WriteInt64BigEndian(trailer[16..], 0);
        BinaryPrimitives.WriteInt64BigEndian(trailer[24..], table);
        output.Write(trailer);
        return output.ToArray();

        int Add(object value)
        {
            if (value is byte[] or List<object> or Dictionary<string, object> && written.TryGetValue(value, out var existing))
            {
                return existing;
            }

            var index = objects.Count;
            if (value is byte[] or List<object> or Dictionary<string, object>)
            {
                written[value] = index;
            }

            objects.Add([]);
            refs.Add([]);
            switch (value)
            {
                case bool b:
                    objects[index] = [(byte)(b ? 0x09 : 0x08)];
                    break;
                case long or int:
                    var eight = new byte[9];
                    eight[0] = 0x13;
                    BinaryPrimitives.WriteInt64BigEndian(eight.AsSpan(1), Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                    objects[index] = eight;
                    break;
                case double d:
                    var real = new byte[9];
                    real[0] = 0x23;
                    BinaryPrimitives.WriteDoubleBigEndian(real.AsSpan(1), d);
                    objects[index] = real;
                    break;
                case string s when s.All(c => c < 128):
                    objects[index] = [.. Marker(0x5, s.Length), .. Encoding.ASCII.GetBytes(s)];
                    break;
                case string s:
                    objects[index] = [.. Marker(0x6, s.Length), .. Encoding.BigEndianUnicode.GetBytes(s)];
                    break;
                case byte[] data:
                    objects[index] = [.. Marker(0x4, data.Length), .. data];
                    break;
                case Dictionary<string, object> dict:
                    objects[index] = Marker(0xD, dict.Count);
                    var keys = dict.Keys.Select(k => Add(k)).ToList();
                    var values = dict.Values.Select(Add).ToList();
                    refs[index] = [.. keys, .. values];
                    break;
                case List<object> list:
                    objects[index] = Marker(0xA, list.Count);
                    refs[index] = list.Select(Add).ToList();
                    break;
                default:
                    throw new ArgumentException(value.GetType().Name);
            }

            return index;
        }
    }

    private static byte[] Marker(int kind, int length) =>
        length < 15 ? [(byte)((kind << 4) | length)] : [(byte)((kind << 4) | 0xF), 0x12, (byte)(length >> 24), (byte)(length >> 16), (byte)(length >> 8), (byte)length];
}
