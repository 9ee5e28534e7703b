using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Homeroom.Agent.State;

/// <summary>
/// Who owns a file and who the process is, on Linux and macOS. .NET reads a file's mode
/// (<see cref="File.GetUnixFileMode(string)"/>) but not its owner, so this asks libc.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static partial class UnixFileOwnership
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxUid = 0x0008;

    [LibraryImport("libc", SetLastError = true)]
    private static partial uint geteuid();

    // statx's layout is the same on every Linux architecture: stx_uid is the 32-bit value at offset 20.
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, Span<byte> buffer);

    // macOS's 64-bit struct stat: st_dev (4), st_mode (2), st_nlink (2), st_ino (8), then st_uid at offset 16.
    [LibraryImport("libc", EntryPoint = "lstat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MacLstat(string path, Span<byte> buffer);

    public static uint EffectiveUserId => geteuid();

    /// <summary>The owner's user id, or null when the file cannot be examined.</summary>
    public static uint? OwnerOf(string path)
    {
        Span<byte> buffer = stackalloc byte[512];
        if (OperatingSystem.IsLinux())
        {
            return Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxUid, buffer) == 0 ? BitConverter.ToUInt32(buffer[20..24]) : null;
        }

        if (OperatingSystem.IsMacOS())
        {
            return MacLstat(path, buffer) == 0 ? BitConverter.ToUInt32(buffer[16..20]) : null;
        }

        return null;
    }
}
