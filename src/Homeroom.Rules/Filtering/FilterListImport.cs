using System.Formats.Tar;
using System.IO.Compression;

namespace Homeroom.Rules.Filtering;

/// <summary>A line of a list that was skipped, and why.</summary>
/// <param name="Source">The file (for UT1, <c>category/domains</c>) or list name.</param>
/// <param name="Line">1-based line number.</param>
/// <param name="Message">Why the line was skipped.</param>
public sealed record FilterListLineError(string Source, int Line, string Message);

/// <summary>What an import read: entries added, lines skipped (the first <see cref="MaxErrorsKept"/> kept), notes.</summary>
public sealed class FilterListImportReport
{
    /// <summary>Skipped lines kept for display; the rest are only counted.</summary>
    public const int MaxErrorsKept = 200;

    private readonly List<FilterListLineError> _errors = [];
    private readonly List<string> _notes = [];

    /// <summary>Entries added.</summary>
    public int Entries { get; internal set; }

    /// <summary>Lines skipped as malformed.</summary>
    public int SkippedLines { get; internal set; }

    /// <summary>The first skipped lines, with their reasons.</summary>
    public IReadOnlyList<FilterListLineError> Errors => _errors;

    /// <summary>Things the import left out on purpose (for example UT1 <c>expressions</c> files).</summary>
    public IReadOnlyList<string> Notes => _notes;

    internal void Skip(string source, int line, string message)
    {
        SkippedLines++;
        if (_errors.Count < MaxErrorsKept)
        {
            _errors.Add(new FilterListLineError(source, line, message));
        }
    }

    internal void Note(string note) => _notes.Add(note);
}

/// <summary>Thrown when a list cannot be imported at all (as opposed to single bad lines, which are skipped and reported).</summary>
public sealed class FilterListFormatException(string message) : Exception(message);

/// <summary>
/// Reads filter lists into a <see cref="FilterListBuilder"/>: the UT1 layout (a folder per category
/// holding <c>domains</c> and <c>urls</c>, as a directory or as the published <c>.tar.gz</c>) and plain
/// lists (one host or host/path per line, or hosts-file lines such as <c>0.0.0.0 example.com</c>).
/// Bad lines are skipped and reported with their line numbers; limits stop oversized input.
/// </summary>
public static class FilterListImport
{
    /// <summary>Longest line read.</summary>
    public const int MaxLineLength = 2048;

    /// <summary>Most entries one import may add.</summary>
    public const int MaxEntries = 10_000_000;

    /// <summary>Largest file inside an archive, uncompressed.</summary>
    public const long MaxArchiveEntryBytes = 256L * 1024 * 1024;

    /// <summary>Most bytes read from an archive, uncompressed.</summary>
    public const long MaxArchiveBytes = 1024L * 1024 * 1024;

    /// <summary>Imports a UT1 directory (the folder holding one folder per category).</summary>
    public static FilterListImportReport ImportUt1Directory(string directory, FilterListBuilder builder)
    {
        var report = new FilterListImportReport();
        if (!Directory.Exists(directory))
        {
            throw new FilterListFormatException($"The directory '{directory}' does not exist.");
        }

        foreach (var categoryDir in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
        {
            var category = Path.GetFileName(categoryDir);
            foreach (var kind in new[] { "domains", "urls" })
            {
                var file = Path.Combine(categoryDir, kind);
                if (File.Exists(file))
                {
                    using var reader = new StreamReader(file);
                    AddLines(reader, builder, category, $"{category}/{kind}", hostsFormat: false, report);
                }
            }

            if (File.Exists(Path.Combine(categoryDir, "expressions")))
            {
                report.Note($"{category}/expressions: regular expressions are not imported.");
            }
        }

        return report;
    }

    /// <summary>Imports the UT1 archive (<c>blacklists.tar.gz</c>, or an uncompressed tar).</summary>
    public static FilterListImportReport ImportUt1Archive(Stream archive, FilterListBuilder builder)
    {
        var report = new FilterListImportReport();
        ReadUt1Archive(archive, (category, kind, reader) => AddLines(reader, builder, category, $"{category}/{kind}", hostsFormat: false, report), report.Note);
        return report;
    }

    /// <summary>
    /// Walks the UT1 archive (<c>blacklists.tar.gz</c>, or an uncompressed tar; the stream must be
    /// seekable) and hands each category's <c>domains</c> or <c>urls</c> file to <paramref name="read"/>.
    /// </summary>
    public static void ReadUt1Archive(Stream archive, Action<string, string, TextReader> read, Action<string>? note = null)
    {
        if (!archive.CanSeek)
        {
            throw new ArgumentException("The archive stream must be seekable (save an upload to a file first).", nameof(archive));
        }

        var gzip = IsGzip(archive);
        using var gzipStream = gzip ? new GZipStream(archive, CompressionMode.Decompress, leaveOpen: true) : null;
        using var tar = new TarReader(gzipStream ?? archive, leaveOpen: true);
        long total = 0;
        var files = 0;
        try
        {
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    continue;
                }

                // blacklists/<category>/<kind>
                var parts = entry.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 2)
                {
                    continue;
                }

                var category = parts[^2];
                var kind = parts[^1];
                if (kind == "expressions")
                {
                    note?.Invoke($"{category}/expressions: regular expressions are not imported.");
                    continue;
                }

                if (kind is not ("domains" or "urls"))
                {
                    continue;
                }

                if (entry.Length > MaxArchiveEntryBytes)
                {
                    throw new FilterListFormatException($"{entry.Name} is larger than {MaxArchiveEntryBytes / (1024 * 1024)} MB.");
                }

                total += entry.Length;
                if (total > MaxArchiveBytes || ++files > 10_000)
                {
                    throw new FilterListFormatException("The archive is too large.");
                }

                using var reader = new StreamReader(entry.DataStream);
                read(category, kind, reader);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new FilterListFormatException($"The archive is not a readable tar or tar.gz file: {e.Message}");
        }

