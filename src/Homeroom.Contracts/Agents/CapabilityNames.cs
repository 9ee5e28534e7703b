namespace Homeroom.Contracts.Agents;

/// <summary>
/// The capability names an agent reports in <see cref="InventoryFrame.Capabilities"/>, and which one
/// each command needs, so the console can grey out what a device's agent cannot do, with its reason.
/// </summary>
public static class CapabilityNames
{
    /// <summary>Operating system and hardware facts.</summary>
    public const string Inventory = "inventory";
    /// <summary>The installed applications list.</summary>
    public const string Applications = "apps.inventory";
    /// <summary>Battery level and charging.</summary>
    public const string Battery = "battery";
    /// <summary>The network the device is on.</summary>
    public const string Network = "network";
    /// <summary>The <c>restart</c> command.</summary>
    public const string Restart = "power.restart";
    /// <summary>The <c>shutdown</c> command.</summary>
    public const string Shutdown = "power.shutdown";
    /// <summary>The <c>lock</c> and <c>unlock</c> commands and a policy's <c>device.locked</c>.</summary>
    public const string Lock = "screen.lock";
    /// <summary>The <c>message</c> command.</summary>
    public const string Message = "screen.message";
    /// <summary>Screen thumbnails while a teacher watches.</summary>
    public const string ScreenView = "screen.view";
    /// <summary>The <c>openUrl</c> and <c>closeTab</c> commands.</summary>
    public const string OpenUrl = "browser.openUrl";
    /// <summary>The <c>focus</c> and <c>endFocus</c> commands.</summary>
    public const string Focus = "browser.focus";
    /// <summary>Enforcing the policy's web filter in the device's browsers.</summary>
    public const string WebFilter = "browser.webFilter";
    /// <summary>Giving the device's desktop browsers Homeroom's extension through their managed browser policy (the desktop agent).</summary>
    public const string BrowserPolicy = "browser.policy";
    /// <summary>Location fixes and the <c>locate</c> command.</summary>
    public const string Location = "location";
    /// <summary>Installing and removing applications.</summary>
    public const string AppInstall = "apps.install";
    /// <summary>Ending blocked applications when they start (the policy's <c>catalog.blockedPackages</c>).</summary>
    public const string AppBlock = "apps.block";
    /// <summary>Reporting the OS's pending updates and the <c>installOsUpdates</c> command.</summary>
    public const string OsUpdates = "os.updates";
    /// <summary>The <c>diagnose</c> command.</summary>
    public const string Diagnostics = "diagnostics";
    /// <summary>The <c>runScript</c> command: approved, signed scripts.</summary>
    public const string Scripts = "scripts";
    /// <summary>The <c>agentUpdate</c> command: replacing the agent's own program with a signed build.</summary>
    public const string SelfUpdate = "agent.selfUpdate";

    /// <summary>Remote support sessions (<c>remoteSession</c>): screen updates, and input in control mode.</summary>
    public const string RemoteSession = "remote.session";

    /// <summary>Clipboard text from the technician in a control session (<c>remoteClipboard</c>): the desktop agent where <c>xclip</c> is installed.</summary>
    public const string RemoteClipboard = "remote.clipboard";

    /// <summary>
    /// Reading the device's clipboard text for the technician in a control session (<c>remoteClipboardRead</c>): the desktop agent
    /// where <c>xclip</c> is installed, while a user-session helper is connected.
    /// </summary>
    public const string RemoteClipboardRead = "remote.clipboard.read";

    /// <summary>Files from the technician in a control session (<c>remoteFile</c>), saved in the signed-in user's Downloads/Homeroom: the Linux desktop agent while a user-session helper is connected.</summary>
    public const string RemoteFile = "remote.file";

    /// <summary>
    /// Files from the device to the technician in a control session (<c>remoteFileRequest</c>): a file in the signed-in user's
    /// home folder, sent only when the student allows it. The Linux desktop agent while a user-session helper is connected.
    /// </summary>
    public const string RemoteFileRead = "remote.file.read";

    /// <summary>
    /// View-only remote sessions (<c>remoteSession</c> in <see cref="RemoteModes.View"/>): the Chrome extension's screen
    /// captures while a technician watches. An agent reporting only this is never sent a control session (an extension
    /// cannot inject input).
    /// </summary>
    public const string RemoteView = "remote.view";

    /// <summary>
    /// Screenshots for safety alerts (the answer to <c>safetyCapture</c>): the Linux desktop agent while a user-session helper
    /// is connected. Whether one is taken is still the policy's <c>safety.screenshots</c>.
    /// </summary>
    public const string SafetyScreenshot = "safety.screenshot";

    /// <summary>Which capability a command kind needs (null for kinds that need none, such as <c>ping</c>).</summary>
    public static string? ForCommand(string kind) => kind switch
    {
        CommandKinds.Restart => Restart,
        CommandKinds.Lock or CommandKinds.Unlock => Lock,
        CommandKinds.Message => Message,
        CommandKinds.OpenUrl or CommandKinds.CloseTab => OpenUrl,
        CommandKinds.Focus or CommandKinds.EndFocus => Focus,
        CommandKinds.Locate => Location,
        "shutdown" => Shutdown,
        CommandKinds.InstallPackage or CommandKinds.RemovePackage => AppInstall,
        CommandKinds.InstallOsUpdates => OsUpdates,
        CommandKinds.Diagnose => Diagnostics,
        CommandKinds.RunScript => Scripts,
        CommandKinds.AgentUpdate => SelfUpdate,
        _ => null,
    };
}
