using System.Collections.Concurrent;
using System.Threading.Channels;
using Homeroom.Server.Accounts;

namespace Homeroom.Server.Notifications;

/// <summary>
/// The one place that tells staff. A feature publishes a <see cref="Notification"/> (one call:
/// <see cref="Publish"/>), later <see cref="Update"/>s or <see cref="Resolve"/>s it; the notifier fans
/// each change out to the live console connections whose staff it is for, and queues new ones for
/// e-mail and webhooks (<see cref="NotificationDelivery"/>). Nothing here waits: each console
/// connection has its own small queue that it drains itself, so a slow or dead connection costs the
/// publisher one failed <c>TryWrite</c>, and the outbound queue is bounded.
/// </summary>
public sealed class Notifier(ILogger<Notifier> logger)
{
    /// <summary>How many changes a console connection may fall behind before the oldest are dropped.</summary>
    public const int SubscriberQueueLength = 64;

    /// <summary>How many notifications may wait for e-mail and webhook delivery before new ones are dropped (and logged).</summary>
    public const int OutboundQueueLength = 1000;

    private readonly ConcurrentDictionary<NotificationSubscription, byte> _subscribers = new();
    private readonly Channel<Notification> _outbound = Channel.CreateBounded<Notification>(
        new BoundedChannelOptions(OutboundQueueLength) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Live console connections listening now.</summary>
    public int SubscriberCount => _subscribers.Count;

    /// <summary>New notifications waiting for e-mail and webhook delivery (read by <see cref="NotificationDelivery"/>).</summary>
    internal ChannelReader<Notification> Outbound => _outbound.Reader;

    /// <summary>
    /// Each change made on this node, for the other nodes of a cluster (<see cref="ClusterNotifications"/>), which show it
    /// on their open console pages through <see cref="Relay"/>. Handlers must not block.
    /// </summary>
    public event Action<NotificationUpdate>? ChangedHere;

    /// <summary>Tells the staff it is for, on every open console page, and by e-mail and webhook where their school asks.</summary>
    public void Publish(Notification notification)
    {
        Change(new NotificationUpdate(NotificationChange.Raised, notification));
        if (!_outbound.Writer.TryWrite(notification))
        {
            NotificationsLog.OutboundQueueFull(logger, notification.Kind, notification.SubjectId);
        }
    }

    /// <summary>Tells the staff it is for on every open console page only; its e-mail and webhook are held (a school's quiet hours).</summary>
    public void PublishToConsole(Notification notification) => Change(new NotificationUpdate(NotificationChange.Raised, notification));

    /// <summary>Sends by e-mail and webhook only, where the school asks (a summary of what open pages already showed).</summary>
    public void SendOutward(Notification notification)
    {
        if (!_outbound.Writer.TryWrite(notification))
        {
            NotificationsLog.OutboundQueueFull(logger, notification.Kind, notification.SubjectId);
        }
    }

    /// <summary>Replaces what open console pages show for the same subject (not sent again by e-mail).</summary>
    public void Update(Notification notification) => Change(new NotificationUpdate(NotificationChange.Updated, notification));

    /// <summary>The subject was dealt with: removes it from every open console page.</summary>
    public void Resolve(Notification notification) => Change(new NotificationUpdate(NotificationChange.Resolved, notification));

    /// <summary>A change made on another node of the cluster: shown on this node's open pages only (its e-mail and webhooks were that node's).</summary>
    public void Relay(NotificationUpdate update) => FanOut(update);

    /// <summary>
    /// Starts listening for the notifications meant for a staff member (a console connection). Read
    /// <see cref="NotificationSubscription.Updates"/>; dispose to stop (a connection must, when it closes).
    /// </summary>
    public NotificationSubscription Subscribe(StaffScope scope)
    {
        var subscription = new NotificationSubscription(this, scope);
        _subscribers.TryAdd(subscription, 0);
        return subscription;
    }

    internal void Remove(NotificationSubscription subscription) => _subscribers.TryRemove(subscription, out _);

    private void Change(NotificationUpdate update)
    {
        FanOut(update);
        ChangedHere?.Invoke(update);
    }

    private void FanOut(NotificationUpdate update)
    {
        foreach (var subscription in _subscribers.Keys)
        {
            if (update.Notification.IsFor(subscription.Scope))
            {
                subscription.Offer(update);
            }
        }
    }
}

/// <summary>One console connection's stream of notifications. Dispose when the connection closes.</summary>
public sealed class NotificationSubscription : IDisposable
{
    private readonly Notifier _owner;
    private readonly Channel<NotificationUpdate> _updates = Channel.CreateBounded<NotificationUpdate>(
        new BoundedChannelOptions(Notifier.SubscriberQueueLength) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    internal NotificationSubscription(Notifier owner, StaffScope scope)
    {
        _owner = owner;
        Scope = scope;
    }

    /// <summary>Whose connection this is (what they are told is decided by it).</summary>
    public StaffScope Scope { get; }

    /// <summary>The changes meant for this staff member, in order; completes when disposed.</summary>
    public ChannelReader<NotificationUpdate> Updates => _updates.Reader;

    internal void Offer(NotificationUpdate update) => _updates.Writer.TryWrite(update);

    public void Dispose()
    {
        _owner.Remove(this);
        _updates.Writer.TryComplete();
    }
}
