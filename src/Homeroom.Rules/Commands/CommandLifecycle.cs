namespace Homeroom.Rules.Commands;

/// <summary>Where one command stands for one device. Values are stored; never renumber.</summary>
public enum DeliveryStatus : short
{
    /// <summary>Stored, not yet sent to the device.</summary>
    Queued = 0,
    /// <summary>Written to the device's connection.</summary>
    Sent = 1,
    /// <summary>The device confirmed it received it.</summary>
    Acknowledged = 2,
    /// <summary>The device carried it out.</summary>
    Succeeded = 3,
    /// <summary>The device could not carry it out.</summary>
    Failed = 4,
    /// <summary>Its time to live ran out before it finished.</summary>
    Expired = 5,
}

/// <summary>Pure rules for delivery status changes.</summary>
public static class CommandLifecycle
{
    /// <summary>True for statuses that never change again.</summary>
    public static bool IsFinal(DeliveryStatus status) =>
        status is DeliveryStatus.Succeeded or DeliveryStatus.Failed or DeliveryStatus.Expired;

    /// <summary>True when a command in this status still has to reach the device.</summary>
    public static bool NeedsDelivery(DeliveryStatus status) =>
        status is DeliveryStatus.Queued or DeliveryStatus.Sent;

    /// <summary>
    /// Statuses only move forward. A late or repeated report (an acknowledgement after the result,
    /// a second result after a resend) is ignored, and a final status is never replaced.
    /// </summary>
    public static bool CanMove(DeliveryStatus from, DeliveryStatus to) => !IsFinal(from) && to > from;
}
