using Homeroom.Server.Accounts;
using System.IO.Compression;
using System.Text.Json;
using Homeroom.Rules.Filtering;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Filtering;

/// <summary>An upload's query: the list's name, its format (<c>ut1</c> or <c>plain</c>) and, for a plain list, its category.</summary>
public sealed record UploadFilterListRequest(string? Name, string? Format, string? Category);

/// <summary>What an upload came to.</summary>
public abstract record UploadFilterListOutcome
{
    private UploadFilterListOutcome()
    {
    }

    /// <summary>Imported and stored (created, or replacing the list of the same name); the lists in use now include it.</summary>
    public sealed record Stored(FilterListDto List, bool Replaced) : UploadFilterListOutcome;

    /// <summary>The query or body is not acceptable (400 validation problem).</summary>
    public sealed record Invalid(Dictionary<string, string[]> Errors) : UploadFilterListOutcome;

    /// <summary>Refused with a problem (400 unreadable or no usable entry, 413 too large); nothing was stored.</summary>
    public sealed record Refused(int StatusCode, string Title, string Detail, Dictionary<string, object?>? Extensions = null) : UploadFilterListOutcome;
}

/// <summary>
/// Uploads a filter list: reads the body (bounded), imports it into a fresh list (streamed, bounded
/// lines and decompressed size), and only when it has usable entries stores it, records the change in
/// the audit log and reloads the lists in use. A refused upload changes nothing stored.
/// </summary>
public sealed class UploadFilterList(IDbContextFactory<HomeroomDbContext> dbFactory, FilterListStore store, AuditTrail audit, TimeProvider time)
{
    /// <summary>Largest UT1 archive upload, as sent.</summary>
    public const long MaxArchiveBytes = 200L * 1024 * 1024;

    /// <summary>Largest plain list upload, as sent.</summary>
    public const long MaxPlainBytes = 50L * 1024 * 1024;

    /// <summary>The body limit for a format (the larger one while the format is not yet known to be valid).</summary>
    public static long BodyLimit(string? format) => format == FilterListFormats.Plain ? MaxPlainBytes : MaxArchiveBytes;

    public async Task<UploadFilterListOutcome> ExecuteAsync(StaffScope scope, UploadFilterListRequest request, Stream body, long? contentLength, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageFilterLists);
        var validation = new Validation().Required("name", request.Name, 200);
        var isArchive = request.Format == FilterListFormats.Ut1;
        if (request.Format is not (FilterListFormats.Ut1 or FilterListFormats.Plain))
        {
            validation.Add("format", "Must be 'ut1' (the UT1 archive) or 'plain' (one host per line).");
        }
        else if (!isArchive && !FilterListBuilder.IsValidCategoryName(request.Category))
        {
            validation.Add("category", "A plain list needs a category: 1 to 64 of a-z, A-Z, 0-9, '_', '-', '.'.");
        }

        if (!validation.IsValid)
        {
            return new UploadFilterListOutcome.Invalid(validation.Errors);
        }

        // Read the body whole (bounded) before touching anything stored.
        var limit = BodyLimit(request.Format);
        if (await ReadLimitedAsync(body, contentLength, limit, cancellationToken) is not { } bytes)
        {
            return new UploadFilterListOutcome.Refused(StatusCodes.Status413PayloadTooLarge, "Too large", $"A {request.Format} list may be at most {limit / (1024 * 1024)} MB.");
        }

        if (bytes.Length == 0)
        {
            return new UploadFilterListOutcome.Invalid(new() { ["body"] = ["The file is empty."] });
        }

        if (UploadSniffer.NotAList(bytes, isArchive) is { } notAList)
        {
            return new UploadFilterListOutcome.Refused(StatusCodes.Status400BadRequest, "This file is not a filter list", $"{notAList} The lists in use are unchanged.");
        }

        var content = isArchive ? bytes : await CompressAsync(bytes, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var candidate = new FilterListRecord
        {
            Id = Guid.CreateVersion7(), Name = request.Name!.Trim(), Format = request.Format!, Category = isArchive ? null : request.Category, Content = content,
            ContentBytes = bytes.Length, ReportJson = "{}", CreatedAt = now, UpdatedAt = now,
        };

        FilterListImportReport report;
        try
        {
            report = FilterListStore.Import(candidate, new FilterListBuilder());
        }
        catch (FilterListTooLargeException e)
        {
            return new UploadFilterListOutcome.Refused(StatusCodes.Status413PayloadTooLarge, "The list is too large", $"{e.Message} The lists in use are unchanged.");
        }
        catch (Exception e) when (e is FilterListFormatException or InvalidOperationException or ArgumentException)
        {
            return new UploadFilterListOutcome.Refused(StatusCodes.Status400BadRequest, "The list could not be read", e.Message);
        }

        if (report.Entries == 0)
        {
            return new UploadFilterListOutcome.Refused(
                StatusCodes.Status400BadRequest,
                "The list has no usable entries",
                $"{report.SkippedLines} lines were skipped; the lists in use are unchanged.",
                new() { ["lineErrors"] = report.Errors.Take(50).ToList() });
        }

        candidate.Entries = report.Entries;
        candidate.SkippedLines = report.SkippedLines;
        candidate.ReportJson = JsonSerializer.Serialize(new StoredReport(report.Errors, report.Notes, report.EntriesPerCategory));

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var existing = await db.FilterLists.FirstOrDefaultAsync(l => l.Name == candidate.Name, cancellationToken);
        if (existing is not null)
        {
            existing.Format = candidate.Format;
            existing.Category = candidate.Category;
            existing.Content = candidate.Content;
            existing.ContentBytes = candidate.ContentBytes;
            existing.Entries = candidate.Entries;
            existing.SkippedLines = candidate.SkippedLines;
            existing.ReportJson = candidate.ReportJson;
            existing.UpdatedAt = now;
            audit.Record(db, "filter-list.replace", "filter-list", existing.Id.ToString(), $"{existing.Name}: {report.Entries} entries, {report.SkippedLines} skipped");
        }
        else
        {
            db.FilterLists.Add(candidate);
            audit.Record(db, "filter-list.create", "filter-list", candidate.Id.ToString(), $"{candidate.Name}: {report.Entries} entries, {report.SkippedLines} skipped");
        }

        await db.SaveChangesAsync(cancellationToken);
        await store.ReloadAsync(cancellationToken);
        return new UploadFilterListOutcome.Stored(FilterListDto.From(existing ?? candidate), existing is not null);
    }

