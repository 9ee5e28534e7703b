using System.Text.Json;
using System.Text.Json.Serialization;

namespace Homeroom.Contracts.Agents;

/// <summary>
/// One JSON text frame of agent protocol v1. The <c>type</c> property names the kind; unknown
/// properties are ignored so that newer peers can add optional fields.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(AuthFrame), FrameTypes.Auth)]
[JsonDerivedType(typeof(WelcomeFrame), FrameTypes.Welcome)]
[JsonDerivedType(typeof(HeartbeatFrame), FrameTypes.Heartbeat)]
[JsonDerivedType(typeof(InventoryFrame), FrameTypes.Inventory)]
[JsonDerivedType(typeof(ActivityFrame), FrameTypes.Activity)]
[JsonDerivedType(typeof(ActivityAckFrame), FrameTypes.ActivityAck)]
[JsonDerivedType(typeof(CommandFrame), FrameTypes.Command)]
[JsonDerivedType(typeof(CommandStatusFrame), FrameTypes.CommandStatus)]
[JsonDerivedType(typeof(PolicyFrame), FrameTypes.Policy)]
[JsonDerivedType(typeof(PolicyStatusFrame), FrameTypes.PolicyStatus)]
[JsonDerivedType(typeof(ScreenViewFrame), FrameTypes.ScreenView)]
[JsonDerivedType(typeof(SignalsFrame), FrameTypes.Signals)]
[JsonDerivedType(typeof(SignalsAckFrame), FrameTypes.SignalsAck)]
[JsonDerivedType(typeof(SafetyCaptureFrame), FrameTypes.SafetyCapture)]
[JsonDerivedType(typeof(HelpRequestFrame), FrameTypes.HelpRequest)]
[JsonDerivedType(typeof(HelpRequestAckFrame), FrameTypes.HelpRequestAck)]
[JsonDerivedType(typeof(HelpStatusFrame), FrameTypes.HelpStatus)]
[JsonDerivedType(typeof(DiagnosticsFrame), FrameTypes.Diagnostics)]
[JsonDerivedType(typeof(ScriptResultFrame), FrameTypes.ScriptResult)]
[JsonDerivedType(typeof(RemoteSessionFrame), FrameTypes.RemoteSession)]
[JsonDerivedType(typeof(RemoteSessionStatusFrame), FrameTypes.RemoteSessionStatus)]
[JsonDerivedType(typeof(RemoteInputFrame), FrameTypes.RemoteInput)]
[JsonDerivedType(typeof(RemoteAckFrame), FrameTypes.RemoteAck)]
[JsonDerivedType(typeof(RemoteClipboardFrame), FrameTypes.RemoteClipboard)]
[JsonDerivedType(typeof(RemoteClipboardReadFrame), FrameTypes.RemoteClipboardRead)]
[JsonDerivedType(typeof(RemoteClipboardContentFrame), FrameTypes.RemoteClipboardContent)]
[JsonDerivedType(typeof(RemoteFileFrame), FrameTypes.RemoteFile)]
[JsonDerivedType(typeof(RemoteFileStatusFrame), FrameTypes.RemoteFileStatus)]
[JsonDerivedType(typeof(RemoteFileRequestFrame), FrameTypes.RemoteFileRequest)]
[JsonDerivedType(typeof(RemoteFileRequestStatusFrame), FrameTypes.RemoteFileRequestStatus)]
[JsonDerivedType(typeof(RemoteFileUploadFrame), FrameTypes.RemoteFileUpload)]
public abstract record AgentFrame;

