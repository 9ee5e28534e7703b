using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Xml;

namespace Homeroom.Contracts.Apple;

/// <summary>Thrown for a property list that is malformed or breaks a limit; the message says which.</summary>
public sealed class PropertyListException(string message) : Exception(message);

/// <summary>Limits on what a property list may hold; every read enforces them.</summary>
/// <param name="MaxBytes">Largest encoded document.</param>
/// <param name="MaxDepth">Deepest nesting of arrays and dictionaries.</param>
/// <param name="MaxObjects">Most values in the whole document.</param>
/// <param name="MaxStringLength">Longest string (characters) or data value (bytes).</param>
/// <param name="MaxMaterializedBytes">
/// Most bytes of string and data values the reader creates in all (a string counts two bytes a
/// character), counting a value again each time it is referenced: a binary list that refers to one
/// large value thousands of times is refused here, long before it could fill memory.
/// </param>
public sealed record PropertyListLimits(int MaxBytes = 1024 * 1024, int MaxDepth = 32, int MaxObjects = 100_000, int MaxStringLength = 256 * 1024, long MaxMaterializedBytes = 4L * 1024 * 1024)
{
    /// <summary>The limits for documents of at most <paramref name="maxBytes"/>, allowing values four times the document's size in all.</summary>
    public static PropertyListLimits ForDocument(int maxBytes) => new(MaxBytes: maxBytes, MaxMaterializedBytes: 4L * maxBytes);

    /// <summary>Limits for MDM check-in and command results.</summary>
    public static PropertyListLimits Default { get; } = new();
}

/// <summary>
/// Apple property lists: reads the XML format and the binary format (<c>bplist00</c>), writes XML.
/// Values are <see cref="string"/>, <see cref="long"/>, <see cref="double"/>, <see cref="bool"/>,
/// <see cref="byte"/>[] (data), <see cref="DateTimeOffset"/> (date), <c>List&lt;object&gt;</c> (array)
/// and <c>Dictionary&lt;string, object&gt;</c> (dict, in document order). No DTD or external entity is
/// ever processed.
/// </summary>
public static class PropertyList
{
    private const string Header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n";

    /// <summary>Reads a property list in either format.</summary>
    public static object Read(ReadOnlySpan<byte> bytes, PropertyListLimits? limits = null)
    {
        limits ??= PropertyListLimits.Default;
        if (bytes.Length > limits.MaxBytes)
        {
            throw new PropertyListException($"The property list is larger than {limits.MaxBytes} bytes.");
        }

        if (bytes.StartsWith("bplist00"u8))
        {
            return new BinaryReader(bytes.ToArray(), limits).ReadTop();
        }

        return ReadXml(bytes.ToArray(), limits);
    }

    /// <summary>Reads a property list whose top value must be a dictionary.</summary>
    public static Dictionary<string, object> ReadDictionary(ReadOnlySpan<byte> bytes, PropertyListLimits? limits = null) =>
        Read(bytes, limits) as Dictionary<string, object> ?? throw new PropertyListException("The property list's top value is not a dictionary.");

