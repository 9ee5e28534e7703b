using Homeroom.Server.Accounts;
using Homeroom.Server.Locations;

namespace Homeroom.Server.Notifications;

/// <summary>How an out-of-bounds alert reads as a notification (raised, back in bounds, acknowledged).</summary>
public static class AlertNotifications
{
    public static Notification Of(Alert alert, Guid? schoolId, string deviceName)
    {
        var cleared = alert.ClearedAt is not null;
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