/// <summary>The <c>type</c> values of every frame.</summary>
public static class FrameTypes
{
    /// <summary>Agent to server, first frame: who the device is.</summary>
    public const string Auth = "auth";
    /// <summary>Server to agent: authentication accepted.</summary>
    public const string Welcome = "welcome";
    /// <summary>Agent to server: periodic liveness and telemetry.</summary>
    public const string Heartbeat = "heartbeat";
    /// <summary>Agent to server: OS, hardware and installed apps.</summary>
    public const string Inventory = "inventory";
    /// <summary>Agent to server: a batch of sequenced activity events.</summary>
    public const string Activity = "activity";
    /// <summary>Server to agent: activity events stored up to a sequence number.</summary>
    public const string ActivityAck = "activityAck";
    /// <summary>Server to agent: a command to carry out.</summary>
    public const string Command = "command";
    /// <summary>Agent to server: progress or result of a command.</summary>
    public const string CommandStatus = "commandStatus";
    /// <summary>Server to agent: an effective policy snapshot.</summary>
    public const string Policy = "policy";
    /// <summary>Agent to server: whether a policy snapshot was applied.</summary>
    public const string PolicyStatus = "policyStatus";
    /// <summary>Server to agent: start or stop sending screen thumbnails.</summary>
    public const string ScreenView = "screenView";
    /// <summary>Agent to server: a batch of safety signals (searches, titles, URLs, typed text) to scan.</summary>
    public const string Signals = "signals";
    /// <summary>Server to agent: a signals batch was scanned and any alert committed.</summary>
    public const string SignalsAck = "signalsAck";
    /// <summary>Server to agent: capture the visible tab for a safety alert.</summary>
    public const string SafetyCapture = "safetyCapture";
    /// <summary>Agent to server: a student asks for help (an optional note and screenshot).</summary>
    public const string HelpRequest = "helpRequest";
    /// <summary>Server to agent: a help request was stored (or refused) and where it went.</summary>
    public const string HelpRequestAck = "helpRequestAck";
    /// <summary>Server to agent: a help request changed (taken by someone, escalated, resolved).</summary>
    public const string HelpStatus = "helpStatus";
    /// <summary>Agent to server: the report a <c>diagnose</c> command asked for.</summary>
    public const string Diagnostics = "diagnostics";
    /// <summary>Agent to server: the exit code and output of a script a <c>runScript</c> command ran.</summary>
    public const string ScriptResult = "scriptResult";

    /// <summary>Server → agent: start or stop a remote support session.</summary>
    public const string RemoteSession = "remoteSession";

    /// <summary>Agent → server: a remote session's consent answer, or its end.</summary>
    public const string RemoteSessionStatus = "remoteSessionStatus";

    /// <summary>Server → agent: the technician's pointer and keyboard events (control mode only).</summary>
    public const string RemoteInput = "remoteInput";

    /// <summary>Server → agent: the screen updates of a remote session that reached the technician.</summary>
    public const string RemoteAck = "remoteAck";

    /// <summary>Server → agent: clipboard text from the technician (control mode, where the school allows it).</summary>
    public const string RemoteClipboard = "remoteClipboard";

    /// <summary>Server → agent: the technician asks for the device's clipboard text (control mode, where the school allows the clipboard).</summary>
    public const string RemoteClipboardRead = "remoteClipboardRead";

    /// <summary>Agent → server: the device's clipboard text, or why none is sent.</summary>
    public const string RemoteClipboardContent = "remoteClipboardContent";

    /// <summary>Server → agent: one chunk of a file from the technician (control mode, where the school allows file transfer).</summary>
    public const string RemoteFile = "remoteFile";

    /// <summary>Agent → server: a file from the technician was saved on the device, or refused.</summary>
    public const string RemoteFileStatus = "remoteFileStatus";

    /// <summary>Server → agent: the technician asks for a file in the signed-in user's home folder (control mode, where the school allows file transfer).</summary>
    public const string RemoteFileRequest = "remoteFileRequest";

    /// <summary>Agent → server: the student allowed or denied a file request, or the device refused it.</summary>
    public const string RemoteFileRequestStatus = "remoteFileRequestStatus";

    /// <summary>Agent → server: one chunk of a file the technician asked for and the student allowed.</summary>
    public const string RemoteFileUpload = "remoteFileUpload";

    /// <summary>Every type an agent may send.</summary>
    public static readonly IReadOnlySet<string> FromAgent = new HashSet<string>(StringComparer.Ordinal)
    {
        Auth, Heartbeat, Inventory, Activity, CommandStatus, PolicyStatus, Signals,
        HelpRequest, Diagnostics, ScriptResult, RemoteSessionStatus, RemoteFileStatus, RemoteClipboardContent,
        RemoteFileRequestStatus, RemoteFileUpload,
    };

