using System.IO.Compression;
using System.Text;

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
    private readonly Dictionary<string, int> _entriesPerCategory = new(StringComparer.Ordinal);

    /// <summary>Entries added.</summary>
    public int Entries { get; internal set; }

    /// <summary>Lines skipped as malformed.</summary>
    public int SkippedLines { get; internal set; }

    /// <summary>The first skipped lines, with their reasons.</summary>
    public IReadOnlyList<FilterListLineError> Errors => _errors;

    /// <summary>Things the import left out on purpose (for example UT1 <c>expressions</c> files).</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>Entries added per category (a category whose files listed nothing usable has 0).</summary>
    public IReadOnlyDictionary<string, int> EntriesPerCategory => _entriesPerCategory;

    internal void Added(string category, int entries) =>
        _entriesPerCategory[category] = _entriesPerCategory.GetValueOrDefault(category) + entries;

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

/// <summary>Thrown when a list is larger than an import reads (<see cref="FilterListImport.MaxDecompressedBytes"/>, <see cref="FilterListImport.MaxArchiveEntryBytes"/>).</summary>
public sealed class FilterListTooLargeException(string message) : Exception(message);

/// <summary>
/// Reads filter lists into a <see cref="FilterListBuilder"/>: the UT1 layout (a folder per category
/// holding <c>domains</c> and <c>urls</c>, as a directory or as the published <c>.tar.gz</c>) and plain
/// lists (one host or host/path per line, or hosts-file lines such as <c>0.0.0.0 example.com</c>).
/// Everything is streamed: bad lines are skipped and reported with their line numbers, a line longer
/// than <see cref="MaxLineLength"/> is never held whole, and <see cref="MaxDecompressedBytes"/> bounds
/// what one archive or list may expand to.
/// </summary>
public static class FilterListImport
{
    /// <summary>Longest line read; a longer one is skipped and reported.</summary>
    public const int MaxLineLength = 2048;

    /// <summary>Most entries one import may add.</summary>
    public const int MaxEntries = 10_000_000;

    /// <summary>Largest file inside an archive, uncompressed.</summary>
    public const long MaxArchiveEntryBytes = 256L * 1024 * 1024;

    /// <summary>Most bytes one archive or plain list may expand to (everything read after decompression, tar headers and skipped files included).</summary>
    public const long MaxDecompressedBytes = 1024L * 1024 * 1024;

    /// <summary>Most files (of any kind) in an archive.</summary>
    public const int MaxArchiveFiles = 10_000;

    private static readonly string TooLongLine = $"The line is longer than {MaxLineLength} characters.";

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
                    AddLines(new FilterListLineReader(reader), builder, category, $"{category}/{kind}", hostsFormat: false, report);
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
    /// <exception cref="FilterListFormatException">Not a readable archive, or no list in it.</exception>
    /// <exception cref="FilterListTooLargeException">It expands to more than <see cref="MaxDecompressedBytes"/>.</exception>
    public static FilterListImportReport ImportUt1Archive(Stream archive, FilterListBuilder builder)
    {
        var report = new FilterListImportReport();
        ReadUt1Archive(archive, (category, kind, lines) => AddLines(lines, builder, category, $"{category}/{kind}", hostsFormat: false, report), report.Note);
        return report;
    }

