using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Session.Windows;

/// <summary>
/// When the service starts a helper in a session: pure, so it is tested on any OS.
/// </summary>
public static class WindowsHelperStarts
{
    /// <summary>The least time between two starts in one session, so a helper that keeps failing (refused, crashing) is not started every few seconds.</summary>
    public static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(30);

    /// <summary><c>WTSActive</c>: a user is signed in and the session is attached to the console or a Remote Desktop connection.</summary>
    public const int ActiveState = 0;

    /// <summary>
    /// The sessions to start a helper in: active user sessions (not session 0) where no helper the service started is
    /// running, none is connected (started some other way, or still running from before a service restart), and none was
    /// started within <see cref="RestartDelay"/>.
    /// </summary>
    public static IReadOnlyList<int> SessionsToStart(
        IEnumerable<(int SessionId, int State)> sessions, IReadOnlySet<int> running, IReadOnlySet<int> connected,
        IReadOnlyDictionary<int, DateTimeOffset> lastStarted, DateTimeOffset now) =>
        [.. sessions
            .Where(s => s.SessionId != 0 && s.State == ActiveState && !running.Contains(s.SessionId) && !connected.Contains(s.SessionId))
            .Where(s => !lastStarted.TryGetValue(s.SessionId, out var at) || now - at >= RestartDelay)
            .Select(s => s.SessionId)
            .Distinct()
            .Order()];

    /// <summary>
    /// The helper's command line (<c>CreateProcessAsUserW</c> parses it as a program's <c>argv</c>): the agent's own program
    /// and <c>session --session-socket NAME</c>, each quoted. A quote in either, or a backslash ending either (it would
    /// escape the closing quote), is refused.
    /// </summary>
    public static string CommandLine(string program, string channelName)
    {
        if (program.Contains('"', StringComparison.Ordinal) || channelName.Contains('"', StringComparison.Ordinal)
            || program.EndsWith('\\') || channelName.EndsWith('\\'))
        {
            throw new ArgumentException("a quote, or a backslash at the end, in the program's path or the channel's name");
        }

        return $"\"{program}\" session --session-socket \"{channelName}\"";
    }
}

