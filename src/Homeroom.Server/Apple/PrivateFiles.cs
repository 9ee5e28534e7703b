namespace Homeroom.Server.Apple;

/// <summary>
/// Files that hold private keys (the device CA, the push certificate's key): created readable and
/// writable by the server's user only (0600, in a 0700 directory), written whole through a temporary
/// file so a crash never leaves half a key, and narrowed to 0600 when found wider.
/// </summary>
public static class PrivateFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;

    /// <summary>Creates the directory (0700 when new) and returns it.</summary>
    public static string Directory(string path)
    {
        if (!System.IO.Directory.Exists(path))
        {
            if (OperatingSystem.IsWindows())
            {
                System.IO.Directory.CreateDirectory(path);
            }
            else
            {
                System.IO.Directory.CreateDirectory(path, OwnerOnlyDirectory);
            }
        }

        return path;
    }

    public static void Write(string path, byte[] content)
    {
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        Restrict(temporary); // an existing temporary file keeps its old mode; make sure
        File.Move(temporary, path, overwrite: true);
    }

    public static void Write(string path, string content) => Write(path, System.Text.Encoding.UTF8.GetBytes(content));

    /// <summary>Narrows an existing file to 0600 (files written by older versions were 0644).</summary>
    public static void Restrict(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path) && File.GetUnixFileMode(path) != OwnerOnly)
        {
            File.SetUnixFileMode(path, OwnerOnly);
        }
    }
}
