namespace Homeroom.Server.Data;

/// <summary>
/// Keeps what Homeroom stores in its data directory readable by the account it runs as only: the
/// SQLite database with its journal files and backups (device credential hashes, accounts, activity)
/// and the data-protection keys (which sign session cookies). Directories Homeroom creates are 0700
/// and these files 0600, from the moment they exist; at start, such files left readable by others by
/// an older version are made owner-only. On Windows the directory's access control list applies.
/// </summary>
public static class DataFiles
{
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The data-protection keys' directory under the data directory.</summary>
    public static string KeysDirectory(string dataDirectory) => Path.Combine(dataDirectory, "keys");

    /// <summary>Creates a directory (and missing parents) owner-only; an existing one is left as it is.</summary>
    public static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        Directory.CreateDirectory(path, PrivateDirectory);
    }

    /// <summary>Creates an empty owner-only file unless it exists, so whatever fills it (SQLite) keeps that mode.</summary>
    public static void CreatePrivateFile(string path)
    {
        if (File.Exists(path))
        {
            return;
        }

        CreatePrivateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFile;
        }

        try
        {
            using var _ = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Created meanwhile by another connection: it was created the same way.
        }
    }

    /// <summary>Makes the database files, backups and keys in <paramref name="dataDirectory"/> owner-only (at start, for data from older versions).</summary>
    public static void RestrictExisting(string dataDirectory)
    {
        if (OperatingSystem.IsWindows() || !Directory.Exists(dataDirectory))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(dataDirectory, "homeroom.db*"))
        {
            Restrict(file, PrivateFile);
        }

        var keys = KeysDirectory(dataDirectory);
        if (Directory.Exists(keys))
        {
            Restrict(keys, PrivateDirectory);
            foreach (var file in Directory.EnumerateFiles(keys))
            {
                Restrict(file, PrivateFile);
            }
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void Restrict(string path, UnixFileMode mode)
    {
        if ((File.GetUnixFileMode(path) & ~mode) != 0)
        {
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) & mode);
        }
    }
}