    /// <summary>Every type the server may send.</summary>
    public static readonly IReadOnlySet<string> FromServer = new HashSet<string>(StringComparer.Ordinal)
    {
        Welcome, ActivityAck, Command, Policy, ScreenView, SignalsAck, SafetyCapture,
        HelpRequestAck, HelpStatus, RemoteSession, RemoteInput, RemoteAck, RemoteClipboard, RemoteClipboardRead, RemoteFile,
        RemoteFileRequest,
    };
}

/// <summary>First frame on every connection. Browser extensions cannot set WebSocket headers, so the credential travels here.</summary>
/// <param name="DeviceId">The id received at enrollment.</param>
/// <param name="Credential">The secret received at enrollment.</param>
/// <param name="ProtocolVersion">The protocol version the agent speaks; must be 1.</param>
/// <param name="AgentVersion">The agent's own version, for inventory and support.</param>
public sealed record AuthFrame(Guid DeviceId, string Credential, int ProtocolVersion, string? AgentVersion) : AgentFrame;

/// <summary>Sent once after a successful <see cref="AuthFrame"/>.</summary>
/// <param name="DeviceId">The authenticated device.</param>
/// <param name="ServerTime">The server's clock, so the agent can correct timestamps.</param>
/// <param name="HeartbeatIntervalSeconds">How often the agent should send <see cref="HeartbeatFrame"/>.</param>
/// <param name="ActivityAckedSeq">The highest activity sequence number the server has stored; resend everything after it.</param>
/// <param name="PolicyVersion">The policy version the server believes the device has applied.</param>
/// <param name="MaxTextFrameBytes">The text frame limit in force.</param>
/// <param name="MaxMessagesPerSecond">The sustained frame rate allowed before the connection is closed with 4429.</param>
/// <param name="ScriptSigningKey">
/// The server's script-signing public key (ECDSA P-256, SubjectPublicKeyInfo DER, base64). A desktop agent keeps the
/// first one it receives and checks every <c>runScript</c> command against it (<see cref="ScriptSigning"/>); absent from older servers.
/// </param>
public sealed record WelcomeFrame(
    Guid DeviceId,
    DateTimeOffset ServerTime,
    int HeartbeatIntervalSeconds,
    long ActivityAckedSeq,
    long PolicyVersion,
    int MaxTextFrameBytes,
    int MaxMessagesPerSecond,
    string? ScriptSigningKey = null) : AgentFrame;

/// <summary>Periodic liveness and telemetry. The server keeps the latest in memory and stores it in batches.</summary>
/// <param name="Battery">Battery state, when the device has one.</param>
/// <param name="Network">Current network.</param>
/// <param name="Location">A location fix, when location reporting is on and a fix is available.</param>
public sealed record HeartbeatFrame(BatteryState? Battery, NetworkState? Network, LocationFix? Location) : AgentFrame;

/// <summary>Battery charge and whether it is charging.</summary>
/// <param name="Level">Charge in percent, 0 to 100.</param>
/// <param name="Charging">Whether external power is connected.</param>
public sealed record BatteryState(int Level, bool Charging);

/// <summary>The network the device is on.</summary>
/// <param name="Kind">One of <c>wifi</c>, <c>ethernet</c>, <c>cellular</c>, <c>other</c>.</param>
/// <param name="Ssid">Wi-Fi network name, when known.</param>
/// <param name="IpAddress">The device's local address, when known.</param>
public sealed record NetworkState(string Kind, string? Ssid, string? IpAddress);

/// <summary>A location fix in WGS 84.</summary>
/// <param name="Latitude">Degrees, -90 to 90.</param>
/// <param name="Longitude">Degrees, -180 to 180.</param>
/// <param name="AccuracyMeters">Radius of 68% confidence, in meters.</param>
/// <param name="CapturedAt">When the fix was taken.</param>
public sealed record LocationFix(double Latitude, double Longitude, double AccuracyMeters, DateTimeOffset CapturedAt);

