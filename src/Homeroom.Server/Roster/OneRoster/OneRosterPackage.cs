using System.IO.Compression;

namespace Homeroom.Server.Roster.OneRoster;

/// <summary>Why a whole package is refused (not a zip, too many entries, a path inside, too large once unpacked).</summary>
public sealed class PackageRefusedException(string message) : Exception(message);

/// <summary>
/// The files of a OneRoster CSV set, by name, read from a zip upload or a folder. A zip is read with
/// limits: its entry count, entry names (a plain file name: no folder, no path, no "..") and the bytes
/// all entries give once decompressed, counted as they are read rather than taken from the zip's own
/// headers (which a zip bomb can forge).
/// </summary>
public static class OneRosterPackage
{
    public static IReadOnlyDictionary<string, byte[]> FromZip(byte[] zip, OneRosterOptions options)
    {
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(new MemoryStream(zip, writable: false), ZipArchiveMode.Read);
        }
        catch (InvalidDataException)
        {
            throw new PackageRefusedException("The upload is not a zip file.");
        }

        using (archive)
        {
            if (archive.Entries.Count > options.MaxZipEntries)
            {
                throw new PackageRefusedException($"The zip has {archive.Entries.Count} entries; at most {options.MaxZipEntries} are accepted.");
            }

            var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
            long total = 0;
            var buffer = new byte[81920];
            foreach (var entry in archive.Entries)
            {
                var name = entry.FullName;
                if (name.Length == 0 || name.Length > 255 || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal)
                    || name.Contains("..", StringComparison.Ordinal) || name.Contains(':', StringComparison.Ordinal) || name.Any(char.IsControl))
                {
                    throw new PackageRefusedException($"The zip entry '{Printable(name)}' is not a plain file name: OneRoster files sit at the top of the zip, without folders or paths.");
                }

                if (!files.TryAdd(name, []))
                {
                    throw new PackageRefusedException($"The zip holds '{Printable(name)}' twice.");
                }

                using var output = new MemoryStream();
                try
                {
                    using var input = entry.Open();
                    int read;
                    while ((read = input.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        total += read;
                        if (total > options.MaxUncompressedBytes)
                        {
                            throw new PackageRefusedException($"The zip unpacks to more than {options.MaxUncompressedBytes:N0} bytes; refused.");
                        }

                        output.Write(buffer, 0, read);
                    }
                }
                catch (InvalidDataException)
                {
                    throw new PackageRefusedException($"The zip entry '{Printable(name)}' is damaged.");
                }

                files[name] = output.ToArray();
            }

            return files;
        }
    }

    /// <summary>The CSV files of a folder (for the benchmark and tools); the same total limit applies.</summary>
    public static IReadOnlyDictionary<string, byte[]> FromDirectory(string path, OneRosterOptions options)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        long total = 0;
        foreach (var file in Directory.EnumerateFiles(path, "*.csv", SearchOption.TopDirectoryOnly))
        {
            total += new FileInfo(file).Length;
            if (total > options.MaxUncompressedBytes)
            {
                throw new PackageRefusedException($"The folder holds more than {options.MaxUncompressedBytes:N0} bytes of CSV; refused.");
            }

            files[Path.GetFileName(file)] = File.ReadAllBytes(file);
        }

        return files;
    }

    private static string Printable(string name)
    {
        var clean = new string([.. name.Take(100).Select(c => char.IsControl(c) ? '?' : c)]);
        return name.Length > 100 ? clean + "…" : clean;
    }
}
