using Homeroom.Server.Accounts;
using Homeroom.Server.Notifications;

namespace Homeroom.Server.Updates;

/// <summary>
/// What open console pages show when a rollout pauses itself at its gate: the rollout's name and the gate's reason, for
/// district-wide staff who read updates, linking to the rollout. It goes when an administrator resumes or stops it.
/// </summary>
public static class RolloutNotifications
{
    public static Notification Paused(UpdateRollout rollout, string reason, DateTime at) => new(
        NotificationKinds.RolloutPaused,
        NotificationSeverity.Warning,
        rollout.Id,
        SchoolId: null,
        DeviceId: null,
        $"OS update rollout paused: {rollout.Name}",
        reason,
        $"/updates?id={rollout.Id}",
        at,
        Permission.ReadUpdates);
}
