using Homeroom.Server.Accounts;
using Homeroom.Server.Locations;

namespace Homeroom.Server.Notifications;

/// <summary>How a device alert reads as a notification (raised, cleared, acknowledged): out of bounds, or a desktop agent not reporting.</summary>
public static class AlertNotifications
{
    public static Notification Of(Alert alert, Guid? schoolId, string deviceName)
    {
        var cleared = alert.ClearedAt is not null;
        var (kind, raisedSeverity, raisedTitle, clearedTitle, clearedText, defaultText) = alert.Kind is AlertKinds.AgentStopped or AlertKinds.AgentSilent
            ? (NotificationKinds.AgentStopped, NotificationSeverity.Warning,
                $"{deviceName}'s agent is not reporting",
                $"{deviceName}'s agent is back",
                $"The Homeroom agent on {deviceName} connected again; the alert still waits to be acknowledged.",
                $"The Homeroom agent on {deviceName} is not reporting.")
            : (NotificationKinds.OutOfBounds, NotificationSeverity.High,
                $"{deviceName} is out of bounds",
                $"{deviceName} is back in bounds",
                $"{deviceName} came back into its allowed zones; the alert still waits to be acknowledged.",
                $"{deviceName} left its allowed zones.");

        return new Notification(
            kind,
            cleared ? NotificationSeverity.Info : raisedSeverity,
            alert.Id,
            schoolId,
            alert.DeviceId,
            cleared ? clearedTitle : raisedTitle,
            cleared ? clearedText : alert.Details ?? defaultText,
            $"/alerts/{alert.Id}",
            alert.ClearedAt ?? alert.RaisedAt,
            Permission.ReadAlerts);
    }
}
