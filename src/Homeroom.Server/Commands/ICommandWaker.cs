namespace Homeroom.Server.Commands;

/// <summary>
/// Wakes devices that do not keep a connection open (Apple devices, through APNs) so they fetch a
/// command just stored for them. A wake is only a nudge: the stored deliveries are the truth.
/// </summary>
public interface ICommandWaker
{
    Task WakeAsync(IReadOnlyList<Guid> deviceIds, CancellationToken cancellationToken);
}