    /// <summary>
    /// Walks the UT1 archive (<c>blacklists.tar.gz</c>, or an uncompressed tar; the stream must be
    /// seekable) and hands each category's <c>domains</c> or <c>urls</c> file to <paramref name="read"/>
    /// as lines, streamed from the archive. What <paramref name="read"/> leaves unread is skipped.
    /// </summary>
    /// <exception cref="FilterListFormatException">Not a readable archive, or no list in it.</exception>
    /// <exception cref="FilterListTooLargeException">It expands to more than <see cref="MaxDecompressedBytes"/>, or one list is larger than <see cref="MaxArchiveEntryBytes"/>.</exception>
    public static void ReadUt1Archive(Stream archive, Action<string, string, FilterListLineReader> read, Action<string>? note = null)
    {
        if (!archive.CanSeek)
        {
            throw new ArgumentException("The archive stream must be seekable (save an upload to a file first).", nameof(archive));
        }

        var gzip = IsGzip(archive);
        using var gzipStream = gzip ? new GZipStream(archive, CompressionMode.Decompress, leaveOpen: true) : null;
        var tar = new TarStream(Limited(gzipStream ?? archive));
        var files = 0;
        var lists = 0;
        try
        {
            while (tar.MoveNext())
            {
                if (++files > MaxArchiveFiles)
                {
                    throw new FilterListFormatException($"The archive holds more than {MaxArchiveFiles:N0} entries.");
                }

                if (!tar.IsFile)
                {
                    continue;
                }

                // blacklists/<category>/<kind>
                var parts = tar.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
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

                if (tar.Length > MaxArchiveEntryBytes)
                {
                    throw new FilterListTooLargeException($"{tar.Name} is larger than {MaxArchiveEntryBytes / (1024 * 1024)} MB.");
                }

                lists++;
                using var reader = new StreamReader(tar.Data, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 4096, leaveOpen: true);
                read(category, kind, new FilterListLineReader(reader));
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new FilterListFormatException($"The archive is not a readable tar or tar.gz file: {e.Message}");
        }

        if (lists == 0)
        {
            throw new FilterListFormatException("The archive holds no UT1 'domains' or 'urls' files.");
        }
    }

    /// <summary>Imports a plain list (hosts, host/path, or hosts-file lines) into one category.</summary>
    public static FilterListImportReport ImportPlain(TextReader reader, string category, FilterListBuilder builder)
    {
        var report = new FilterListImportReport();
        AddLines(new FilterListLineReader(reader), builder, category, category, hostsFormat: true, report);
        return report;
    }

    /// <summary>Imports a plain list from UTF-8 text, or gzip-compressed UTF-8 text, into one category.</summary>
    /// <exception cref="FilterListFormatException">The gzip data is damaged.</exception>
    /// <exception cref="FilterListTooLargeException">It expands to more than <see cref="MaxDecompressedBytes"/>.</exception>
    public static FilterListImportReport ImportPlain(Stream content, string category, FilterListBuilder builder)
    {
        var report = new FilterListImportReport();
        ReadPlain(content, lines => AddLines(lines, builder, category, category, hostsFormat: true, report));
        return report;
    }

    /// <summary>Hands the lines of a plain list (UTF-8 text, or gzip-compressed UTF-8 text; the stream must be seekable) to <paramref name="read"/>, streamed.</summary>
    /// <exception cref="FilterListFormatException">The gzip data is damaged.</exception>
    /// <exception cref="FilterListTooLargeException">It expands to more than <see cref="MaxDecompressedBytes"/>.</exception>
    public static void ReadPlain(Stream content, Action<FilterListLineReader> read)
    {
        if (!content.CanSeek)
        {
            throw new ArgumentException("The list stream must be seekable.", nameof(content));
        }

        using var gzipStream = IsGzip(content) ? new GZipStream(content, CompressionMode.Decompress, leaveOpen: true) : null;
        try
        {
            using var reader = new StreamReader(Limited(gzipStream ?? content), Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 4096, leaveOpen: true);
            read(new FilterListLineReader(reader));
        }
        catch (InvalidDataException e)
        {
            throw new FilterListFormatException($"The list is not readable gzip data: {e.Message}");
        }
    }

    private static LimitedReadStream Limited(Stream stream) =>
        new(stream, MaxDecompressedBytes, () => new FilterListTooLargeException($"The list expands to more than {MaxDecompressedBytes / (1024 * 1024)} MB."));

    private static void AddLines(FilterListLineReader lines, FilterListBuilder builder, string category, string source, bool hostsFormat, FilterListImportReport report)
    {
        if (!FilterListBuilder.IsValidCategoryName(category))
        {
            report.Skip(source, 0, $"'{category}' is not a valid category name; the file was skipped.");
            return;
        }

        var index = builder.AddCategory(category);
        var entries = new List<string>(4);
        var added = 0;
        while (lines.TryRead(out var line))
        {
            entries.Clear();
            if (line.Text is null)
            {
                report.Skip(source, line.Number, TooLongLine);
                continue;
            }

            if (!TryParseLine(line.Text, hostsFormat, entries, out var lineError))
            {
                report.Skip(source, line.Number, lineError!);
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
                    added++;
                }
                else
                {
                    report.Skip(source, line.Number, error ?? "Not a host.");
                }
            }
        }

        report.Added(category, added);
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
            error = TooLongLine;
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
