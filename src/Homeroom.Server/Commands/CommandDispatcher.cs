using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Commands;
using Homeroom.Server.Agents;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Commands;

/// <summary>
/// Puts stored commands on the wire: at once to connected devices, and on (re)connection to the
/// others. The database is the truth; sending is best effort and may repeat (agents deduplicate).
/// On PostgreSQL, targets not connected to this node are named to the other nodes through the backplane
/// (<see cref="BackplanePublisher"/>); the node holding one delivers its pending commands as at connect.
/// </summary>
public sealed class CommandDispatcher(
    ConnectionRegistry registry,
    BackplanePublisher backplane,
    CommandStatusWriter statusWriter,
    CommandProgress progress,
    IDbContextFactory<HomeroomDbContext> dbFactory,
    ServerMetrics metrics,
    TimeProvider time)
{
    /// <summary>Metric path of a command sent to a device connected at the moment it was issued here.</summary>
    public const string LivePath = "live";

    /// <summary>Metric path of a command sent when its device connected.</summary>
    public const string OnConnectPath = "on_connect";

    /// <summary>Metric path of a command issued on another node and sent here after its notice.</summary>
    public const string BackplanePath = "backplane";

    public static CommandFrame ToFrame(Command command) => new(
        command.Id,
        command.Kind,
        JsonSerializer.Deserialize(command.ArgumentsJson, CommandJsonContext.Default.DictionaryStringString),
        new DateTimeOffset(command.IssuedAt, TimeSpan.Zero),
        new DateTimeOffset(command.ExpiresAt, TimeSpan.Zero));

    private static readonly string[] BrowserKinds = [CommandKinds.OpenUrl, CommandKinds.CloseTab, CommandKinds.Focus, CommandKinds.EndFocus];

    /// <summary>
    /// The command kinds a desktop's agent cannot carry out and its browser extension can: sent to a desktop that has
    /// browser extensions enrolled as its companions, they go to those instead (docs/agent-protocol.md, Companion credential).
    /// </summary>
    public static bool ForBrowser(string kind) => BrowserKinds.Contains(kind);

    /// <summary>Sends a just-stored command to whichever targets are online.</summary>
    public async Task DispatchAsync(Command command, IReadOnlyList<Guid> deviceIds)
    {
        var payload = AgentFrameCodec.Serialize(ToFrame(command));
        var sends = new List<Task>();
        var elsewhere = backplane.Enabled ? new List<Guid>() : null;
        var companions = ForBrowser(command.Kind) ? await CompanionsAsync(deviceIds) : null;
        foreach (var deviceId in deviceIds)
        {
            if (companions?.GetValueOrDefault(deviceId) is { } browsers)
            {
                // The desktop's browsers carry it, on the desktop's delivery; its agent is not sent it.
                foreach (var browser in browsers)
                {
                    if (registry.Get(browser) is { } companion)
                    {
                        sends.Add(SendAsync(companion, command, payload, LivePath, deviceId));
                    }
                    else
                    {
                        elsewhere?.Add(browser);
                    }
                }
            }
            else if (registry.Get(deviceId) is { } connection)
            {
                sends.Add(SendAsync(connection, command, payload, LivePath));
            }
            else
            {
                elsewhere?.Add(deviceId);
            }
        }

        if (elsewhere is { Count: > 0 })
        {
            backplane.DevicesHaveCommands(elsewhere);
        }

        await Task.WhenAll(sends);
    }

    /// <summary>Sends every unfinished, unexpired command of a device that just connected, oldest first.</summary>
    public Task DeliverPendingAsync(AgentConnection connection, CancellationToken cancellationToken) =>
        DeliverPendingAsync(connection, OnConnectPath, cancellationToken);

    /// <summary>
    /// Sends every unfinished, unexpired command of a connected device, oldest first, as at connect; <paramref name="path"/>
    /// names why in the delivery metric. Commands this connection carried recently are not sent twice. Unfinished
    /// includes acknowledged: a final status the device sent to a node that died before storing it is asked for again
    /// (the agent answers a repeat from its memory, without carrying the command out again).
    /// </summary>
    public async Task DeliverPendingAsync(AgentConnection connection, string path, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        // A desktop's browser extension (a companion) has no deliveries of its own: it is sent its desktop's unfinished
        // browser commands, and nothing else of the desktop's.
        var deliveryDevice = connection.CompanionOf ?? connection.DeviceId;
        var pending = await db.CommandDeliveries.AsNoTracking()
            .Where(d => d.DeviceId == deliveryDevice)
            .Where(CommandDelivery.Unfinished)
            .Join(db.Commands, d => d.CommandId, c => c.Id, (d, c) => c)
            .Where(c => c.ExpiresAt > now)
            .Where(c => connection.CompanionOf == null || BrowserKinds.Contains(c.Kind))
            .OrderBy(c => c.IssuedAt)
            .Take(MaxPendingSent)
            .ToListAsync(cancellationToken);
        if (connection.CompanionOf is null && pending.Any(c => ForBrowser(c.Kind))
            && (await CompanionsAsync([connection.DeviceId], cancellationToken)).ContainsKey(connection.DeviceId))
        {
            LeaveToCompanions(pending);
        }

        await SendInOrderAsync(connection, pending, path, deliveryDevice);
    }

    /// <summary>
    /// What <see cref="DeliverPendingAsync(AgentConnection, string, CancellationToken)"/> does for one device, for many at
    /// once with one read of their deliveries (a backplane notice or sweep names many devices; one read each put a round
    /// trip per device on the path of a class command whose devices sit on other nodes). Each device is sent its commands
    /// oldest first, the devices side by side. A desktop's browser extension (a companion) is still read on its own.
    /// </summary>
    public async Task DeliverPendingAsync(IReadOnlyList<AgentConnection> connections, string path, CancellationToken cancellationToken)
    {
        var sends = connections.Where(c => c.CompanionOf is not null).Select(c => DeliverPendingAsync(c, path, cancellationToken)).ToList();
        var devices = connections.Where(c => c.CompanionOf is null).ToList();
        if (devices.Count > 0)
        {
            var now = time.GetUtcNow().UtcDateTime;
            var ids = devices.Select(c => c.DeviceId).ToArray();
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            var rows = await db.CommandDeliveries.AsNoTracking()
                .Where(d => ids.Contains(d.DeviceId))
                .Where(CommandDelivery.Unfinished)
                .Join(db.Commands, d => d.CommandId, c => c.Id, (d, c) => new { d.DeviceId, Command = c })
                .Where(x => x.Command.ExpiresAt > now)
                .ToListAsync(cancellationToken);
            var byDevice = rows.GroupBy(r => r.DeviceId)
                .ToDictionary(g => g.Key, g => g.Select(r => r.Command).OrderBy(c => c.IssuedAt).Take(MaxPendingSent).ToList());
            var withBrowserCommands = byDevice.Where(d => d.Value.Any(c => ForBrowser(c.Kind))).Select(d => d.Key).ToList();
            var withCompanions = withBrowserCommands.Count == 0 ? [] : await CompanionsAsync(withBrowserCommands, cancellationToken);
            foreach (var connection in devices)
            {
                if (byDevice.TryGetValue(connection.DeviceId, out var pending))
                {
                    if (withCompanions.ContainsKey(connection.DeviceId))
                    {
                        LeaveToCompanions(pending);
                    }

                    sends.Add(SendInOrderAsync(connection, pending, path, connection.DeviceId));
                }
            }
        }

        await Task.WhenAll(sends);
    }

    /// <summary>Most pending commands sent to one device at once (oldest first); the rest go on its next connection.</summary>
    private const int MaxPendingSent = 500;

    /// <summary>A desktop whose browser extension is enrolled leaves its browser commands to the extension.</summary>
    private static void LeaveToCompanions(List<Command> pending) => pending.RemoveAll(c => ForBrowser(c.Kind));

    /// <summary>Sends the commands in order, stopping at the first send that fails (the rest stay pending).</summary>
    private async Task SendInOrderAsync(AgentConnection connection, List<Command> pending, string path, Guid deliveryDevice)
    {
        foreach (var command in pending)
        {
            if (!await SendAsync(connection, command, AgentFrameCodec.Serialize(ToFrame(command)), path, deliveryDevice))
            {
                return;
            }
        }
    }

    /// <summary>The browser extensions enrolled (not revoked) as companions of these desktops, by desktop.</summary>
    private async Task<Dictionary<Guid, List<Guid>>> CompanionsAsync(IReadOnlyList<Guid> deviceIds, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = new List<(Guid Id, Guid Desktop)>();
        foreach (var chunk in deviceIds.Chunk(5_000))
        {
            rows.AddRange((await db.Devices.AsNoTracking()
                .Where(d => d.CompanionOf != null && chunk.Contains(d.CompanionOf.Value) && d.RevokedAt == null)
                .Select(d => new { d.Id, Desktop = d.CompanionOf!.Value })
                .ToListAsync(cancellationToken)).Select(r => (r.Id, r.Desktop)));
        }

        return rows.GroupBy(r => r.Desktop).ToDictionary(g => g.Key, g => g.Select(r => r.Id).ToList());
    }

    private async Task<bool> SendAsync(AgentConnection connection, Command command, byte[] payload, string path, Guid? deliveryDevice = null)
    {
        var commandId = command.Id;
        // "Sent" is queued before the frame goes out: the writer applies updates in order, so it is
        // stored before anything the device answers about the command (answers about commands not
        // sent are ignored). Should the send then fail, the delivery is still pending and is sent
        // again on the next connection. A desktop's browser moves the desktop's delivery.
        var update = new DeliveryUpdate(commandId, deliveryDevice ?? connection.DeviceId, DeliveryStatus.Sent, time.GetUtcNow().UtcDateTime);
        await statusWriter.EnqueueAsync(update);
        if (!await connection.SendCommandAsync(commandId, payload))
        {
            return false;
        }

        if (path != LivePath)
        {
            progress.Carrying(command);
        }

        progress.Report(update);
        metrics.CommandSent(update.At - command.IssuedAt, path);
        return true;
    }
}
