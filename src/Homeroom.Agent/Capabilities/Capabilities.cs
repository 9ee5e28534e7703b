using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities;

/// <summary>One concern the agent can (or cannot) handle on this device; it says which in <see cref="Describe"/>.</summary>
public interface ICapability
{
    /// <summary>The capabilities this concern covers, each available or not with the reason.</summary>
    IEnumerable<AgentCapability> Describe();
}

/// <summary>What the device is: operating system, hardware, storage, memory, network interfaces, users.</summary>
public interface IInventoryCapability : ICapability
{
    DeviceFacts Read();
}

/// <summary>
/// The facts <see cref="IInventoryCapability"/> reads. Absent facts are null, never guessed. <c>Serial</c> is
/// the hardware serial, or a stable id of this installation where none is readable.
/// </summary>
public sealed record DeviceFacts(
    string OsName,
    string? OsVersion,
    string? Model,
    string? Manufacturer,
    string Serial,
    long? StorageTotalBytes,
    long? StorageFreeBytes,
    long? MemoryTotalBytes,
    IReadOnlyList<string> LoggedInUsers,
    IReadOnlyList<NetworkInterfaceFacts> NetworkInterfaces);

/// <summary>One network interface that is up.</summary>
/// <param name="Name">Its name, e.g. <c>eth0</c>.</param>
/// <param name="Kind">One of <c>wifi</c>, <c>ethernet</c>, <c>cellular</c>, <c>other</c>.</param>
/// <param name="IpAddress">Its first IPv4 (else IPv6) address.</param>
public sealed record NetworkInterfaceFacts(string Name, string Kind, string? IpAddress);

/// <summary>The installed applications (packages).</summary>
public interface IApplicationsCapability : ICapability
{
    IReadOnlyList<InstalledApp> ListInstalled();
}

/// <summary>What changes from minute to minute: battery and network, for heartbeats.</summary>
public interface IDeviceStatusCapability : ICapability
{
    BatteryState? Battery();

    NetworkState? Network();
}

/// <summary>
/// Who is at the device's screen: the account of its active local graphical session, reported in
/// <c>inventory.signedInUser</c> so a shared device follows the student signed in (docs/desktop-agent.md).
/// </summary>
public interface ISignedInUserCapability
{
    /// <summary>The account name signed in at the screen now, or null when nobody is (or this build cannot tell).</summary>
    Task<string?> CurrentAccountAsync(CancellationToken cancellationToken);
}

/// <summary>A platform where the agent cannot tell who is signed in: nobody, always.</summary>
public sealed class NoSignedInUser : ISignedInUserCapability
{
    public Task<string?> CurrentAccountAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);
}

/// <summary>Restart and shut down through the operating system.</summary>
public interface IPowerCapability : ICapability
{
    /// <summary>Asks the OS to restart; returns null when it accepted, else why not.</summary>
    Task<string?> RestartAsync(CancellationToken cancellationToken);

    /// <summary>Asks the OS to shut down; returns null when it accepted, else why not.</summary>
    Task<string?> ShutdownAsync(CancellationToken cancellationToken);
}

/// <summary>
/// What the agent runs the OS's tools through: the one seam tests replace to record a restart instead of restarting.
/// Programs are run directly, never through a shell.
/// </summary>
public interface IOsCommandRunner
{
    /// <summary>Runs a program to completion; returns its exit code.</summary>
    Task<int> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken);

    /// <summary>
    /// Runs a program with its output captured (the last <see cref="ProcessRunner.MaxOutputChars"/> characters), its
    /// input closed and a time limit, after which it is stopped with its child processes (see <see cref="OsCommand"/>).
    /// A program that cannot be started or is stopped is a <see cref="ToolRun"/> that did not finish, not an exception.
    /// </summary>
    Task<ToolRun> RunCapturedAsync(OsCommand command, CancellationToken cancellationToken);
}

/// <summary>A program to run with its output captured, and the longest it may run.</summary>
public sealed record OsCommand(string FileName, IReadOnlyList<string> Arguments, TimeSpan Limit)
{
    /// <summary>Variables added to the agent's environment for this run.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Whether standard error is captured with standard output (it is always read, so it never blocks the program).</summary>
    public bool CaptureStandardError { get; init; } = true;
}

/// <summary>A captured run of a program: its exit code (-1 when it did not finish) and the end of what it printed, or why it did not finish.</summary>
public sealed record ToolRun(int ExitCode, string Output, bool Finished = true)
{
    /// <summary>The last non-empty lines the tool printed (its error, usually), at most <paramref name="max"/> characters.</summary>
    public string Tail(int max = 600)
    {
        var lines = Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var text = string.Join(" | ", lines.TakeLast(4));
        return text.Length <= max ? text : text[^max..];
    }
}

/// <summary>Runs programs with <see cref="System.Diagnostics.Process"/>.</summary>
public sealed class ProcessRunner : IOsCommandRunner
{
    /// <summary>How much of a program's output <see cref="RunCapturedAsync"/> keeps (its end).</summary>
    public const int MaxOutputChars = 64 * 1024;