/// <summary>Operating system, hardware and installed apps. Sent after <see cref="WelcomeFrame"/> and whenever they change.</summary>
/// <param name="OsName">Operating system name, for example <c>ChromeOS</c>.</param>
/// <param name="OsVersion">Operating system version.</param>
/// <param name="Model">Hardware model.</param>
/// <param name="Manufacturer">Hardware maker.</param>
/// <param name="StorageTotalBytes">Storage capacity, when known.</param>
/// <param name="StorageFreeBytes">Free storage, when known.</param>
/// <param name="Apps">Installed apps and extensions; at most <see cref="ProtocolLimits.MaxInventoryApps"/>.</param>
/// <param name="Capabilities">
/// What this agent can do on this device, each with the reason when it cannot (the desktop agent sends it;
/// optional, at most <see cref="ProtocolLimits.MaxCapabilities"/>).
/// </param>
/// <param name="OsUpdates">The operating system's pending updates as the desktop agent last checked them (optional; absent from older agents and the extension).</param>
/// <param name="SignedInUser">
/// Who is signed in on the device now (optional). Absent, or present with neither field, means nobody: on a
/// device marked shared, the server then returns it to its own policy (docs/agent-protocol.md, signed-in user).
/// </param>
public sealed record InventoryFrame(
    string? OsName,
    string? OsVersion,
    string? Model,
    string? Manufacturer,
    long? StorageTotalBytes,
    long? StorageFreeBytes,
    IReadOnlyList<InstalledApp>? Apps,
    IReadOnlyList<AgentCapability>? Capabilities = null,
    OsUpdateStatus? OsUpdates = null,
    SignedInUser? SignedInUser = null) : AgentFrame;

/// <summary>The account signed in on a device, as the agent sees it (the Chrome profile, the desktop session's user).</summary>
/// <param name="Email">The account's e-mail address (at most <see cref="ProtocolLimits.MaxSignedInEmailLength"/> characters, one <c>@</c>, no spaces).</param>
/// <param name="Id">The account's id in its directory, when known: a Google account id, a roster id (at most <see cref="ProtocolLimits.MaxShortText"/> characters).</param>
public sealed record SignedInUser(string? Email, string? Id = null)
{
    /// <summary>True when the record names nobody (both fields empty): the same as no record.</summary>
    public bool IsEmpty => string.IsNullOrWhiteSpace(Email) && string.IsNullOrWhiteSpace(Id);
}

/// <summary>The operating system's updates on a desktop agent's device (docs/agent-protocol.md, OS updates).</summary>
/// <param name="Pending">Updates the OS offers and has not installed (0 to <see cref="ProtocolLimits.MaxOsUpdates"/>).</param>
/// <param name="Security">How many of them the OS marks as security updates (at most <paramref name="Pending"/>).</param>
/// <param name="RebootRequired">The OS says a restart is needed to finish installed updates.</param>
/// <param name="CheckedAt">When the agent last asked the OS (null: never, or the check failed before an answer).</param>
/// <param name="LastInstallAt">When the agent last finished installing updates.</param>
/// <param name="LastInstallOk">Whether that install succeeded.</param>
/// <param name="LastInstallResult">The OS tool's words on it (at most <see cref="ProtocolLimits.MaxShortText"/> characters).</param>
/// <param name="Error">Why the last check failed, when it did (at most <see cref="ProtocolLimits.MaxShortText"/> characters).</param>
public sealed record OsUpdateStatus(
    int Pending,
    int Security,
    bool RebootRequired,
    DateTimeOffset? CheckedAt,
    DateTimeOffset? LastInstallAt = null,
    bool? LastInstallOk = null,
    string? LastInstallResult = null,
    string? Error = null);

/// <summary>One capability of an agent on its device, for example <c>power.restart</c>.</summary>
/// <param name="Name">The capability's name (1 to 64 characters).</param>
/// <param name="Available">Whether the agent can do it here.</param>
/// <param name="Reason">Why not, when it cannot (256 characters).</param>
public sealed record AgentCapability(string Name, bool Available, string? Reason = null);

/// <summary>One installed app.</summary>
/// <param name="Id">Platform id: bundle id, package name, extension id, Windows package id.</param>
/// <param name="Name">Display name.</param>
/// <param name="Version">Version string.</param>
public sealed record InstalledApp(string Id, string? Name, string? Version);

