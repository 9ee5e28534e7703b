using System.Text;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>One CSV record and the line of the file it starts on (1-based; a quoted field may span lines).</summary>
public sealed record CsvRecord(int Line, string[] Fields);

/// <summary>
/// Reads RFC 4180 CSV: comma-separated, fields optionally in double quotes, a doubled quote inside
/// quotes for a quote, line breaks (CRLF or LF) inside quotes kept as data. A UTF-8 byte-order mark
/// is skipped. Records carry the line they start on, so errors can name it.
/// </summary>
public static class CsvRecords
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The text of a CSV file, or null when it is not UTF-8 (OneRoster files are UTF-8).</summary>
    public static string? Decode(byte[] bytes)
    {
        var span = bytes.AsSpan();
        if (span.StartsWith((byte[])[0xEF, 0xBB, 0xBF]))
        {
            span = span[3..];
        }

        try
        {
            return StrictUtf8.GetString(span);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>The records of <paramref name="text"/>; an unterminated quote ends the file with an error.</summary>
    public static List<CsvRecord> Parse(string text, out string? error)
    {
        error = null;
        var records = new List<CsvRecord>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var line = 1;
        var recordLine = 1;
        var i = 0;
        var inQuotes = false;
        var fieldStarted = false;
        while (i < text.Length)
        {
            var c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i += 2;
                        continue;
                    }

                    inQuotes = false;
                    i++;
                    continue;
                }

                if (c == '\n')
                {
                    line++;
                }

                field.Append(c);
                i++;
                continue;
            }

            switch (c)
            {
                case '"' when field.Length == 0:
                    inQuotes = true;
                    fieldStarted = true;
                    i++;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    fieldStarted = true;
                    i++;
                    break;
                case '\r' or '\n':
                    if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                    {
                        i++;
                    }

                    i++;
                    EndRecord();
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(c);
                    fieldStarted = true;
                    i++;
                    break;
            }
        }

        if (inQuotes)
        {
            error = $"A quoted field that starts on line {recordLine} is never closed.";
        }

        EndRecord();
        return records;

        void EndRecord()
        {
            if (!fieldStarted && fields.Count == 0 && field.Length == 0)
            {
                return; // An empty line (or the end after a final line break) is no record.
            }

            fields.Add(field.ToString());
            records.Add(new CsvRecord(recordLine, [.. fields]));
            fields.Clear();
            field.Clear();
            fieldStarted = false;
        }
    }
}