/// <summary>
/// Windows: the service (LocalSystem, session 0) starts the user-session helper in every active console and Remote Desktop
/// session, as the user signed in there: <c>WTSEnumerateSessionsW</c> lists the sessions, <c>WTSQueryUserToken</c> gives
/// the user's token (LocalSystem holds the privilege it needs; duplicated as a primary token), <c>CreateEnvironmentBlock</c> their environment, and
/// <c>CreateProcessAsUserW</c> starts <c>homeroom-agent session</c> on their interactive desktop (<c>winsta0\default</c>)
/// without a console window. It looks every 5 s and at once when Windows reports a session change
/// (<see cref="Nudge"/>, from the service's <c>SERVICE_CONTROL_SESSIONCHANGE</c>), and starts a helper again when one
/// ends (at most every <see cref="WindowsHelperStarts.RestartDelay"/>). Written from Microsoft's documentation and
/// compiled here; never run on Windows.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed partial class WindowsHelperLauncher(AgentOptions options, SessionHost sessions, TimeProvider time, ILogger<WindowsHelperLauncher> logger)
    : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private const uint CreateUnicodeEnvironment = 0x0000_0400, CreateNoWindow = 0x0800_0000;
    private const uint WaitObject0 = 0;
    private const uint MaximumAllowed = 0x0200_0000;
    private const int SecurityIdentification = 1, TokenPrimary = 1;

    private readonly ConcurrentDictionary<int, nint> _running = new();
    private readonly Dictionary<int, DateTimeOffset> _lastStarted = [];
    private readonly SemaphoreSlim _nudge = new(0, 1);

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SessionInfo
    {
        public uint SessionId;
        public char* WindowStationName;
        public int State;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct StartupInfo
    {
        public uint Size;
        public char* Reserved;
        public char* Desktop;
        public char* Title;
        public uint X, Y, Width, Height, CountCharsX, CountCharsY, FillAttribute, Flags;
        public ushort ShowWindow;
        public ushort Reserved2Size;
        public nint Reserved2;
        public nint StandardInput, StandardOutput, StandardError;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ProcessInformation
    {
        public nint Process;
        public nint Thread;
        public uint ProcessId;
        public uint ThreadId;
    }

    [LibraryImport("wtsapi32.dll", EntryPoint = "WTSEnumerateSessionsW", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static unsafe partial bool WTSEnumerateSessions(nint server, uint reserved, uint version, out SessionInfo* sessions, out uint count);

    [LibraryImport("wtsapi32.dll")]
    private static unsafe partial void WTSFreeMemory(void* memory);

    [LibraryImport("userenv.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool CreateEnvironmentBlock(out nint environment, nint token, [MarshalAs(UnmanagedType.Bool)] bool inherit);

    [LibraryImport("userenv.dll")]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool DestroyEnvironmentBlock(nint environment);

    [LibraryImport("advapi32.dll", EntryPoint = "CreateProcessAsUserW", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static unsafe partial bool CreateProcessAsUser(nint token, char* application, char* commandLine, nint processAttributes, nint threadAttributes,
        [MarshalAs(UnmanagedType.Bool)] bool inheritHandles, uint flags, nint environment, char* directory, StartupInfo* startup, ProcessInformation* information);

    [LibraryImport("advapi32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool DuplicateTokenEx(nint token, uint access, nint attributes, int impersonationLevel, int tokenType, out nint duplicate);

    [LibraryImport("kernel32.dll")]
    private static partial uint WaitForSingleObject(nint handle, uint milliseconds);

    /// <summary>A session changed (logon, logoff, connect, unlock): look now instead of at the next interval.</summary>
    public void Nudge()
    {
        try
        {
            _nudge.Release();
        }
        catch (SemaphoreFullException)
        {
            // A look is already due.
        }
        catch (ObjectDisposedException)
        {
            // Stopping.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Helpers left from before a service restart reconnect within seconds; give them that before starting new ones.
        await Wait(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                StartMissing();
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException)
            {
                WindowsLauncherLog.Failed(logger, -1, e.Message);
            }

            await Wait(stoppingToken);
        }
    }

    private async Task Wait(CancellationToken stoppingToken)
    {
        try
        {
            await _nudge.WaitAsync(Interval, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void StartMissing()
    {
        foreach (var (session, process) in _running)
        {
            if (WaitForSingleObject(process, 0) == WaitObject0 && _running.TryRemove(session, out _))
            {
                WindowsPipes.CloseHandle(process);
            }
        }

        var connected = sessions.Displays
            .Select(d => d.StartsWith("session ", StringComparison.Ordinal) && int.TryParse(d.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1)
            .Where(id => id >= 0).ToHashSet();
        var now = time.GetUtcNow();
        foreach (var session in WindowsHelperStarts.SessionsToStart(ActiveSessions(), _running.Keys.ToHashSet(), connected, _lastStarted, now))
        {
            _lastStarted[session] = now;
            if (Start(session) is { } failure)
            {
                WindowsLauncherLog.Failed(logger, session, failure);
            }
        }
    }

    private static unsafe List<(int SessionId, int State)> ActiveSessions()
    {
        if (!WTSEnumerateSessions(0, 0, 1, out var list, out var count))
        {
            throw new InvalidOperationException($"WTSEnumerateSessions failed (error {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            var result = new List<(int, int)>((int)count);
            for (var i = 0; i < count; i++)
            {
                result.Add(((int)list[i].SessionId, list[i].State));
            }

            return result;
        }
        finally
        {
            WTSFreeMemory(list);
        }
    }

    /// <summary>Starts the helper in <paramref name="session"/> as its user; null when started, else why not.</summary>
    private unsafe string? Start(int session)
    {
        if (Environment.ProcessPath is not { } program)
        {
            return "the agent's own program path is unknown";
        }

        if (!WindowsPipes.WTSQueryUserToken((uint)session, out var userToken))
        {
            // 1008: nobody is signed in (yet); 1314: not running as LocalSystem (an administrator's console, for instance).
            return $"WTSQueryUserToken failed (error {Marshal.GetLastPInvokeError()})";
        }

        // A primary token of our own with the rights CreateProcessAsUserW needs (query, duplicate, assign primary).
        var duplicated = DuplicateTokenEx(userToken, MaximumAllowed, 0, SecurityIdentification, TokenPrimary, out var token);
        var duplicateError = Marshal.GetLastPInvokeError();
        WindowsPipes.CloseHandle(userToken);
        if (!duplicated)
        {
            return $"DuplicateTokenEx failed (error {duplicateError})";
        }

        var environment = (nint)0;
        try
        {
            if (!CreateEnvironmentBlock(out environment, token, false))
            {
                return $"CreateEnvironmentBlock failed (error {Marshal.GetLastPInvokeError()})";
            }

            // CreateProcessAsUserW may write into the command line: a buffer of its own, ended by a null.
            var commandLine = (WindowsHelperStarts.CommandLine(program, options.SessionSocketName) + '\0').ToCharArray();
            ProcessInformation information;
            fixed (char* desktop = "winsta0\\default")
            fixed (char* application = program)
            fixed (char* line = commandLine)
            {
                var startup = new StartupInfo { Size = (uint)sizeof(StartupInfo), Desktop = desktop };
                if (!CreateProcessAsUser(token, application, line, 0, 0, false, CreateUnicodeEnvironment | CreateNoWindow, environment, null, &startup, &information))
                {
                    return $"CreateProcessAsUserW failed (error {Marshal.GetLastPInvokeError()})";
                }
            }

            WindowsPipes.CloseHandle(information.Thread);
            _running[session] = information.Process;
            WindowsLauncherLog.Started(logger, session, (int)information.ProcessId);
            return null;
        }
        finally
        {
            if (environment != 0)
            {
                DestroyEnvironmentBlock(environment);
            }

            WindowsPipes.CloseHandle(token);
        }
    }

    public override void Dispose()
    {
        // The helpers keep running: they reconnect when the service is back, and a lock they show stays.
        foreach (var process in _running.Values)
        {
            WindowsPipes.CloseHandle(process);
        }

        _running.Clear();
        _nudge.Dispose();
        base.Dispose();
    }
}

internal static partial class WindowsLauncherLog
{
    [LoggerMessage(124, LogLevel.Information, "Started the user-session helper in Windows session {Session} (pid {ProcessId})")]
    public static partial void Started(ILogger logger, int session, int processId);

    [LoggerMessage(125, LogLevel.Warning, "Could not start the user-session helper in Windows session {Session}: {Reason}")]
    public static partial void Failed(ILogger logger, int session, string reason);
}
