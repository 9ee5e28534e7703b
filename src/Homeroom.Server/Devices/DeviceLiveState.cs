using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Commands;
using Homeroom.Server.Agents;
using Homeroom.Server.Commands;

namespace Homeroom.Server.Devices;

/// <summary>What the console shows live about one device, beyond presence.</summary>
/// <param name="Locked">The device confirmed a lock (and no unlock since).</param>
/// <param name="FocusSites">The focus-mode sites the device confirmed, while focused.</param>
/// <param name="CurrentUrl">The page the device last reported visiting.</param>
/// <param name="CurrentTitle">Its title.</param>
/// <param name="LastCommand">The last classroom command the device finished and how: "lock: locked".</param>
public sealed record LiveDevice(bool Locked, string? FocusSites, string? CurrentUrl, string? CurrentTitle, string? LastCommand)
{
    public static readonly LiveDevice Unknown = new(false, null, null, null, null);
}

/// <summary>What another node of the cluster said about a device connected to it (or that was): see <see cref="ClusterDeviceState"/>.</summary>
public sealed record RemoteDevice(string Node, bool Online, LiveDevice Live);

/// <summary>
/// The classroom's live facts about devices, kept in memory from what devices report: whether a
/// lock took effect, focus mode, the current page. <see cref="Changed"/> tells the console at once
/// (it also fires for thumbnails and connections), so a class lock shows on every tile as soon as
/// each device confirms it. Nothing here is stored: after a restart a device shows unlocked until
/// it next confirms a lock, and its page after its next visit. (An agent's capabilities are also stored with the
/// device, by <see cref="InventoryWriter"/>; see <see cref="Capabilities(Guid, string?)"/>.)
/// <para>
/// On PostgreSQL, what this node holds is about the devices connected to it; what other nodes said about theirs
/// (<see cref="ClusterDeviceState"/>) is kept beside it and wins for a device not connected here. On SQLite there is
/// nothing beside it and <see cref="Get"/> reads this node's facts only.
/// </para>
/// </summary>
public sealed class DeviceLiveState(TimeProvider time, ConnectionRegistry registry)
{
    private static readonly TimeSpan CommandHorizon = TimeSpan.FromHours(2);

    private sealed record PendingCommand(string Kind, string? Sites, DateTimeOffset IssuedAt);

    private readonly ConcurrentDictionary<Guid, PendingCommand> _commands = new();
    private readonly ConcurrentDictionary<Guid, LiveDevice> _devices = new();
    private readonly ConcurrentDictionary<Guid, IReadOnlyList<AgentCapability>> _capabilities = new();
    private readonly ConcurrentDictionary<Guid, RemoteDevice> _remote = new();

    // Set once another node said anything, so a single server never looks further than its own facts.
    private volatile bool _anyRemote;

    /// <summary>Raised with a device id whenever something the console shows about it changed. Handlers must be quick.</summary>
    public event Action<Guid>? Changed;

    /// <summary>What the console shows about the device: from the node it is connected to.</summary>
    public LiveDevice Get(Guid deviceId) =>
        _anyRemote && _remote.TryGetValue(deviceId, out var remote) && !registry.IsOnline(deviceId) ? remote.Live : Local(deviceId);

    /// <summary>This node's own facts about the device (what it tells the other nodes).</summary>
    public LiveDevice Local(Guid deviceId) => _devices.GetValueOrDefault(deviceId, LiveDevice.Unknown);

    /// <summary>Whether another node says the device is connected to it (and that node is still heard).</summary>
    public bool OnlineElsewhere(Guid deviceId) => _anyRemote && _remote.TryGetValue(deviceId, out var remote) && remote.Online;

    /// <summary>The devices other nodes say are connected to them.</summary>
    public IEnumerable<Guid> OnlineElsewhereIds => _anyRemote ? _remote.Where(r => r.Value.Online).Select(r => r.Key) : [];

    /// <summary>Records what another node said about a device; <see cref="Changed"/> fires.</summary>
    public void SetRemote(Guid deviceId, RemoteDevice device)
    {
        _anyRemote = true;
        _remote[deviceId] = device;
        Changed?.Invoke(deviceId);
    }

    /// <summary>
    /// Forgets what other nodes said (only what <paramref name="node"/> said, when given): those devices show as unknown
    /// (offline, unlocked) until a node speaks of them again. Returns how many were forgotten.
    /// </summary>
    public int ForgetRemote(string? node = null)
    {
        var forgotten = 0;
        foreach (var (deviceId, remote) in _remote)
        {
            if ((node is null || remote.Node == node) && _remote.TryRemove(new KeyValuePair<Guid, RemoteDevice>(deviceId, remote)))
            {
                forgotten++;
                Changed?.Invoke(deviceId);
            }
        }

        return forgotten;
    }

