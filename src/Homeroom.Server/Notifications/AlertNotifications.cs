using Homeroom.Server.Accounts;
using Homeroom.Server.Locations;

namespace Homeroom.Server.Notifications;

/// <summary>How a device alert reads as a notification (raised, cleared, acknowledged): out of bounds, or a desktop agent not reporting.</summary>
public static class AlertNotifications
{
    public static Notification Of(Alert alert, Guid? schoolId, string deviceName)
    {
        var cleared = alert.ClearedAt is not null;
        if (alert.Kind is AlertKinds.AgentStopped or AlertKinds.AgentSilent)
        {
            return new Notification(
                NotificationKinds.AgentStopped,
                cleared ? NotificationSeverity.Info : NotificationSeverity.Warning,
                alert.Id,
                schoolId,
                alert.DeviceId,
                cleared ? $"{deviceName}'s agent is back" : $"{deviceName}'s agent is not reporting",
                cleared ? $"The Homeroom agent on {deviceName} connected again; the alert still waits to be acknowledged." : alert.Details ?? $"The Homeroom agent on {deviceName} is not reporting.",
                $"/alerts/{alert.Id}",
                alert.ClearedAt ?? alert.RaisedAt,
                Permission.ReadAlerts);
        }

        return new Notification(
            NotificationKinds.OutOfBounds,
            cleared ? NotificationSeverity.Info : NotificationSeverity.High,
            alert.Id,
            schoolId,
            alert.DeviceId,
            cleared ? $"{deviceName} is back in bounds" : $"{deviceName} is out of bounds",
            cleared ? $"{deviceName} came back into its allowed zones; the alert still waits to be acknowledged." : alert.Details ?? $"{deviceName} left its allowed zones.",
            $"/alerts/{alert.Id}",
            alert.ClearedAt ?? alert.RaisedAt,
            Permission.ReadAlerts);
    }
}