/// <summary>
/// A batch of activity events. Sequence numbers are per device, start at 1 and increase by one;
/// the server stores each (device, seq) once, so resending a batch is harmless.
/// </summary>
/// <param name="Events">The events in increasing <c>seq</c> order; at most <see cref="ProtocolLimits.MaxActivityEventsPerFrame"/>.</param>
public sealed record ActivityFrame(IReadOnlyList<ActivityEvent> Events) : AgentFrame;

/// <summary>One thing the student did.</summary>
/// <param name="Seq">Per-device sequence number, 1 or more.</param>
/// <param name="OccurredAt">When it happened on the device.</param>
/// <param name="Kind">See <see cref="ActivityKinds"/>.</param>
/// <param name="Url">The page, for web events.</param>
/// <param name="Title">The page or window title.</param>
/// <param name="AppId">The app, for app events.</param>
/// <param name="DurationSeconds">Active time, for usage events.</param>
/// <param name="Detail">Short extra detail, for example the rule that blocked a page.</param>
public sealed record ActivityEvent(
    long Seq,
    DateTimeOffset OccurredAt,
    string Kind,
    string? Url = null,
    string? Title = null,
    string? AppId = null,
    int? DurationSeconds = null,
    string? Detail = null);

/// <summary>Activity event kinds defined by v1. Others are rejected.</summary>
public static class ActivityKinds
{
    /// <summary>A page was visited.</summary>
    public const string WebVisit = "web.visit";
    /// <summary>A page was blocked by the filter.</summary>
    public const string WebBlocked = "web.blocked";
    /// <summary>An app was in the foreground.</summary>
    public const string AppUsage = "app.usage";
    /// <summary>An app was blocked from starting.</summary>
    public const string AppBlocked = "app.blocked";

    /// <summary>
    /// Time on one site in the active tab: <c>Url</c> is the site's origin only (<c>https://host/</c>,
    /// never a path or query), <c>DurationSeconds</c> the seconds since the last report
    /// (1 to <see cref="ProtocolLimits.MaxWebUsageSeconds"/>), <c>Detail</c> <see cref="WebUsageFocused"/>
    /// or <see cref="WebUsageUnfocused"/> (whether the browser window had focus).
    /// </summary>
    public const string WebUsage = "web.usage";

    /// <summary>
    /// One installed extension or app in a snapshot of all of them (one event per item, all sharing the
    /// snapshot's <c>OccurredAt</c>): <c>AppId</c> its id, <c>Title</c> its name, <c>Detail</c> its
    /// version and state, for example <c>1.2.3 enabled</c>.
    /// </summary>
    public const string AppInventory = "app.inventory";

    /// <summary><c>Detail</c> of a <see cref="WebUsage"/> event whose window had focus.</summary>
    public const string WebUsageFocused = "focused";

    /// <summary><c>Detail</c> of a <see cref="WebUsage"/> event whose window did not have focus.</summary>
    public const string WebUsageUnfocused = "unfocused";

    /// <summary>All v1 kinds.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        WebVisit, WebBlocked, AppUsage, AppBlocked, WebUsage, AppInventory,
    };
}

/// <summary>Every activity event up to and including <paramref name="ThroughSeq"/> is handled (stored, or dropped over the device's budget); the agent may forget them.</summary>
/// <param name="ThroughSeq">The highest sequence number handled.</param>
/// <param name="Dropped">
/// How many events of the acknowledged frame the server dropped, unstored, because the device is over
/// its activity budget (events per minute with a burst, and per day); absent when none was. Resending
/// them does not help: send less.
/// </param>
public sealed record ActivityAckFrame(long ThroughSeq, int? Dropped = null) : AgentFrame;

/// <summary>
/// A command to carry out. Delivery is at-least-once: an agent must remember the ids of commands it
/// carried out (at least until they expire) and answer a repeat with the earlier result instead of
/// running it again.
/// </summary>
/// <param name="CommandId">Idempotency key.</param>
/// <param name="Kind">See <see cref="CommandKinds"/>.</param>
/// <param name="Arguments">Kind-specific string arguments.</param>
/// <param name="IssuedAt">When staff issued it.</param>
/// <param name="ExpiresAt">After this the command must not be carried out.</param>
public sealed record CommandFrame(
    Guid CommandId,
    string Kind,
    IReadOnlyDictionary<string, string>? Arguments,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt) : AgentFrame;

