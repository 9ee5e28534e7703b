using Homeroom.Rules.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;

namespace Homeroom.Server.Commands;

public sealed record DeliveryUpdate(Guid CommandId, Guid DeviceId, DeliveryStatus Status, DateTime At, string? Error = null, string? Result = null);

/// <summary>
/// Writes per-device command status changes in batches. The SQL only moves a status forward
/// (<see cref="CommandLifecycle.CanMove"/>), so late, repeated or reordered reports are harmless; a
/// device's report moves only a delivery that was sent to it (queued deliveries only become sent),
/// so a report naming a command this device was never sent, or was not sent yet, changes nothing.
/// <see cref="CommandDispatcher"/> queues "sent" before the frame goes out and updates are applied
/// in order, so a report never overtakes the "sent" of its own command.
/// </summary>
public sealed class CommandStatusWriter(BulkSql bulk, TimeProvider time, ILogger<CommandStatusWriter> logger)
    : BatchingWriter<DeliveryUpdate>(capacity: 100_000, maxBatch: 5_000, maxDelay: TimeSpan.FromMilliseconds(10), time, logger)
{
    // Mirrors CommandLifecycle.CanMove: final statuses (3, 4, 5) never change; others only increase.
    // Queued (0) moves only to sent (1): whatever a device says about a command it was not sent is ignored.
    private const string UpdateSql = """
        UPDATE command_deliveries SET status = @s, updated_at = @at, error = @e, result = @r
        WHERE command_id = @c AND device_id = @d AND status < @s AND status < 3 AND (status > 0 OR @s = 1)
        """;

    private static readonly string[] Parameters = ["@s", "@at", "@e", "@r", "@c", "@d"];

    protected override string Describe(DeliveryUpdate item) => $"the {item.Status} report of device {item.DeviceId} on command {item.CommandId}";

    protected override async Task WriteBatchAsync(IReadOnlyList<DeliveryUpdate> batch, CancellationToken cancellationToken)
    {
        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, UpdateSql, Parameters, batch, (u, v) =>
        {
            v[0] = (short)u.Status;
            v[1] = u.At;
            v[2] = u.Error;
            v[3] = u.Result;
            v[4] = bulk.Id(u.CommandId);
            v[5] = bulk.Id(u.DeviceId);
        }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