        if (files == 0)
        {
            throw new FilterListFormatException("The archive holds no UT1 'domains' or 'urls' files.");
        }
    }

    /// <summary>Imports a plain list (hosts, host/path, or hosts-file lines) into one category.</summary>
    public static FilterListImportReport ImportPlain(TextReader reader, string category, FilterListBuilder builder)
    {
        var report = new FilterListImportReport();
        AddLines(reader, builder, category, category, hostsFormat: true, report);
        return report;
    }

    private static void AddLines(TextReader reader, FilterListBuilder builder, string category, string source, bool hostsFormat, FilterListImportReport report)
    {
        if (!FilterListBuilder.IsValidCategoryName(category))
        {
            report.Skip(source, 0, $"'{category}' is not a valid category name; the file was skipped.");
            return;
        }

        var index = builder.AddCategory(category);
        var lineNumber = 0;
        var entries = new List<string>(4);
        while (ReadLine(reader) is { } line)
        {
            lineNumber++;
            entries.Clear();
            if (!TryParseLine(line, hostsFormat, entries, out var lineError))
            {
                report.Skip(source, lineNumber, lineError!);
                continue;
            }

            foreach (var entry in entries)
            {
                if (report.Entries >= MaxEntries)
                {
                    throw new FilterListFormatException($"A filter list holds at most {MaxEntries:N0} entries.");
                }

                if (builder.TryAdd(index, entry, out var error))
                {
                    report.Entries++;
                }
                else
                {
                    report.Skip(source, lineNumber, error ?? "Not a host.");
                }
            }
        }
    }

    /// <summary>
    /// Splits one list line into its entries: none for blanks and comments, one host or host/path,
    /// or (in hosts-file format) every host after a sink address such as <c>0.0.0.0</c>. The entries
    /// are not yet checked as hosts; <see cref="FilterListBuilder.TryAdd"/> does that.
    /// </summary>
    public static bool TryParseLine(string line, bool hostsFormat, List<string> entries, out string? error)
    {
        error = null;
        if (line.Length > MaxLineLength)
        {
            error = $"The line is longer than {MaxLineLength} characters.";
            return false;
        }

        var text = line.AsSpan().Trim();
        if (text.IsEmpty || text[0] == '#' || text[0] == '!')
        {
            return true;
        }

        var comment = text.IndexOf(" #", StringComparison.Ordinal);
        if (comment >= 0)
        {
            text = text[..comment].TrimEnd();
        }

        if (hostsFormat)
        {
            // "0.0.0.0 example.com", "127.0.0.1 a.example b.example": the address is dropped.
            var space = text.IndexOfAny(' ', '\t');
            if (space > 0 && IsSinkAddress(text[..space]))
            {
                var hosts = text[space..];
                foreach (var range in hosts.SplitAny(" \t"))
                {
                    var host = hosts[range];
                    if (!host.IsEmpty && host is not "localhost" && host is not "localhost.localdomain")
                    {
                        entries.Add(host.ToString());
                    }
                }

                return true;
            }

            if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            {
                text = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
            }
        }

        if (text.ContainsAny(' ', '\t'))
        {
            error = "A line holds one host or host/path.";
            return false;
        }

        entries.Add(text.ToString());
        return true;
    }

    // Cuts an overlong line to MaxLineLength + 1 characters so the length check reports it; the
    // memory a single line can take is bounded by the caller's size limit on the whole input.
    private static string? ReadLine(TextReader reader)
    {
        var line = reader.ReadLine();
        return line is null || line.Length <= MaxLineLength ? line : line[..(MaxLineLength + 1)];
    }

    private static bool IsSinkAddress(ReadOnlySpan<char> address) =>
        address is "0.0.0.0" or "127.0.0.1" or "::" or "::1" or "0";

    private static bool IsGzip(Stream stream)
    {
        var start = stream.Position;
        var first = stream.ReadByte();
        var second = stream.ReadByte();
        stream.Position = start;
        return first == 0x1f && second == 0x8b;
    }
}