/// <summary>Command kinds defined by v1 and the arguments each takes.</summary>
public static class CommandKinds
{
    /// <summary>Lock the screen. Optional argument <c>message</c>.</summary>
    public const string Lock = "lock";
    /// <summary>Unlock the screen.</summary>
    public const string Unlock = "unlock";
    /// <summary>Show a message. Argument <c>text</c>, optional <c>title</c>.</summary>
    public const string Message = "message";
    /// <summary>Open a URL. Argument <c>url</c>.</summary>
    public const string OpenUrl = "openUrl";
    /// <summary>Close tabs. Argument <c>url</c> (prefix) or <c>tabId</c>.</summary>
    public const string CloseTab = "closeTab";
    /// <summary>Restart the device.</summary>
    public const string Restart = "restart";
    /// <summary>Report a location fix now.</summary>
    public const string Locate = "locate";
    /// <summary>Answer at once; tests the path end to end.</summary>
    public const string Ping = "ping";
    /// <summary>Focus mode: only the listed sites open until <c>until</c> or <c>endFocus</c>. Argument <c>sites</c> (space-separated hosts or host/paths), optional <c>until</c> (ISO 8601).</summary>
    public const string Focus = "focus";
    /// <summary>End focus mode.</summary>
    public const string EndFocus = "endFocus";

    // Device management actions. Apple devices carry them out through MDM; agents that cannot answer failed.

    /// <summary>Shut the device down.</summary>
    public const string Shutdown = "shutdown";
    /// <summary>Erase the device (return it to factory settings). Irreversible.</summary>
    public const string Erase = "erase";
    /// <summary>Install an app. Argument <c>appStoreId</c> (App Store id) or <c>bundleId</c>.</summary>
    public const string InstallApp = "installApp";
    /// <summary>Remove a managed app. Argument <c>bundleId</c>.</summary>
    public const string RemoveApp = "removeApp";
    /// <summary>Report the installed apps (the result lists them).</summary>
    public const string ListApps = "listApps";
    /// <summary>Report the installed configuration profiles.</summary>
    public const string ListProfiles = "listProfiles";
    /// <summary>Report the status of the apps MDM manages on the device (Apple's ManagedApplicationList).</summary>
    public const string ListManagedApps = "listManagedApps";
    /// <summary>Remove a configuration profile. Argument <c>identifier</c>.</summary>
    public const string RemoveProfile = "removeProfile";
    /// <summary>Install an OS update. Optional <c>version</c>, optional <c>action</c> (<c>install</c>, <c>download</c>, <c>installLater</c>).</summary>
    public const string UpdateOs = "updateOs";
    /// <summary>Report the OS updates available.</summary>
    public const string ListOsUpdates = "listOsUpdates";
    /// <summary>Report the progress of OS updates.</summary>
    public const string OsUpdateStatus = "osUpdateStatus";
    /// <summary>Put the device in Lost Mode. Argument <c>message</c>, optional <c>phoneNumber</c>, <c>footnote</c>.</summary>
    public const string LostMode = "lostMode";
    /// <summary>End Lost Mode.</summary>
    public const string EndLostMode = "endLostMode";
    /// <summary>Rename the device. Argument <c>name</c>.</summary>
    public const string Rename = "rename";
    /// <summary>Set the wallpaper. Argument <c>wallpaperId</c> (uploaded at <c>/api/apple/wallpapers</c>), optional <c>where</c> (<c>lock</c>, <c>home</c>, <c>both</c>).</summary>
    public const string Wallpaper = "wallpaper";
    /// <summary>Install the device's current policy as a configuration profile (Apple devices; agents get policy frames instead).</summary>
    public const string ApplyPolicy = "applyPolicy";
    /// <summary>
    /// Install a catalog entry's Mac package on a Mac managed through Apple MDM (InstallEnterpriseApplication with the manifest
    /// embedded). Issued by the server's app reconciler only, never by staff: arguments <c>package</c> (the receipt id),
    /// <c>packageUrl</c> (https), <c>sha256</c>, <c>bundleId</c> (the app bundle the package installs) and optional <c>name</c>.
    /// </summary>
    public const string InstallEnterpriseApp = "installEnterpriseApp";