    /// <summary>Writes a value as an XML property list (UTF-8).</summary>
    public static byte[] WriteXml(object value)
    {
        var text = new StringBuilder(Header).Append("<plist version=\"1.0\">\n");
        WriteValue(text, value, 0);
        text.Append("</plist>\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static object ReadXml(byte[] bytes, PropertyListLimits limits)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Ignore,
            XmlResolver = null,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            IgnoreWhitespace = true,
            MaxCharactersInDocument = limits.MaxBytes,
            MaxCharactersFromEntities = 0,
        };
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            using var reader = XmlReader.Create(stream, settings);
            reader.MoveToContent();
            if (reader.NodeType != XmlNodeType.Element || reader.Name != "plist")
            {
                throw new PropertyListException("The document is not a property list (no <plist> element).");
            }

            if (reader.IsEmptyElement)
            {
                throw new PropertyListException("The property list is empty.");
            }

            reader.Read();
            var budget = new Budget(limits);
            var value = ReadXmlValue(reader, budget, 0);
            if (reader.NodeType != XmlNodeType.EndElement || reader.Name != "plist")
            {
                throw new PropertyListException("A property list holds exactly one top value.");
            }

            return value;
        }
        catch (XmlException e)
        {
            throw new PropertyListException($"The property list is not well-formed XML: {e.Message}");
        }
    }

    // Reads the element at the reader and leaves the reader after it.
    private static object ReadXmlValue(XmlReader reader, Budget budget, int depth)
    {
        if (reader.NodeType != XmlNodeType.Element)
        {
            throw new PropertyListException($"Expected a value element, found {reader.NodeType}.");
        }

        var limits = budget.Limits;
        budget.Object();
        if (depth > limits.MaxDepth)
        {
            throw new PropertyListException($"The property list is nested deeper than {limits.MaxDepth} levels.");
        }

        var name = reader.Name;
        switch (name)
        {
            case "true":
            case "false":
                Skip(reader);
                return name == "true";
            case "dict":
            {
                var dict = new Dictionary<string, object>(StringComparer.Ordinal);
                if (reader.IsEmptyElement)
                {
                    reader.Read();
                    return dict;
                }

                reader.Read();
                while (reader.NodeType != XmlNodeType.EndElement)
                {
                    if (reader.NodeType != XmlNodeType.Element || reader.Name != "key")
                    {
                        throw new PropertyListException("A <dict> holds <key> elements, each followed by a value.");
                    }

                    var key = Text(reader, budget);
                    if (!dict.TryAdd(key, ReadXmlValue(reader, budget, depth + 1)))
                    {
                        throw new PropertyListException($"The key '{Truncate(key)}' appears twice in one <dict>.");
                    }
                }

                reader.Read();
                return dict;
            }

            case "array":
            {
                var list = new List<object>();
                if (reader.IsEmptyElement)
                {
                    reader.Read();
                    return list;
                }

                reader.Read();
                while (reader.NodeType != XmlNodeType.EndElement)
                {
                    list.Add(ReadXmlValue(reader, budget, depth + 1));
                }

                reader.Read();
                return list;
            }

            case "string":
                return Text(reader, budget);
            case "integer":
            {
                var text = Text(reader, budget).Trim();
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                {
                    return integer;
                }

                // Unsigned values above long.MaxValue are not used by MDM; refuse them rather than wrap.
                throw new PropertyListException($"'{Truncate(text)}' is not a 64-bit integer.");
            }

            case "real":
            {
                var text = Text(reader, budget).Trim();
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real)
                    ? real
                    : throw new PropertyListException($"'{Truncate(text)}' is not a real number.");
            }

            case "date":
            {
                var text = Text(reader, budget).Trim();
                return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date)
                    ? date
                    : throw new PropertyListException($"'{Truncate(text)}' is not a date.");
            }

            case "data":
            {
                var text = Text(reader, budget);
                var clean = new string(text.Where(c => !char.IsWhiteSpace(c)).ToArray());
                try
                {
                    var data = Convert.FromBase64String(clean);
                    if (data.Length > limits.MaxStringLength)
                    {
                        throw new PropertyListException($"A <data> value is longer than {limits.MaxStringLength} bytes.");
                    }

                    budget.Bytes(data.Length);
                    return data;
                }
                catch (FormatException)
                {
                    throw new PropertyListException("A <data> value is not base64.");
                }
            }

            default:
                throw new PropertyListException($"<{Truncate(name)}> is not a property list element.");
        }
    }

    private static string Text(XmlReader reader, Budget budget)
    {
        if (reader.IsEmptyElement)
        {
            reader.Read();
            return string.Empty;
        }

        var text = reader.ReadElementContentAsString();
        if (text.Length > budget.Limits.MaxStringLength)
        {
            throw new PropertyListException($"A value is longer than {budget.Limits.MaxStringLength} characters.");
        }

        budget.Bytes(2L * text.Length);
        return text;
    }

    /// <summary>What one read has created so far, against the limits.</summary>
    private sealed class Budget(PropertyListLimits limits)
    {
        private int _objects;
        private long _bytes;

        public PropertyListLimits Limits => limits;

        public void Object()
        {
            if (++_objects > limits.MaxObjects)
            {
                throw new PropertyListException($"The property list holds more than {limits.MaxObjects} values.");
            }
        }

        public void Bytes(long count)
        {
            _bytes += count;
            if (_bytes > limits.MaxMaterializedBytes)
            {
                throw new PropertyListException($"The property list's strings and data come to more than {limits.MaxMaterializedBytes} bytes (values referenced more than once count each time).");
            }
        }
    }

    private static void Skip(XmlReader reader)
    {
        if (reader.IsEmptyElement)
        {
            reader.Read();
            return;
        }

        reader.Read();
        if (reader.NodeType != XmlNodeType.EndElement)
        {
            throw new PropertyListException("<true/> and <false/> are empty.");
        }

        reader.Read();
    }

    private static string Truncate(string text) => text.Length > 64 ? text[..64] + "…" : text;

    private static void WriteValue(StringBuilder text, object value, int depth)
    {
        if (depth > 64)
        {
            throw new PropertyListException("The value is nested too deeply to write.");
        }

        var indent = new string('\t', depth);
        switch (value)
        {
            case string s:
                text.Append(indent).Append("<string>").Append(Escape(s)).Append("</string>\n");
                break;
            case bool b:
                text.Append(indent).Append(b ? "<true/>\n" : "<false/>\n");
                break;
            case int or long or short or byte or uint or ushort:
                text.Append(indent).Append("<integer>").Append(Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)).Append("</integer>\n");
                break;
            case double or float:
                text.Append(indent).Append("<real>").Append(Convert.ToDouble(value, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture)).Append("</real>\n");
                break;
            case DateTimeOffset date:
                text.Append(indent).Append("<date>").Append(date.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)).Append("</date>\n");
                break;
            case byte[] data:
                text.Append(indent).Append("<data>").Append(Convert.ToBase64String(data)).Append("</data>\n");
                break;
            case IEnumerable<KeyValuePair<string, object>> dict:
                text.Append(indent).Append("<dict>\n");
                foreach (var (key, item) in dict)
                {
                    text.Append(indent).Append("\t<key>").Append(Escape(key)).Append("</key>\n");
                    WriteValue(text, item, depth + 1);
                }

                text.Append(indent).Append("</dict>\n");
                break;
            case System.Collections.IEnumerable list:
                text.Append(indent).Append("<array>\n");
                foreach (var item in list)
                {
                    WriteValue(text, item ?? throw new PropertyListException("Property lists have no null."), depth + 1);
                }

                text.Append(indent).Append("</array>\n");
                break;
            default:
                throw new PropertyListException($"A {value.GetType().Name} cannot be written to a property list.");
        }
    }

    private static string Escape(string s)
    {
        foreach (var c in s)
        {
            if (c < 0x20 && c is not ('\t' or '\n' or '\r'))
            {
                throw new PropertyListException("A string holds a control character XML cannot carry.");
            }
        }

        return s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
    }

    /// <summary>The binary format: a header, objects, an offset table and a 32-byte trailer.</summary>
    private sealed class BinaryReader(byte[] bytes, PropertyListLimits limits)
    {
        private readonly Budget _budget = new(limits);
        private long[] _offsets = [];
        private int _refSize;
        private readonly HashSet<long> _open = [];

        public object ReadTop()
        {
            if (bytes.Length < 8 + 1 + 32)
            {
                throw new PropertyListException("The binary property list is truncated.");
            }

            var trailer = bytes.AsSpan(bytes.Length - 32);
            var offsetSize = trailer[6];
            _refSize = trailer[7];
            var count = BinaryPrimitives.ReadInt64BigEndian(trailer[8..]);
            var top = BinaryPrimitives.ReadInt64BigEndian(trailer[16..]);
            var tableOffset = BinaryPrimitives.ReadInt64BigEndian(trailer[24..]);
            if (offsetSize is < 1 or > 8 || _refSize is < 1 or > 8 || count < 1 || count > limits.MaxObjects
                || top < 0 || top >= count || tableOffset < 8 || tableOffset + (count * offsetSize) > bytes.Length - 32)
            {
                throw new PropertyListException("The binary property list's trailer is not valid.");
            }

            _offsets = new long[count];
            for (var i = 0; i < count; i++)
            {
                var offset = ReadSized(bytes.AsSpan((int)(tableOffset + (i * offsetSize)), offsetSize));
                if (offset < 8 || offset >= tableOffset)
                {
                    throw new PropertyListException("An object offset points outside the object area.");
                }

                _offsets[i] = offset;
            }

            return ReadObject(top, 0);
        }

        private object ReadObject(long index, int depth)
        {
            if (index < 0 || index >= _offsets.Length)
            {
                throw new PropertyListException("An object reference is out of range.");
            }

            if (depth > limits.MaxDepth)
            {
                throw new PropertyListException($"The property list is nested deeper than {limits.MaxDepth} levels.");
            }

            _budget.Object();
            var position = (int)_offsets[index];
            var marker = bytes[position];
            var kind = marker >> 4;
            var info = marker & 0x0F;
            position++;
            switch (kind)
            {
                case 0x0:
                    return info switch
                    {
                        0x8 => false,
                        0x9 => true,
                        _ => throw new PropertyListException("Null and fill objects are not supported."),
                    };
                case 0x1:
                {
                    var size = 1 << info;
                    if (size > 8)
                    {
                        throw new PropertyListException("Integers wider than 64 bits are not supported.");
                    }

                    var span = Slice(position, size);
                    return size == 8 ? BinaryPrimitives.ReadInt64BigEndian(span) : ReadSized(span);
                }

                case 0x2:
                    return info switch
                    {
                        2 => (double)BinaryPrimitives.ReadSingleBigEndian(Slice(position, 4)),
                        3 => BinaryPrimitives.ReadDoubleBigEndian(Slice(position, 8)),
                        _ => throw new PropertyListException("Reals are 4 or 8 bytes."),
                    };
                case 0x3:
                    if (info != 3)
                    {
                        throw new PropertyListException("Dates are 8-byte reals.");
                    }

                    var seconds = BinaryPrimitives.ReadDoubleBigEndian(Slice(position, 8));
                    return double.IsFinite(seconds) && Math.Abs(seconds) < 1e11
                        ? new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(seconds)
                        : throw new PropertyListException("A date is out of range.");
                case 0x4:
                {
                    // Each value is checked against the budget before it is created, so a value
                    // referenced many times is refused before the copies are made.
                    var (length, start) = Length(info, position);
                    Limit(length, "data", length);
                    return Slice(start, length).ToArray();
                }

                case 0x5:
                {
                    var (length, start) = Length(info, position);
                    Limit(length, "string", 2L * length);
                    return Encoding.ASCII.GetString(Slice(start, length));
                }

                case 0x6:
                {
                    var (length, start) = Length(info, position);
                    Limit(length, "string", 2L * length);
                    return Encoding.BigEndianUnicode.GetString(Slice(start, length * 2));
                }

                case 0xA:
                case 0xD:
                {
                    var (length, start) = Length(info, position);
                    var refs = kind == 0xD ? length * 2 : length;
                    if (length > limits.MaxObjects)
                    {
                        throw new PropertyListException($"The property list holds more than {limits.MaxObjects} values.");
                    }

                    var span = Slice(start, refs * _refSize);
                    if (!_open.Add(index))
                    {
                        throw new PropertyListException("The property list refers to itself.");
                    }

                    try
                    {
                        if (kind == 0xA)
                        {
                            var list = new List<object>(length);
                            for (var i = 0; i < length; i++)
                            {
                                list.Add(ReadObject(ReadSized(span.Slice(i * _refSize, _refSize)), depth + 1));
                            }

                            return list;
                        }

                        var dict = new Dictionary<string, object>(length, StringComparer.Ordinal);
                        for (var i = 0; i < length; i++)
                        {
                            var key = ReadObject(ReadSized(span.Slice(i * _refSize, _refSize)), depth + 1) as string
                                ?? throw new PropertyListException("A dictionary key is not a string.");
                            var value = ReadObject(ReadSized(span.Slice((length + i) * _refSize, _refSize)), depth + 1);
                            if (!dict.TryAdd(key, value))
                            {
                                throw new PropertyListException($"The key '{Truncate(key)}' appears twice in one dictionary.");
                            }
                        }

                        return dict;
                    }
                    finally
                    {
                        _open.Remove(index);
                    }
                }

                default:
                    throw new PropertyListException($"Binary object type 0x{kind:X} is not supported.");
            }
        }

        private void Limit(int length, string what, long bytes)
        {
            if (length > limits.MaxStringLength)
            {
                throw new PropertyListException($"A {what} value is longer than {limits.MaxStringLength}.");
            }

            _budget.Bytes(bytes);
        }

        private (int Length, int Start) Length(int info, int position)
        {
            if (info != 0xF)
            {
                return (info, position);
            }

            var marker = Slice(position, 1)[0];
            if (marker >> 4 != 0x1 || (marker & 0xF) > 3)
            {
                throw new PropertyListException("A length is not a small integer.");
            }

            var size = 1 << (marker & 0xF);
            var length = ReadSized(Slice(position + 1, size));
            return length is < 0 or > int.MaxValue / 4
                ? throw new PropertyListException("A length is out of range.")
                : ((int)length, position + 1 + size);
        }

        private ReadOnlySpan<byte> Slice(int start, int length) =>
            start >= 0 && length >= 0 && (long)start + length <= bytes.Length - 32
                ? bytes.AsSpan(start, length)
                : throw new PropertyListException("An object runs past the end of the data.");

        private static long ReadSized(ReadOnlySpan<byte> span)
        {
            long value = 0;
            foreach (var b in span)
            {
                value = (value << 8) | b;
            }

            return value;
        }
    }
}
