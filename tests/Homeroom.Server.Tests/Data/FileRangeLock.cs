using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Homeroom.Server.Tests.Data;

/// <summary>
/// An exclusive lock on a byte range of a file, taken as an open file description lock (Linux's <c>F_OFD_SETLK</c>).
/// Unlike the process-wide record locks SQLite takes, and that <see cref="FileStream.Lock"/> takes, it conflicts with
/// them even inside the same process: a test holds one of SQLite's own locks with it, as another process would.
/// </summary>
public sealed partial class FileRangeLock : IDisposable
{
    private const int OfdSetLock = 37; // F_OFD_SETLK
    private const short WriteLock = 1; // F_WRLCK
    private const short Unlocked = 2; // F_UNLCK

    private readonly FileStream _file;
    private readonly long _offset;
    private readonly long _length;
    private bool _released;

    private FileRangeLock(FileStream file, long offset, long length)
    {
        _file = file;
        _offset = offset;
        _length = length;
    }

    /// <summary>Takes the lock at once, or throws when someone else holds a conflicting one.</summary>
    public static FileRangeLock Take(string path, long offset, long length)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        try
        {
            Set(file.SafeFileHandle, WriteLock, offset, length);
            return new FileRangeLock(file, offset, length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        Set(_file.SafeFileHandle, Unlocked, _offset, _length);
        _file.Dispose();
    }

    private static void Set(SafeFileHandle handle, short type, long offset, long length)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Open file description locks are Linux's.");
        }

        var request = new Flock { Type = type, Whence = 0, Start = offset, Length = length };
        if (Fcntl(handle, OfdSetLock, ref request) != 0)
        {
            throw new IOException($"fcntl(F_OFD_SETLK) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Linux's <c>struct flock</c> on 64-bit systems.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(SafeFileHandle handle, int command, ref Flock request);
}