    // Desktop agent package management (docs/agent-protocol.md): the package identity for the device's own platform.

    /// <summary>Install a package with the platform's package tool. Argument <c>package</c> (<see cref="PackageIds"/>): a Debian package name on Linux, a winget id on Windows.</summary>
    public const string InstallPackage = "installPackage";
    /// <summary>Remove a package with the platform's package tool. Argument <c>package</c>.</summary>
    public const string RemovePackage = "removePackage";
    /// <summary>
    /// Install the operating system's pending updates with its own update mechanism (apt on Linux, the Windows Update
    /// Agent, <c>softwareupdate</c> on macOS). Optional <c>deadline</c> (ISO 8601 with offset): the ring's deadline, which
    /// the agent states in its result; it installs when the command arrives either way.
    /// </summary>
    public const string InstallOsUpdates = "installOsUpdates";

    /// <summary>
    /// Gather a diagnostics report: agents answer a <see cref="DiagnosticsFrame"/> and then <c>succeeded</c>; Apple devices a
    /// DeviceInformation query. Optional argument <c>urls</c>: the district's sites to test, space-separated https URLs (<see cref="DiagnosticsLimits.ParseSites"/>).
    /// </summary>
    public const string Diagnose = "diagnose";

    /// <summary>
    /// Run an approved script (desktop agents): arguments <c>scriptId</c>, <c>version</c>, <c>name</c>, <c>platform</c>,
    /// <c>timeLimit</c> (seconds), <c>sha256</c>, <c>signature</c> and <c>body</c> (<see cref="ScriptSigning.Arguments"/>). The agent checks
    /// the signature and hash (<see cref="ScriptSigning.Verify"/>), runs it within its time limit and answers a
    /// <see cref="ScriptResultFrame"/> and then <c>succeeded</c>; a script that fails the check is answered <c>failed</c> and never run.
    /// Issued only through the script endpoints, never <c>POST /api/commands</c>.
    /// </summary>
    public const string RunScript = "runScript";

    /// <summary>
    /// Replace the desktop agent's own program with a newer build the server signed: one argument per runtime of the
    /// device's platform (<see cref="AgentUpdates.Arguments"/>). The agent takes the one for its own runtime, checks the
    /// signature, downloads the build from its path, checks size and SHA-256, swaps its program and proves the new one
    /// connects before it steps aside (docs/desktop-agent.md, Updates). Answered <c>succeeded</c> by the new version, or
    /// <c>failed</c> (refused, or rolled back) by the old one. Issued by the server itself, never <c>POST /api/commands</c>.
    /// </summary>
    public const string AgentUpdate = "agentUpdate";
}

/// <summary>
/// The package identities <see cref="CommandKinds.InstallPackage"/> and <see cref="CommandKinds.RemovePackage"/>
/// carry: 1 to 128 ASCII letters, digits, <c>.</c>, <c>-</c>, <c>_</c> and <c>+</c>, starting with a letter or
/// digit, without <c>..</c> and not ending with <c>.</c>. This covers Debian package names and winget ids, and
/// can never be read as an option or a path by the tool it is passed to.
/// </summary>
public static class PackageIds
{
    /// <summary>The longest package identity accepted.</summary>
    public const int MaxLength = 128;

    /// <summary>Whether a text is a package identity an agent may pass to its package tool.</summary>
    public static bool IsValid(string? value) =>
        value is { Length: > 0 and <= MaxLength }
        && char.IsAsciiLetterOrDigit(value[0])
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '+')
        && !value.Contains("..", StringComparison.Ordinal)
        && value[^1] != '.';
}

/// <summary>Progress or result of a command.</summary>
/// <param name="CommandId">The command.</param>
/// <param name="Status">See <see cref="CommandStatusValues"/>.</param>
/// <param name="Error">What went wrong, when <c>failed</c>.</param>
/// <param name="Result">Short result text, when the command produces one.</param>
public sealed record CommandStatusFrame(Guid CommandId, string Status, string? Error = null, string? Result = null) : AgentFrame;

