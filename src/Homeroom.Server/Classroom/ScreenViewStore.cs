using Homeroom.Contracts.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Homeroom.Server.Classroom;

/// <summary>One watched device as <c>screen_views</c> holds it.</summary>
public sealed record StoredScreenView(Guid DeviceId, Guid GroupId, string ViewerName, DateTimeOffset StartedAt, DateTimeOffset Until);

/// <summary>A class's view that ended: when it started and until when it could have lasted.</summary>
public sealed record EndedScreenView(Guid GroupId, IReadOnlyList<Guid> Devices, DateTimeOffset StartedAt, DateTimeOffset Until);

/// <summary>
/// Screen views shared by the nodes of a cluster on PostgreSQL (schema v49): <c>screen_views</c> says which devices a
/// class watches, <c>screen_thumbnails</c> (unlogged) holds the newest image of each watched device, written by the node
/// the device is connected to. Every change is announced on the backplane in the same transaction (<c>v</c> for views,
/// <c>t</c> for thumbnails), so a node that hears a notice reads committed rows. On SQLite (or with the backplane off)
/// <see cref="Enabled"/> is false and nothing here is called: <see cref="ScreenViews"/> keeps everything in memory.
/// </summary>
public sealed class ScreenViewStore(DatabaseOptions database, BackplanePublisher backplane, IOptions<BackplaneOptions> options)
{
    private readonly int _maxPayload = options.Value.MaxPayloadBytes;

    public bool Enabled => backplane.Enabled;

    /// <summary>Records the class watching these devices (a device watched by another class moves to this one) and tells the nodes.</summary>
    public async Task StartAsync(Guid groupId, string viewerName, DateTimeOffset now, DateTimeOffset until, IReadOnlyCollection<Guid> deviceIds, CancellationToken cancellationToken)
    {
        var ids = deviceIds.Distinct().ToArray();
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var groups = new HashSet<Guid> { groupId };
        await using (var previous = new NpgsqlCommand("SELECT DISTINCT group_id FROM screen_views WHERE device_id = ANY($1) AND group_id <> $2", connection, transaction))
        {
            previous.Parameters.Add(new NpgsqlParameter { Value = ids });
            previous.Parameters.Add(new NpgsqlParameter { Value = groupId });
            await using var reader = await previous.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                groups.Add(reader.GetGuid(0));
            }
        }