    /// <summary>Forgets what another node said about one device (it is connected here now).</summary>
    public void ForgetRemote(Guid deviceId)
    {
        if (_anyRemote)
        {
            _remote.TryRemove(deviceId, out _);
        }
    }

    /// <summary>Whether a classroom command's kind is known here (it was issued here, or sent from here since).</summary>
    public bool KnowsCommand(Guid commandId) => _commands.ContainsKey(commandId);

    /// <summary>
    /// What the device's agent last told this node it can and cannot do (the desktop agent's inventory), or null when it
    /// never did. Only what this node heard: readers that show or act on a device use
    /// <see cref="Capabilities(Guid, string?)"/>, which falls back to the stored list.
    /// </summary>
    public IReadOnlyList<AgentCapability>? Capabilities(Guid deviceId) => _capabilities.GetValueOrDefault(deviceId);

    /// <summary>
    /// What the device's agent can and cannot do: the list it sent this node while it is connected here (newest, before
    /// the batched write stores it), otherwise <paramref name="storedJson"/>, the device's <see cref="Device.CapabilitiesJson"/>
    /// (what it last sent any node, also after a restart). A list this node heard on an earlier connection is not used:
    /// the agent may have sent another node a newer one since.
    /// </summary>
    public IReadOnlyList<AgentCapability>? Capabilities(Guid deviceId, string? storedJson) =>
        registry.IsOnline(deviceId) && _capabilities.TryGetValue(deviceId, out var heard) ? heard : StoredCapabilities.Read(storedJson);

    /// <summary>Remembers an inventory's capabilities (already validated: at most 64).</summary>
    public void CapabilitiesReported(Guid deviceId, IReadOnlyList<AgentCapability> capabilities)
    {
        _capabilities[deviceId] = [.. capabilities];
        Changed?.Invoke(deviceId);
    }

    /// <summary>Remembers what a command does, for the classroom kinds whose outcome changes a tile.</summary>
    public void CommandIssued(Guid commandId, string kind, IReadOnlyDictionary<string, string>? arguments)
    {
        if (kind is CommandKinds.Lock or CommandKinds.Unlock or CommandKinds.Focus or CommandKinds.EndFocus or CommandKinds.Message
            or CommandKinds.OpenUrl or CommandKinds.CloseTab)
        {
            _commands[commandId] = new PendingCommand(kind, arguments?.GetValueOrDefault("sites"), time.GetUtcNow());
        }
    }

    /// <summary>A device reported progress on a command.</summary>
    public void Delivery(DeliveryUpdate update)
    {
        if (update.Status is not (DeliveryStatus.Succeeded or DeliveryStatus.Failed) || !_commands.TryGetValue(update.CommandId, out var command))
        {
            return;
        }

        var outcome = update.Status == DeliveryStatus.Succeeded ? update.Result ?? "done" : "failed: " + update.Error;
        _devices.AddOrUpdate(update.DeviceId, _ => Apply(LiveDevice.Unknown), (_, current) => Apply(current));
        Changed?.Invoke(update.DeviceId);

        LiveDevice Apply(LiveDevice current)
        {
            var next = current with { LastCommand = $"{command.Kind}: {outcome}" };
            if (update.Status != DeliveryStatus.Succeeded)
            {
                return next;
            }

            return command.Kind switch
            {
                CommandKinds.Lock => next with { Locked = true },
                CommandKinds.Unlock => next with { Locked = false },
                CommandKinds.Focus => next with { FocusSites = command.Sites },
                CommandKinds.EndFocus => next with { FocusSites = null },
                _ => next,
            };
        }
    }

    /// <summary>A device reported visiting a page.</summary>
    public void Visited(Guid deviceId, string url, string? title)
    {
        _devices.AddOrUpdate(deviceId, _ => LiveDevice.Unknown with { CurrentUrl = url, CurrentTitle = title }, (_, current) => current with { CurrentUrl = url, CurrentTitle = title });
        Changed?.Invoke(deviceId);
    }

    /// <summary>Something else about the device changed (a thumbnail, a connection).</summary>
    public void Touch(Guid deviceId) => Changed?.Invoke(deviceId);

    /// <summary>Forgets commands older than a lesson could use; run with the command maintenance.</summary>
    public void Prune()
    {
        var cutoff = time.GetUtcNow() - CommandHorizon;
        foreach (var (id, command) in _commands)
        {
            if (command.IssuedAt < cutoff)
            {
                _commands.TryRemove(id, out _);
            }
        }
    }
}