/// <summary>The values of <see cref="CommandStatusFrame.Status"/>.</summary>
public static class CommandStatusValues
{
    /// <summary>Received; will be carried out.</summary>
    public const string Acknowledged = "acknowledged";
    /// <summary>Carried out.</summary>
    public const string Succeeded = "succeeded";
    /// <summary>Could not be carried out; see <c>error</c>.</summary>
    public const string Failed = "failed";
}

/// <summary>A complete, versioned effective policy. Applying the same version twice is a no-op.</summary>
/// <param name="Version">Increases with every change for this device.</param>
/// <param name="Document">The policy document; its schema is in docs/agent-protocol.md.</param>
public sealed record PolicyFrame(long Version, JsonElement Document) : AgentFrame;

/// <summary>Whether a policy snapshot was applied.</summary>
/// <param name="Version">The version the agent applied or tried to apply.</param>
/// <param name="Applied">True when every setting took effect.</param>
/// <param name="Failures">Settings that could not be applied, with reasons.</param>
public sealed record PolicyStatusFrame(long Version, bool Applied, IReadOnlyList<string>? Failures) : AgentFrame;

/// <summary>Start or stop sending screen thumbnails as binary frames. While active the device must show that its screen is viewed.</summary>
/// <param name="Active">True to start, false to stop.</param>
/// <param name="ViewerName">Who is watching, to show on the device.</param>
/// <param name="IntervalMilliseconds">How often to send a thumbnail.</param>
/// <param name="MaxWidth">Largest thumbnail width in pixels.</param>
public sealed record ScreenViewFrame(bool Active, string? ViewerName, int IntervalMilliseconds, int MaxWidth) : AgentFrame;

/// <summary>
/// A batch of safety signals for the server to scan, sent only while the effective policy's
/// <c>monitoring.safety</c> is true (typed text only while <c>safety.typedText</c> is also true). The
/// server stores nothing of a signal that matched nothing; resending a batch is harmless.
/// </summary>
/// <param name="Batch">Chosen by the agent, 1 to 2^53, echoed in <see cref="SignalsAckFrame"/>.</param>
/// <param name="Signals">1 to <see cref="ProtocolLimits.MaxSignalsPerFrame"/> signals.</param>
public sealed record SignalsFrame(long Batch, IReadOnlyList<SafetySignal> Signals) : AgentFrame;

/// <summary>One piece of text seen or typed on the device.</summary>
/// <param name="OccurredAt">When it was seen or typed on the device.</param>
/// <param name="Source">See <see cref="SignalSources"/>.</param>
/// <param name="Text">1 to <see cref="ProtocolLimits.MaxSignalTextLength"/> characters (agents cut longer text).</param>
/// <param name="Url">The page it was seen on, at most <see cref="ProtocolLimits.MaxUrlLength"/> characters.</param>
public sealed record SafetySignal(DateTimeOffset OccurredAt, string Source, string Text, string? Url = null);

/// <summary>The values of <see cref="SafetySignal.Source"/>.</summary>
public static class SignalSources
{
    /// <summary>A search query, read from a search engine's URL.</summary>
    public const string Search = "search";
    /// <summary>A page title.</summary>
    public const string Title = "title";
    /// <summary>A visited URL.</summary>
    public const string Url = "url";
    /// <summary>Text typed into a page (never password or payment fields).</summary>
    public const string Typed = "typed";
    /// <summary>A window title (.NET agent).</summary>
    public const string Window = "window";

    /// <summary>All v1 sources.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        Search, Title, Url, Typed, Window,
    };
}

/// <summary>A signals batch was scanned and every alert it raised is committed; the agent may forget it.</summary>
/// <param name="Batch">The batch number of the acknowledged <see cref="SignalsFrame"/>.</param>
/// <param name="Dropped">How many of its signals were not scanned because the device is over its signal budget; absent when none.</param>
public sealed record SignalsAckFrame(long Batch, int? Dropped = null) : AgentFrame;

/// <summary>
/// Capture the visible tab now for a safety alert and send it as a <see cref="SafetyScreenshotFrame"/>
/// within 30 seconds; sent only when the policy's <c>safety.screenshots</c> is true.
/// </summary>
/// <param name="CaptureId">Echoed in the screenshot's header.</param>
public sealed record SafetyCaptureFrame(Guid CaptureId) : AgentFrame;