        // A view started again keeps its start (the class's viewing time counts from the first).
        await using (var upsert = new NpgsqlCommand(
            """
            INSERT INTO screen_views (device_id, group_id, viewer_name, started_at, until)
            SELECT d.id, $2, $3, $4, $5 FROM devices d WHERE d.id = ANY($1)
            ON CONFLICT (device_id) DO UPDATE SET
                started_at = CASE WHEN screen_views.group_id = excluded.group_id THEN screen_views.started_at ELSE excluded.started_at END,
                group_id = excluded.group_id, viewer_name = excluded.viewer_name, until = excluded.until
            """, connection, transaction))
        {
            upsert.Parameters.Add(new NpgsqlParameter { Value = ids });
            upsert.Parameters.Add(new NpgsqlParameter { Value = groupId });
            upsert.Parameters.Add(new NpgsqlParameter { Value = viewerName });
            upsert.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = until.ToUniversalTime() });
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }

        await BackplanePublisher.NotifyAsync(connection, transaction, BackplaneMessages.Views(backplane.NodeId, groups, _maxPayload), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Ends the class's view (its rows and images go) and tells the nodes; null when it was not watching.</summary>
    public async Task<EndedScreenView?> StopAsync(Guid groupId, CancellationToken cancellationToken) =>
        (await DeleteAsync("group_id = $1", groupId, cancellationToken)).SingleOrDefault();

    /// <summary>Ends every view whose session is over, and drops images left without a view; tells the nodes.</summary>
    public Task<List<EndedScreenView>> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        DeleteAsync("until <= $1", now.ToUniversalTime(), cancellationToken);

    private async Task<List<EndedScreenView>> DeleteAsync(string where, object value, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var rows = new List<(Guid Device, Guid Group, DateTimeOffset Started, DateTimeOffset Until)>();
        await using (var delete = new NpgsqlCommand($"DELETE FROM screen_views WHERE {where} RETURNING device_id, group_id, started_at, until", connection, transaction))
        {
            delete.Parameters.Add(new NpgsqlParameter { Value = value });
            await using var reader = await delete.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetGuid(0), reader.GetGuid(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3)));
            }
        }

        // The images of the devices no longer watched, and any a node wrote just as a view ended.
        await using (var images = new NpgsqlCommand(
            "DELETE FROM screen_thumbnails t WHERE NOT EXISTS (SELECT 1 FROM screen_views v WHERE v.device_id = t.device_id)", connection, transaction))
        {
            await images.ExecuteNonQueryAsync(cancellationToken);
        }

        var ended = rows.GroupBy(r => r.Group)
            .Select(g => new EndedScreenView(g.Key, [.. g.Select(r => r.Device)], g.Min(r => r.Started), g.Max(r => r.Until)))
            .ToList();
        if (ended.Count > 0)
        {
            await BackplanePublisher.NotifyAsync(connection, transaction, BackplaneMessages.Views(backplane.NodeId, ended.Select(e => e.GroupId), _maxPayload), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return ended;
    }

    /// <summary>The views of these classes, or of all when <paramref name="groupIds"/> is null.</summary>
    public async Task<List<StoredScreenView>> LoadAsync(IReadOnlyCollection<Guid>? groupIds, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = new NpgsqlCommand(
            "SELECT device_id, group_id, viewer_name, started_at, until FROM screen_views" + (groupIds is null ? "" : " WHERE group_id = ANY($1)"), connection);
        if (groupIds is not null)
        {
            select.Parameters.Add(new NpgsqlParameter { Value = groupIds.ToArray() });
        }

        var views = new List<StoredScreenView>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            views.Add(new StoredScreenView(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return views;
    }

    /// <summary>
    /// Writes the newest image of each device (one row per device, replaced), only while a view of it lasts, and tells the
    /// nodes which were written. Returns how many were.
    /// </summary>
    public async Task<int> SaveThumbnailsAsync(IReadOnlyList<(Guid DeviceId, Thumbnail Thumbnail)> thumbnails, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var written = new List<(Guid, DateTimeOffset)>();
        foreach (var (deviceId, thumbnail) in thumbnails)
        {
            await using var upsert = new NpgsqlCommand(
                """
                INSERT INTO screen_thumbnails (device_id, format, captured_at, image)
                SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM screen_views WHERE device_id = $1 AND until > $5)
                ON CONFLICT (device_id) DO UPDATE SET format = excluded.format, captured_at = excluded.captured_at, image = excluded.image
                """, connection, transaction);
            upsert.Parameters.Add(new NpgsqlParameter { Value = deviceId });
            upsert.Parameters.Add(new NpgsqlParameter { Value = (short)thumbnail.Format });
            upsert.Parameters.Add(new NpgsqlParameter { Value = thumbnail.CapturedAt.ToUniversalTime() });
            upsert.Parameters.Add(new NpgsqlParameter { Value = thumbnail.Image, NpgsqlDbType = NpgsqlDbType.Bytea });
            upsert.Parameters.Add(new NpgsqlParameter { Value = now.ToUniversalTime() });
            if (await upsert.ExecuteNonQueryAsync(cancellationToken) > 0)
            {
                written.Add((deviceId, thumbnail.CapturedAt));
            }
        }

        if (written.Count > 0)
        {
            await BackplanePublisher.NotifyAsync(connection, transaction, BackplaneMessages.Thumbnails(backplane.NodeId, written, _maxPayload), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return written.Count;
    }

    /// <summary>The stored image of a device; null when there is none.</summary>
    public async Task<Thumbnail?> ThumbnailAsync(Guid deviceId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var select = new NpgsqlCommand("SELECT format, captured_at, image FROM screen_thumbnails WHERE device_id = $1", connection);
        select.Parameters.Add(new NpgsqlParameter { Value = deviceId });
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken) || !Enum.IsDefined((ThumbnailFormat)reader.GetInt16(0)))
        {
            return null;
        }

        return new Thumbnail(reader.GetFieldValue<byte[]>(2), (ThumbnailFormat)reader.GetInt16(0), reader.GetFieldValue<DateTimeOffset>(1), now);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(database.PostgresConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
