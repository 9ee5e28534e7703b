using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Principal;
using Microsoft.Win32.SafeHandles;

namespace Homeroom.Agent.Session.Windows;

/// <summary>
/// The session channel's transport on Windows: a local named pipe (<c>\\.\pipe\homeroom-agent-session</c>) whose
/// security descriptor is <see cref="WindowsPipePeers.SecurityDescriptor"/>, created with <c>PIPE_REJECT_REMOTE_CLIENTS</c>,
/// the first instance with <c>FILE_FLAG_FIRST_PIPE_INSTANCE</c> (so the service fails rather than joins a pipe someone
/// created first). Each end asks Windows who the other is. Written from Microsoft's documentation and compiled here;
/// never run on Windows.
/// </summary>
[SupportedOSPlatform("windows")]
public static unsafe partial class WindowsPipes
{
    private const uint PipeAccessDuplex = 0x3;
    private const uint FileFlagOverlapped = 0x4000_0000;
    private const uint FileFlagFirstPipeInstance = 0x0008_0000;
    private const uint PipeRejectRemoteClients = 0x8;
    private const uint MaxInstances = 16;
    private const uint BufferSize = 64 * 1024;
    private const uint SddlRevision1 = 1;
    private const int SeKernelObject = 6;
    private const uint OwnerSecurityInformation = 0x1;
    private const uint ProcessQueryLimitedInformation = 0x1000;
    private const uint TokenQuery = 0x0008;
    private const int TokenUserClass = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct SecurityAttributes
    {
        public uint Length;
        public nint SecurityDescriptor;
        public int InheritHandle;
    }

