using System.Runtime.InteropServices;

namespace Homeroom.Agent.Capabilities.Users;

/// <summary>User ids to account names through the C library (<c>getpwuid_r</c>), so directory accounts (LDAP, SSSD, Active Directory through NSS) resolve as local ones do.</summary>
internal static unsafe partial class UnixAccounts
{
    // struct passwd is 48 bytes on 64-bit Linux and 72 on macOS; pw_name, a char*, comes first on both.
    private const int PasswdSize = 256;
    private const int BufferSize = 16 * 1024;

    [LibraryImport("libc", EntryPoint = "getpwuid_r")]
    private static partial int GetPasswordEntry(uint uid, byte* entry, byte* buffer, nuint bufferLength, byte** result);

    /// <summary>The account name of <paramref name="uid"/>, or null when no account has it.</summary>
    public static string? NameOf(uint uid)
    {
        var entry = stackalloc byte[PasswdSize];
        var buffer = new byte[BufferSize];
        fixed (byte* text = buffer)
        {
            byte* result = null;
            if (GetPasswordEntry(uid, entry, text, BufferSize, &result) != 0 || result == null)
            {
                return null;
            }

            var name = *(byte**)result;
            return name == null ? null : Marshal.PtrToStringUTF8((nint)name);
        }
    }
}