    public async Task<int> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        using var process = System.Diagnostics.Process.Start(StartInfo(fileName, arguments)) ?? throw new InvalidOperationException($"{fileName} did not start.");
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode;
    }

    public async Task<ToolRun> RunCapturedAsync(OsCommand command, CancellationToken cancellationToken)
    {
        var (fileName, limit) = (command.FileName, command.Limit);
        var start = StartInfo(fileName, command.Arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true;
        foreach (var (name, value) in command.Environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var output = new System.Text.StringBuilder();
        void Append(object? _, System.Diagnostics.DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (output)
            {
                output.Append(e.Data).Append('\n');
                if (output.Length > MaxOutputChars)
                {
                    output.Remove(0, output.Length - MaxOutputChars);
                }
            }
        }

        using var process = new System.Diagnostics.Process { StartInfo = start };
        process.OutputDataReceived += Append;
        if (command.CaptureStandardError)
        {
            process.ErrorDataReceived += Append;
        }

        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ToolRun(-1, $"{fileName} could not be started: {e.Message}", Finished: false);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine(); // read even when not kept, so a chatty program never blocks on a full pipe
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            var within = limit < TimeSpan.FromMinutes(1) ? $"{limit.TotalSeconds:0} s" : $"{limit.TotalMinutes:0} minutes";
            return new ToolRun(-1, $"{Path.GetFileName(fileName)} did not finish within {within} and was stopped", Finished: false);
        }

        process.WaitForExit(); // drains the redirected output
        lock (output)
        {
            return new ToolRun(process.ExitCode, output.ToString());
        }
    }

    private static System.Diagnostics.ProcessStartInfo StartInfo(string fileName, IReadOnlyList<string> arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(fileName) { UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }
}

/// <summary>
/// The concerns that need a program in the student's session. A service cannot draw on the user's
/// screen, so lock, messages and screen viewing are done by the user-session helper
/// (<see cref="Session.SessionHelper"/>, Linux/X11 and Windows in this build; files from and to the device Linux only): available while one is connected to
/// <see cref="Session.SessionHost"/>, else unavailable with the reason, so the console greys the actions
/// out (safety screenshots too: the server and console see whether a case's evidence can carry one from this device). Opening pages and focus mode need the browser integration, not built yet (web filtering is the Homeroom
/// extension's, given to the browsers by <see cref="Browsers.IBrowserPolicyCapability"/>).
/// </summary>
public sealed class SessionHelperCapabilities(Session.SessionHost sessions) : ICapability
{
    private static string Unavailable =>
        OperatingSystem.IsLinux() || OperatingSystem.IsWindows() ? Session.SessionHost.NotConnectedReason : "the user-session helper is built for Linux (X11) and Windows only in this agent build";

    private const string FilesLinuxOnly = "file transfer is built for Linux (X11) only in this agent build";

    public IEnumerable<AgentCapability> Describe() =>
    [
        sessions.Connected ? new(CapabilityNames.Lock, true) : new(CapabilityNames.Lock, false, Unavailable),
        sessions.Connected ? new(CapabilityNames.Message, true) : new(CapabilityNames.Message, false, Unavailable),
        sessions.Connected ? new(CapabilityNames.ScreenView, true) : new(CapabilityNames.ScreenView, false, Unavailable),
        sessions.Connected ? new(CapabilityNames.RemoteSession, true) : new(CapabilityNames.RemoteSession, false, OperatingSystem.IsLinux() || OperatingSystem.IsWindows() ? Unavailable : "remote sessions are not available on this build (Linux/X11 and Windows only)"),
        Session.XclipClipboard.Unavailable is { } noClipboard ? new(CapabilityNames.RemoteClipboard, false, noClipboard)
            : sessions.Connected ? new(CapabilityNames.RemoteClipboard, true) : new(CapabilityNames.RemoteClipboard, false, Unavailable),
        Session.XclipClipboard.Unavailable is { } noClipboardRead ? new(CapabilityNames.RemoteClipboardRead, false, noClipboardRead)
            : sessions.Connected ? new(CapabilityNames.RemoteClipboardRead, true) : new(CapabilityNames.RemoteClipboardRead, false, Unavailable),
        !OperatingSystem.IsLinux() ? new(CapabilityNames.RemoteFile, false, FilesLinuxOnly)
            : sessions.Connected ? new(CapabilityNames.RemoteFile, true) : new(CapabilityNames.RemoteFile, false, Unavailable),
        !OperatingSystem.IsLinux() ? new(CapabilityNames.RemoteFileRead, false, FilesLinuxOnly)
            : sessions.Connected ? new(CapabilityNames.RemoteFileRead, true) : new(CapabilityNames.RemoteFileRead, false, Unavailable),
        sessions.Connected ? new(CapabilityNames.SafetyScreenshot, true) : new(CapabilityNames.SafetyScreenshot, false, Unavailable),
        new(CapabilityNames.OpenUrl, false, "opening pages needs the browser integration, not built yet"),
        new(CapabilityNames.Focus, false, "focus mode needs the browser integration, not built yet"),
        new(CapabilityNames.Location, false, "no location source is read on this platform yet"),
    ];
}
