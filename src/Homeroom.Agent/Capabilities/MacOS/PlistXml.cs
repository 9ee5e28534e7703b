using System.Text;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;

namespace Homeroom.Agent.Capabilities.MacOS;

/// <summary>
/// Apple's XML property lists, as far as the agent writes them (the launchd daemon's property list, Chrome's and Edge's
/// managed preferences): a <c>&lt;dict&gt;</c> is a sequence of <c>&lt;key&gt;</c> and value elements, kept here as
/// <see cref="XElement"/>s so values the agent does not own (dates, data, anything) are carried over as they were.
/// Text goes through <see cref="XElement"/>, so <c>&amp;</c> and <c>&lt;</c> in paths and values are escaped.
/// Binary property lists (<c>bplist00</c>) are not read: <see cref="TryRead"/> says so and the caller leaves them alone.
/// </summary>
public static class PlistXml
{
    /// <summary>The largest property list read back; a larger one is not Homeroom's and is not parsed.</summary>
    public const int MaxReadBytes = 1024 * 1024;

    private static readonly byte[] BinaryMagic = "bplist00"u8.ToArray();

    /// <summary>What an existing file held: a dictionary, a binary property list, or nothing usable (absent, malformed, not a dictionary, too large).</summary>
    public enum Existing
    {
        Absent,
        Dictionary,
        Binary,
        Malformed,
        TooLarge,
    }

    /// <summary>A whole property list document whose root is <paramref name="root"/>, UTF-8, ending in a line break.</summary>
    public static byte[] Document(XElement root)
    {
        var document = new XDocument(
            new XDeclaration("1.0", "UTF-8", null),
            new XDocumentType("plist", "-//Apple//DTD PLIST 1.0//EN", "http://www.apple.com/DTDs/PropertyList-1.0.dtd", null),
            new XElement("plist", new XAttribute("version", "1.0"), root));
        using var stream = new MemoryStream();
        // CheckCharacters: a control character in a value is refused (ArgumentException) rather than written as XML no reader takes.
        using (var writer = XmlWriter.Create(stream, new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true, IndentChars = "\t", NewLineChars = "\n", CheckCharacters = true }))
        {
            document.Save(writer);
        }

        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    /// <summary>Reads a property list whose root is a dictionary; <paramref name="root"/> is that dictionary when <see cref="Existing.Dictionary"/>.</summary>
    public static Existing TryRead(ReadOnlySpan<byte> content, out XElement root)
    {
        root = new XElement("dict");
        if (content.Length > MaxReadBytes)
        {
            return Existing.TooLarge;
        }

        if (content.StartsWith(BinaryMagic))
        {
            return Existing.Binary;
        }

        try
        {
            // The DOCTYPE every property list carries is skipped, never fetched or expanded.
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null, MaxCharactersInDocument = MaxReadBytes * 2L };
            using var stream = new MemoryStream(content.ToArray(), writable: false);
            using var reader = XmlReader.Create(stream, settings);
            var document = XDocument.Load(reader);
            // Indentation between a dict's or array's elements is layout, not content (a string's own spaces are kept).
            document.DescendantNodes().OfType<XText>()
                .Where(t => string.IsNullOrWhiteSpace(t.Value) && t.Parent is { Name.LocalName: "dict" or "array" or "plist" })
                .ToList().ForEach(t => t.Remove());
            if (document.Root is { Name.LocalName: "plist" } plist && plist.Elements().ToList() is [{ Name.LocalName: "dict" } dict] && IsWellFormedDict(dict))
            {
                root = dict;
                return Existing.Dictionary;
            }
        }
        catch (XmlException)
        {
        }

        return Existing.Malformed;
    }

    /// <summary>The value under <paramref name="key"/> in a dictionary, or null.</summary>
    public static XElement? Get(XElement dict, string key) =>
        dict.Elements("key").FirstOrDefault(k => k.Value == key)?.ElementsAfterSelf().FirstOrDefault();

    /// <summary>Puts <paramref name="value"/> under <paramref name="key"/>, in place of what was there (keeping its position) or at the end.</summary>
    public static void Set(XElement dict, string key, XElement value)
    {
        if (Get(dict, key) is { } old)
        {
            if (ReferenceEquals(old, value))
            {
                return;
            }

            old.ReplaceWith(value);
        }
        else
        {
            dict.Add(new XElement("key", key), value);
        }
    }

    /// <summary>Takes <paramref name="key"/> and its value out of a dictionary; true when it was there.</summary>
    public static bool Remove(XElement dict, string key)
    {
        if (dict.Elements("key").FirstOrDefault(k => k.Value == key) is not { } found)
        {
            return false;
        }

        found.ElementsAfterSelf().FirstOrDefault()?.Remove();
        found.Remove();
        return true;
    }

    /// <summary>A dictionary's keys, in order.</summary>
    public static IEnumerable<string> Keys(XElement dict) => dict.Elements("key").Select(k => k.Value);

    public static XElement String(string text) => new("string", text);

    public static XElement Boolean(bool value) => new(value ? "true" : "false");

    public static XElement Integer(long value) => new("integer", value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static XElement Array(IEnumerable<XElement> items) => new("array", items);

    /// <summary>A dictionary of <paramref name="entries"/>, in order.</summary>
    public static XElement Dict(params IEnumerable<(string Key, XElement Value)> entries) =>
        new("dict", entries.SelectMany(e => new object[] { new XElement("key", e.Key), e.Value }));

    /// <summary>
    /// A JSON value as a property list value: strings, true and false, whole numbers as <c>integer</c>, other numbers
    /// as <c>real</c>, arrays and objects as <c>array</c> and <c>dict</c>. Property lists have no null: a null
    /// (or a null inside an array or object) is left out, returned as null here.
    /// </summary>
    public static XElement? FromJson(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => String(value.GetString()!),
        JsonValueKind.True => Boolean(true),
        JsonValueKind.False => Boolean(false),
        JsonValueKind.Number when value.TryGetInt64(out var whole) => Integer(whole),
        JsonValueKind.Number => new XElement("real", value.GetDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture)),
        JsonValueKind.Array => Array(value.EnumerateArray().Select(FromJson).OfType<XElement>()),
        JsonValueKind.Object => Dict(value.EnumerateObject().Select(p => (p.Name, FromJson(p.Value))).Where(p => p.Item2 is not null).Select(p => (p.Name, p.Item2!))),
        _ => null,
    };

    // Keys and values alternate; anything else (a key without a value, two keys in a row) is not a dictionary to edit.
    private static bool IsWellFormedDict(XElement dict)
    {
        var children = dict.Elements().ToList();
        if (children.Count % 2 != 0)
        {
            return false;
        }

        for (var i = 0; i < children.Count; i += 2)
        {
            if (children[i].Name.LocalName != "key" || children[i + 1].Name.LocalName == "key")
            {
                return false;
            }
        }

        return true;
    }
}