    [LibraryImport("kernel32.dll", EntryPoint = "CreateNamedPipeW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    private static partial nint CreateNamedPipe(string name, uint openMode, uint pipeMode, uint maxInstances, uint outBuffer, uint inBuffer, uint defaultTimeout, SecurityAttributes* attributes);

    [LibraryImport("advapi32.dll", EntryPoint = "ConvertStringSecurityDescriptorToSecurityDescriptorW", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool ConvertStringSecurityDescriptor(string sddl, uint revision, out nint descriptor, nint size);

    [LibraryImport("kernel32.dll")]
    private static partial nint LocalFree(nint memory);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool GetNamedPipeClientProcessId(SafePipeHandle pipe, out uint processId);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool GetNamedPipeServerProcessId(SafePipeHandle pipe, out uint processId);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool GetNamedPipeServerSessionId(SafePipeHandle pipe, out uint sessionId);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool ProcessIdToSessionId(uint processId, out uint sessionId);

    [LibraryImport("kernel32.dll", SetLastError = true)]
    private static partial nint OpenProcess(uint access, [MarshalAs(UnmanagedType.Bool)] bool inherit, uint processId);

    [LibraryImport("kernel32.dll")]
    [return: MarshalAs(UnmanagedType.Bool)]
    internal static partial bool CloseHandle(nint handle);

    [LibraryImport("advapi32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool OpenProcessToken(nint process, uint access, out nint token);

    [LibraryImport("advapi32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool GetTokenInformation(nint token, int infoClass, void* buffer, uint length, out uint returned);

    [LibraryImport("advapi32.dll")]
    private static partial uint GetSecurityInfo(SafePipeHandle handle, int objectType, uint information, out nint owner, nint group, nint dacl, nint sacl, out nint descriptor);

    [LibraryImport("wtsapi32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    internal static partial bool WTSQueryUserToken(uint sessionId, out nint token);

    /// <summary>Path form of the pipe's name.</summary>
    public static string PipePath(string channelName) => @"\\.\pipe\" + WindowsPipePeers.PipeName(channelName);

    /// <summary>
    /// A server end, not yet connected. <paramref name="first"/>: the first instance, which fails (<see cref="IOException"/>)
    /// when the name is already taken by another process's pipe; the service keeps one instance waiting at all times, so the
    /// name stays its own.
    /// </summary>
    public static NamedPipeServerStream CreateServer(string channelName, bool first)
    {
        if (!ConvertStringSecurityDescriptor(WindowsPipePeers.SecurityDescriptor, SddlRevision1, out var descriptor, 0))
        {
            throw new IOException($"the pipe's security descriptor was refused (error {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            var attributes = new SecurityAttributes { Length = (uint)sizeof(SecurityAttributes), SecurityDescriptor = descriptor };
            var mode = PipeAccessDuplex | FileFlagOverlapped | (first ? FileFlagFirstPipeInstance : 0);
            var handle = CreateNamedPipe(PipePath(channelName), mode, PipeRejectRemoteClients, MaxInstances, BufferSize, BufferSize, 0, &attributes);
            if (handle == -1)
            {
                throw new IOException($"cannot create the pipe {PipePath(channelName)} (error {Marshal.GetLastPInvokeError()})");
            }

            return new NamedPipeServerStream(PipeDirection.InOut, isAsync: true, isConnected: false, new SafePipeHandle(handle, ownsHandle: true));
        }
        finally
        {
            LocalFree(descriptor);
        }
    }

    /// <summary>The service's view of a connected helper: its process, its session and its user, from Windows.</summary>
    public static PeerCredentials ClientPeer(NamedPipeServerStream pipe)
    {
        if (!GetNamedPipeClientProcessId(pipe.SafePipeHandle, out var processId))
        {
            return new PeerCredentials(0, PeerCredentials.NoUnixId, PeerCredentials.NoUnixId);
        }

        int? session = ProcessIdToSessionId(processId, out var s) ? (int)s : null;
        return new PeerCredentials((int)processId, PeerCredentials.NoUnixId, PeerCredentials.NoUnixId, session, ProcessUserSid(processId));
    }

    /// <summary>The user signed in to <paramref name="sessionId"/> (needs LocalSystem's SeTcbPrivilege); null when nobody is.</summary>
    public static string? SessionUserSid(int sessionId)
    {
        if (!WTSQueryUserToken((uint)sessionId, out var token))
        {
            return null;
        }

        try
        {
            return TokenUserSid(token);
        }
        finally
        {
            CloseHandle(token);
        }
    }

    /// <summary>
    /// The helper's check of the server end before it sends anything: null and the service's identity when it is the
    /// service, else the reason (<see cref="WindowsPipePeers.ServiceRefusal"/>).
    /// </summary>
    public static (PeerCredentials Peer, string? Refusal) ServerPeer(NamedPipeClientStream pipe)
    {
        var processId = GetNamedPipeServerProcessId(pipe.SafePipeHandle, out var pid) ? pid : 0;
        int? session = GetNamedPipeServerSessionId(pipe.SafePipeHandle, out var s) ? (int)s : null;
        var user = processId == 0 ? null : ProcessUserSid(processId);
        string? owner = null;
        if (GetSecurityInfo(pipe.SafePipeHandle, SeKernelObject, OwnerSecurityInformation, out var ownerSid, 0, 0, 0, out var descriptor) == 0)
        {
            try
            {
                owner = new SecurityIdentifier(ownerSid).Value;
            }
            finally
            {
                LocalFree(descriptor);
            }
        }

        return (new PeerCredentials((int)processId, PeerCredentials.NoUnixId, PeerCredentials.NoUnixId, session, user), WindowsPipePeers.ServiceRefusal(session, user, owner));
    }

    /// <summary>The user SID of a process's token; null when it cannot be opened (another user's process, for a standard user).</summary>
    public static string? ProcessUserSid(uint processId)
    {
        var process = OpenProcess(ProcessQueryLimitedInformation, false, processId);
        if (process == 0)
        {
            return null;
        }

        try
        {
            if (!OpenProcessToken(process, TokenQuery, out var token))
            {
                return null;
            }

            try
            {
                return TokenUserSid(token);
            }
            finally
            {
                CloseHandle(token);
            }
        }
        finally
        {
            CloseHandle(process);
        }
    }

    private static string? TokenUserSid(nint token)
    {
        // TOKEN_USER: a SID_AND_ATTRIBUTES whose first field points at the SID, inside the same buffer.
        var buffer = stackalloc byte[256];
        if (!GetTokenInformation(token, TokenUserClass, buffer, 256, out _))
        {
            return null;
        }

        return new SecurityIdentifier(*(nint*)buffer).Value;
    }
}
