using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Homeroom.Agent.Capabilities.Users;

/// <summary>
/// Windows: the user of the session attached to the physical console (<c>WTSGetActiveConsoleSessionId</c>, then
/// <c>WTSQuerySessionInformation</c>'s user name, without the domain). A service runs in session 0, so it asks
/// rather than looking at its own. Nobody while the sign-in screen shows. Written and compiled here, never run on Windows.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed partial class WindowsConsoleUser : ISignedInUserCapability
{
    private const uint NoConsoleSession = 0xFFFFFFFF;
    private const int WtsUserName = 5;

    [LibraryImport("kernel32.dll")]
    private static partial uint WTSGetActiveConsoleSessionId();

    [LibraryImport("wtsapi32.dll", EntryPoint = "WTSQuerySessionInformationW", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool WTSQuerySessionInformation(nint server, uint sessionId, int infoClass, out nint buffer, out uint bytes);

    [LibraryImport("wtsapi32.dll")]
    private static partial void WTSFreeMemory(nint memory);

    public Task<string?> CurrentAccountAsync(CancellationToken cancellationToken) => Task.FromResult(ConsoleUser());

    private static string? ConsoleUser()
    {
        var session = WTSGetActiveConsoleSessionId();
        // nint 0 is WTS_CURRENT_SERVER_HANDLE: this computer.
        if (session == NoConsoleSession || !WTSQuerySessionInformation(0, session, WtsUserName, out var buffer, out _))
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUni(buffer) is { Length: > 0 } name ? name : null;
        }
        finally
        {
            WTSFreeMemory(buffer);
        }
    }
}
