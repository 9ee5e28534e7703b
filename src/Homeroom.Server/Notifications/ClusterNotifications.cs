using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Homeroom.Server.Notifications;

/// <summary>
/// Staff notifications across the nodes of a cluster on PostgreSQL. Each change the <see cref="Notifier"/> makes on this
/// node (<see cref="Notifier.ChangedHere"/>) is written to <c>cluster_notifications</c> with an <c>n</c> notice in the
/// same transaction, a batch at a time; the <see cref="BackplaneListener"/> of every other node hands the notice to
/// <see cref="OnNoticeAsync"/>, which reads the rows and shows them on that node's open console pages
/// (<see cref="Notifier.Relay"/>), to the staff each is for there. E-mail and webhooks stay the raising node's.
/// Notifications are live only, so a batch that cannot be written is dropped (logged), never retried late. Anyone who
/// may connect to the database can write rows, so a row is read strictly: anything malformed is ignored and logged.
/// On SQLite, or with the backplane off, nothing here runs.
/// </summary>
public sealed class ClusterNotifications(
    Notifier notifier,
    BackplanePublisher backplane,
    DatabaseOptions database,
    IOptions<BackplaneOptions> options,
    TimeProvider time,
    ILogger<ClusterNotifications> logger) : BackgroundService
{
    /// <summary>Changes waiting to be written; beyond it new ones are dropped (logged).</summary>
    public const int QueueLength = 1_000;

    /// <summary>Most changes in one transaction.</summary>
    public const int BatchSize = 200;

    /// <summary>How long a row is kept for the other nodes to read it.</summary>
    public static readonly TimeSpan RowLifetime = TimeSpan.FromMinutes(10);

    /// <summary>Longest row body read; the server writes a few hundred bytes.</summary>
    public const int MaxBodyLength = 16 * 1024;

    private const int MaxKindLength = 64;
    private const int MaxTitleLength = 1_000;
    private const int MaxTextLength = 8_000;
    private const int MaxLinkLength = 1_000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
        MaxDepth = 4,
    };

    private readonly Channel<NotificationUpdate> _queue = Channel.CreateBounded<NotificationUpdate>(
        new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Changes relayed from other nodes since start (for tests and metrics).</summary>
    public long Relayed => Interlocked.Read(ref _relayed);

    private long _relayed;

    private sealed record Row(NotificationChange Change, Notification Notification);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!backplane.Enabled)
        {
            return;
        }

        notifier.ChangedHere += Enqueue;
        try
        {
            var batch = new List<NotificationUpdate>(BatchSize);
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < BatchSize && _queue.Reader.TryRead(out var update))
                {
                    batch.Add(update);
                }

                try
                {
                    await WriteAsync(batch, stoppingToken);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    NotificationsLog.ClusterWriteFailed(logger, batch.Count, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            notifier.ChangedHere -= Enqueue;
        }
    }

    private void Enqueue(NotificationUpdate update)
    {
        if (!_queue.Writer.TryWrite(update))
        {
            NotificationsLog.ClusterQueueFull(logger, update.Notification.Kind, update.Notification.SubjectId);
        }
    }

    private async Task WriteAsync(List<NotificationUpdate> batch, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var ids = batch.Select(_ => Guid.CreateVersion7()).ToArray();
        var bodies = batch.Select(Write).ToArray();
        await using var connection = new NpgsqlConnection(database.PostgresConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var delete = new NpgsqlCommand("DELETE FROM cluster_notifications WHERE created_at < $1", connection, transaction))
        {
            delete.Parameters.Add(new NpgsqlParameter { Value = now - RowLifetime });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var insert = new NpgsqlCommand(
            "INSERT INTO cluster_notifications (id, node, body, created_at) SELECT x.i, $2, x.b, $4 FROM unnest($1::uuid[], $3::text[]) AS x(i, b)",
            connection,
            transaction))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = ids });
            insert.Parameters.Add(new NpgsqlParameter { Value = backplane.NodeId });
            insert.Parameters.Add(new NpgsqlParameter { Value = bodies });
            insert.Parameters.Add(new NpgsqlParameter { Value = now });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await BackplanePublisher.NotifyAsync(connection, transaction, BackplaneMessages.Notifications(backplane.NodeId, ids, options.Value.MaxPayloadBytes), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Another node changed these notifications (rows of <c>cluster_notifications</c>): shows them here, in their order.</summary>
    public async Task OnNoticeAsync(IReadOnlyList<Guid> rowIds, CancellationToken cancellationToken)
    {
        if (rowIds.Count == 0)
        {
            return;
        }

        var rows = new List<(Guid Id, string Body)>();
        await using (var connection = new NpgsqlConnection(database.PostgresConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var select = new NpgsqlCommand("SELECT id, body FROM cluster_notifications WHERE id = ANY($1) ORDER BY id", connection);
            select.Parameters.Add(new NpgsqlParameter { Value = rowIds.ToArray() });
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetGuid(0), reader.GetString(1)));
            }
        }

        foreach (var (id, body) in rows)
        {
            if (Read(body) is { } update)
            {
                notifier.Relay(update);
                Interlocked.Increment(ref _relayed);
            }
            else
            {
                NotificationsLog.ClusterRowMalformed(logger, id, body.Length);
            }
        }
    }

    /// <summary>A row's body as a change, or null when it is not one the server writes (too long, malformed, out of range).</summary>
    public static NotificationUpdate? Read(string body)
    {
        if (body.Length > MaxBodyLength)
        {
            return null;
        }

        Row? row;
        try
        {
            row = JsonSerializer.Deserialize<Row>(body, Json);
        }
        catch (JsonException)
        {
            return null;
        }

        if (row?.Notification is not { } n
            || !Enum.IsDefined(row.Change)
            || !Enum.IsDefined(n.Severity)
            || !Enum.IsDefined(n.ReadPermission)
            || n.Kind is not { Length: > 0 and <= MaxKindLength }
            || n.Title is not { Length: <= MaxTitleLength }
            || n.Text is not { Length: <= MaxTextLength }
            || n.Link is not { Length: > 0 and <= MaxLinkLength }
            || n.Link[0] != '/'
            || n.Link.StartsWith("//", StringComparison.Ordinal)
            || n.Link.Contains('\\', StringComparison.Ordinal)
            || n.SubjectId == Guid.Empty)
        {
            return null;
        }

        return new NotificationUpdate(row.Change, n with { At = DateTime.SpecifyKind(n.At, DateTimeKind.Utc) });
    }

    /// <summary>What a row's body is for a change.</summary>
    public static string Write(NotificationUpdate update) => JsonSerializer.Serialize(new Row(update.Change, update.Notification), Json);
}
