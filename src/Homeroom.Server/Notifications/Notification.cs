using System.Text.Json.Serialization;
using Homeroom.Server.Accounts;

namespace Homeroom.Server.Notifications;

/// <summary>How urgent a notification is. Stored and sent as the camel-case name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NotificationSeverity>))]
public enum NotificationSeverity
{
    [JsonStringEnumMemberName("info")] Info,
    [JsonStringEnumMemberName("warning")] Warning,
    [JsonStringEnumMemberName("high")] High,
    [JsonStringEnumMemberName("imminent")] Imminent,
}

/// <summary>
/// Something staff should be told at once. <paramref name="SubjectId"/> identifies what it is about
/// (an alert's id): later updates and the resolution of the same subject replace it on every page.
/// <paramref name="ReadPermission"/> is what a staff member needs to be told; the school decides whose
/// scope covers it (a device without a school: district-wide staff only). <paramref name="Link"/> is a
/// console path (relative, e.g. <c>/alerts/{id}</c>).
/// </summary>
public sealed record Notification(
    string Kind,
    NotificationSeverity Severity,
    Guid SubjectId,
    Guid? SchoolId,
    Guid? DeviceId,
    string Title,
    string Text,
    string Link,
    DateTime At,
    Permission ReadPermission)
{
    /// <summary>Whether a staff member of this scope is told: they hold the permission and their scope covers the school.</summary>
    public bool IsFor(StaffScope scope) => scope.Can(ReadPermission) && scope.IncludesSchool(SchoolId);
}

/// <summary>What happened to a notification's subject.</summary>
public enum NotificationChange
{
    /// <summary>New: show it (and send it by e-mail and webhook where the school asks).</summary>
    Raised,

    /// <summary>The subject changed (a device came back in bounds): replace what is shown.</summary>
    Updated,

    /// <summary>Someone dealt with it (acknowledged): remove it from every page.</summary>
    Resolved,
}

/// <summary>One change as a console page receives it.</summary>
public sealed record NotificationUpdate(NotificationChange Change, Notification Notification);

/// <summary>
/// The kinds of notification a school can choose to send by e-mail or webhook. A feature that
/// publishes a new kind adds it here.
/// </summary>
public static class NotificationKinds
{
    public const string OutOfBounds = "outOfBounds";

    /// <summary>A safety alert (issue 14): only for staff who read safety; by e-mail and webhook only when high or imminent.</summary>
    public const string Safety = "safety";

    /// <summary>A desktop agent stopped or fell silent while its computer runs (alert kinds agentStopped and agentSilent).</summary>
    public const string AgentStopped = "agentStopped";

    /// <summary>
    /// An OS update rollout paused itself at its health gate (issue 16), with the gate's reason: district-wide staff who read
    /// updates, on the console only (rollouts are the district's, and e-mail settings are per school, so it is not in <see cref="All"/>).
    /// </summary>
    public const string RolloutPaused = "rolloutPaused";

    public static readonly IReadOnlyList<string> All = [OutOfBounds, Safety, AgentStopped];

    /// <summary>How the console names each kind.</summary>
    public static string Label(string kind) => kind switch
    {
        OutOfBounds => "Device out of bounds",
        Safety => "Safety alert (high and imminent)",
        AgentStopped => "Desktop agent stopped while the computer runs",
        _ => kind,
    };
}