    // The body, or null when it is larger than the limit (declared or actual).
    private static async Task<byte[]?> ReadLimitedAsync(Stream body, long? contentLength, long limit, CancellationToken cancellationToken)
    {
        if (contentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream(contentLength is { } declared ? (int)declared : 0);
        var chunk = new byte[81920];
        try
        {
            int read;
            while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException)
        {
            return null; // Kestrel's own limit was hit first.
        }

        return buffer.ToArray();
    }

    private static async Task<byte[]> CompressAsync(byte[] text, CancellationToken cancellationToken)
    {
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            await gzip.WriteAsync(text, cancellationToken);
        }

        return compressed.ToArray();
    }
}

/// <summary>
/// Tells an upload that is plainly not what its format says (an image, a document, other binary
/// data, an archive sent as a plain list) before it is imported, so the refusal names what the
/// file is instead of listing every line as unreadable.
/// </summary>
internal static class UploadSniffer
{
    private const int SampleBytes = 64 * 1024;

    /// <summary>Why the upload is not a list of its declared format, or null when it may be one.</summary>
    public static string? NotAList(byte[] bytes, bool isArchive)
    {
        var gzip = bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
        if (isArchive)
        {
            // A UT1 archive is a tar, usually gzip-compressed; the import says what is wrong with a damaged one.
            return !gzip && Known(bytes) is { } kind ? $"It is {kind}, not a UT1 archive (blacklists.tar.gz)." : null;
        }

        if (!gzip && Known(bytes) is { } known)
        {
            return $"It is {known}, not a list. A plain list is text: one host or host/path per line.";
        }

        var sample = gzip ? Decompressed(bytes) : bytes.AsSpan(0, Math.Min(bytes.Length, SampleBytes)).ToArray();
        if (sample is null)
        {
            return null; // Damaged gzip: the import reports it.
        }

        if (sample.Length > 262 && sample.AsSpan(257, 5).SequenceEqual("ustar"u8))
        {
            return "It is a tar archive, not a plain list. Upload a UT1 archive as 'UT1 archive'.";
        }

        if (Known(sample) is { } inner)
        {
            return $"It holds {inner}, not a list. A plain list is text: one host or host/path per line.";
        }

        var controls = 0;
        foreach (var b in sample)
        {
            if (b == 0)
            {
                return "It holds binary data, not text. A plain list is text: one host or host/path per line.";
            }

            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0b or 0x0c))
            {
                controls++;
            }
        }

        return controls > sample.Length / 20 ? "It holds binary data, not text. A plain list is text: one host or host/path per line." : null;
    }

    private static string? Known(ReadOnlySpan<byte> b) => b switch
    {
        [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => "a PNG image",
        [0xff, 0xd8, 0xff, ..] => "a JPEG image",
        [(byte)'G', (byte)'I', (byte)'F', (byte)'8', ..] => "a GIF image",
        [(byte)'%', (byte)'P', (byte)'D', (byte)'F', ..] => "a PDF document",
        [(byte)'P', (byte)'K', 3, 4, ..] => "a ZIP archive (or an Office document)",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', ..] => "a media file",
        [0x7f, (byte)'E', (byte)'L', (byte)'F', ..] => "a program",
        [0x42, 0x5a, 0x68, ..] => "a bzip2 archive",
        [0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', ..] => "an xz archive",
        [(byte)'7', (byte)'z', 0xbc, 0xaf, ..] => "a 7-Zip archive",
        _ => null,
    };

    private static byte[]? Decompressed(byte[] bytes)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(bytes, writable: false), CompressionMode.Decompress);
            var sample = new byte[SampleBytes];
            var total = 0;
            int read;
            while (total < sample.Length && (read = gzip.Read(sample, total, sample.Length - total)) > 0)
            {
                total += read;
            }

            return sample[..total];
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}
