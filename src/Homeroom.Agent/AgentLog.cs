using Microsoft.Extensions.Logging;

namespace Homeroom.Agent;

internal static partial class AgentLog
{
    [LoggerMessage(1, LogLevel.Information, "Enrolled as device {DeviceId}")]
    public static partial void Enrolled(ILogger logger, Guid deviceId);

    [LoggerMessage(2, LogLevel.Warning, "Enrollment refused ({Status}): {Detail}")]
    public static partial void EnrollmentRefused(ILogger logger, int status, string detail);

    [LoggerMessage(3, LogLevel.Information, "Connected to {Server} as device {DeviceId}")]
    public static partial void Connected(ILogger logger, Uri server, Guid deviceId);

    [LoggerMessage(4, LogLevel.Information, "Connection closed ({Code}: {Reason}); reconnecting in {Delay}")]
    public static partial void Disconnected(ILogger logger, int code, string? reason, TimeSpan delay);

    [LoggerMessage(5, LogLevel.Error, "The device was revoked (4403): not reconnecting until the agent is enrolled again")]
    public static partial void Revoked(ILogger logger);

    [LoggerMessage(6, LogLevel.Warning, "The server no longer accepts the credential (4401): enrolling again")]
    public static partial void CredentialRefused(ILogger logger);

    [LoggerMessage(7, LogLevel.Information, "Command {CommandId} ({Kind}): {Status} {Result}")]
    public static partial void CommandAnswered(ILogger logger, Guid commandId, string kind, string status, string? result);

    [LoggerMessage(8, LogLevel.Information, "Command {CommandId} delivered again: answered from the journal, not run again")]
    public static partial void CommandRepeated(ILogger logger, Guid commandId);

    [LoggerMessage(9, LogLevel.Warning, "The offline activity queue is full ({Capacity}): dropped {Count} oldest event(s), {Total} in all")]
    public static partial void ActivityDropped(ILogger logger, int capacity, int count, long total);

    [LoggerMessage(10, LogLevel.Information, "Applied policy version {Version} ({Failures} failure(s))")]
    public static partial void PolicyApplied(ILogger logger, long version, int failures);

    [LoggerMessage(11, LogLevel.Error, "Could not ask the operating system to {Action}: {Reason}")]
    public static partial void PowerFailed(ILogger logger, string action, string reason);

    [LoggerMessage(12, LogLevel.Warning, "The server answered {Count} activity event(s) over its budget (dropped, not stored)")]
    public static partial void ServerDroppedActivity(ILogger logger, int count);

    [LoggerMessage(13, LogLevel.Warning, "Cannot reach {Server}: {Reason}")]
    public static partial void Unreachable(ILogger logger, Uri server, string reason);

    [LoggerMessage(14, LogLevel.Information, "Ended {Executable} (process {ProcessId}): package {Package} is blocked by policy")]
    public static partial void ApplicationBlocked(ILogger logger, string executable, int processId, string package);

    [LoggerMessage(15, LogLevel.Warning, "Could not scan the running processes for blocked applications: {Reason}")]
    public static partial void BlockScanFailed(ILogger logger, string reason);

    [LoggerMessage(16, LogLevel.Information, "{Kind} {Package}: {Outcome}")]
    public static partial void PackageChanged(ILogger logger, string kind, string package, string outcome);

    [LoggerMessage(17, LogLevel.Information, "OS updates: {Pending} pending ({Security} for security), restart required: {RebootRequired} {Error}")]
    public static partial void OsUpdatesChecked(ILogger logger, int pending, int security, bool rebootRequired, string error);

    [LoggerMessage(18, LogLevel.Information, "Installed OS updates (ok: {Ok}): {Result}")]
    public static partial void OsUpdatesInstalled(ILogger logger, bool ok, string result);

    [LoggerMessage(19, LogLevel.Warning, "Refused script command {CommandId}: {Reason}; nothing was run")]
    public static partial void ScriptRefused(ILogger logger, Guid commandId, string reason);

    [LoggerMessage(20, LogLevel.Information, "Ran script '{Name}' version {Version} for command {CommandId}: exit code {ExitCode}, timed out {TimedOut}")]
    public static partial void ScriptRan(ILogger logger, string name, int version, Guid commandId, int? exitCode, bool timedOut);

    [LoggerMessage(21, LogLevel.Information, "Keeping the server's script-signing key")]
    public static partial void ScriptKeyPinned(ILogger logger);

    [LoggerMessage(22, LogLevel.Warning, "The server offered a different script-signing key than the one kept at first contact: ignored (scripts signed with it are refused)")]
    public static partial void ScriptKeyChanged(ILogger logger);

    [LoggerMessage(23, LogLevel.Information, "Signed in at the screen now: {Account}")]
    public static partial void SignedInUserChanged(ILogger logger, string account);

    [LoggerMessage(24, LogLevel.Warning, "Not reporting the signed-in account (reporting nobody): {Reason}")]
    public static partial void SignedInUserRefused(ILogger logger, string reason);

    [LoggerMessage(25, LogLevel.Warning, "Could not tell who is signed in: {Reason}")]
    public static partial void SignedInUserUnknown(ILogger logger, string reason);

    [LoggerMessage(26, LogLevel.Warning, "Refused an agent update: {Reason}; nothing was replaced")]
    public static partial void UpdateRefused(ILogger logger, string reason);

    [LoggerMessage(27, LogLevel.Information, "Updated the agent from {From} to {To}; the new version connected, restarting into it")]
    public static partial void Updated(ILogger logger, string from, string to);

    [LoggerMessage(28, LogLevel.Warning, "The new agent version {Version} failed to connect (attempt {Attempt}): {Failure}")]
    public static partial void UpdateAttemptFailed(ILogger logger, string version, int attempt, string failure);

    [LoggerMessage(29, LogLevel.Warning, "Rolled the agent back to {Version}: {Detail}")]
    public static partial void RolledBack(ILogger logger, string version, string detail);

    [LoggerMessage(30, LogLevel.Information, "Browser policy updated: {Path}")]
    public static partial void BrowserPolicyChanged(ILogger logger, string path);

    [LoggerMessage(31, LogLevel.Warning, "Browser policy not applied: {Failure}")]
    public static partial void BrowserPolicyFailed(ILogger logger, string failure);

    [LoggerMessage(32, LogLevel.Error, "A connection ended with an unexpected fault; reconnecting with back-off")]
    public static partial void ConnectionFault(ILogger logger, Exception exception);
}
