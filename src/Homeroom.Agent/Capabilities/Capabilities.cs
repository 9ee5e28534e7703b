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

/// <summary>Restart and shut down through the operating system.</summary>
public interface IPowerCapability : ICapability
{
    /// <summary>Asks the OS to restart; returns null when it accepted, else why not.</summary>
    Task<string?> RestartAsync(CancellationToken cancellationToken);

    /// <summary>Asks the OS to shut down; returns null when it accepted, else why not.</summary>
    Task<string?> ShutdownAsync(CancellationToken cancellationToken);
}

/// <summary>What the agent runs the OS's tools through: the one seam tests replace to record a restart instead of restarting.</summary>
public interface IOsCommandRunner
{
    /// <summary>Runs a program to completion; returns its exit code.</summary>
    Task<int> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken);
}

/// <summary>Runs programs with <see cref="System.Diagnostics.Process"/>.</summary>
public sealed class ProcessRunner : IOsCommandRunner
{
    public async Task<int> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new System.Diagnostics.ProcessStartInfo(fileName) { UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode;
    }
}

/// <summary>
/// The concerns that need a program in the student's session. A service cannot draw on the user's
/// screen, so lock, messages and screen viewing are done by the user-session helper
/// (<see cref="Session.SessionHelper"/>, Linux/X11 in this build): available while one is connected to
/// <see cref="Session.SessionHost"/>, else unavailable with the reason, so the console greys the actions
/// out. Opening pages, focus mode and web filtering need the browser integration, not built yet.
/// </summary>
public sealed class SessionHelperCapabilities(Session.SessionHost sessions) : ICapability
{
    private static string Unavailable =>
        OperatingSystem.IsLinux() ? Session.SessionHost.NotConnectedReason : "the user-session helper is built for Linux (X11) only in this agent build";

    public IEnumerable<AgentCapability> Describe() =>
    [
        sessions.Connected ? new(CapabilityNames.Lock, true) : new(CapabilityNames.Lock, false, Unavailable),
        sessions.Connected ? new(CapabilityNames.Message, true) : new(CapabilityNames.Message, false, Unavailable),
        sessions.Connected ? new(CapabilityNames.ScreenView, true) : new(CapabilityNames.ScreenView, false, Unavailable),
        new(CapabilityNames.OpenUrl, false, "opening pages needs the browser integration, not built yet"),
        new(CapabilityNames.Focus, false, "focus mode needs the browser integration, not built yet"),
        new(CapabilityNames.WebFilter, false, "desktop browsers are not yet given the Homeroom extension by browser policy"),
        new(CapabilityNames.Location, false, "no location source is read on this platform yet"),
    ];
}
