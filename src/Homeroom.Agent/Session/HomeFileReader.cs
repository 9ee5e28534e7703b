using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Session;

/// <summary>
/// Finds and reads a file a technician asks for (<see cref="RemoteFileRequestFrame"/>) in the signed-in user's home folder, for
/// the user-session helper (which runs as that user). The path must pass <see cref="RemoteFileLimits.ValidateRequestPath"/>;
/// then every link in it is resolved (libc's <c>realpath</c>) and the file is refused unless what it resolves to is still
/// inside the home folder (itself resolved) and is a regular file (<c>statx</c>: not a folder, a pipe, a socket or a device,
/// which could not be read whole or could block), of 1 byte to the server's limit.
/// </summary>
[SupportedOSPlatform("linux")]
public static partial class HomeFileReader
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x0001;
    private const uint StatxSize = 0x0200;
    private const int RegularFile = 0x8000;
    private const int FileTypeMask = 0xF000;

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);

    // statx's layout is the same on every Linux architecture: stx_mode is the 16-bit value at offset 28, stx_size the 64-bit one at 40.
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, Span<byte> buffer);

    /// <summary>The home folder of the user the helper runs as.</summary>
    public static string DefaultHome() =>
        Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home ? home : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>
    /// The file <paramref name="relative"/> names in <paramref name="home"/>, every link resolved, and its size; or why it is
    /// refused (nothing is read then).
    /// </summary>
    public static (string? Path, long Size, string? Refusal) Resolve(string home, string relative, long maxBytes)
    {
        if (RemoteFileLimits.ValidateRequestPath(relative) is { } invalid)
        {
            return (null, 0, invalid);
        }

        if (Resolved(home) is not { } realHome)
        {
            return (null, 0, "the home folder cannot be read");
        }

        if (Resolved(Path.Combine(realHome, relative)) is not { } real)
        {
            return (null, 0, "there is no such file in the home folder");
        }

        // Links are followed, but only as far as the home folder: one that leads out of it is refused.
        if (!real.StartsWith(realHome.TrimEnd('/') + "/", StringComparison.Ordinal))
        {
            return (null, 0, "the path leads outside the home folder (through a link); nothing was sent");
        }

        Span<byte> buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, real, AtSymlinkNoFollow, StatxType | StatxSize, buffer) != 0)
        {
            return (null, 0, "the file cannot be examined");
        }

        var mode = BitConverter.ToUInt16(buffer[28..30]);
        var size = BitConverter.ToInt64(buffer[40..48]);
        return (mode & FileTypeMask) != RegularFile ? (null, 0, "that is not a file (a folder, a pipe or a device); nothing was sent")
            : size == 0 ? (null, 0, "the file is empty; nothing was sent")
            : size > maxBytes ? (null, size, $"the file is larger than {maxBytes:N0} bytes, the most the server takes; nothing was sent")
            : (real, size, null);
    }

    /// <summary>Reads the whole file <see cref="Resolve"/> found, at most <paramref name="maxBytes"/>; null when it grew past that meanwhile.</summary>
    public static async Task<byte[]?> ReadAsync(string path, long maxBytes, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024, useAsync: true);
        using var content = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (content.Length + read > maxBytes)
            {
                return null;
            }

            content.Write(buffer, 0, read);
        }

        return content.ToArray();
    }

    private static string? Resolved(string path)
    {
        var pointer = RealPath(path, IntPtr.Zero);
        if (pointer == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(pointer);
        }
        finally
        {
            Free(pointer);
        }
    }
}
