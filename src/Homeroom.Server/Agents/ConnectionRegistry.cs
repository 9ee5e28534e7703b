using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;

namespace Homeroom.Server.Agents;

/// <summary>Live agent connections by device. One per device: a newer connection replaces an older one.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<Guid, AgentConnection> _connections = new();

    // A desktop's browser extensions (companions) connected here, by desktop: for what they do for it (screen views).
    // Changed under the lock (companions connect seldom); read without it.
    private readonly ConcurrentDictionary<Guid, AgentConnection[]> _companions = new();
    private readonly Lock _companionsLock = new();

    private long _registered;

    public int Count => _connections.Count;

    /// <summary>Connections registered since start, replaced and closed ones included (how many agents connected).</summary>
    public long Registered => Interlocked.Read(ref _registered);

    public bool IsOnline(Guid deviceId) => _connections.ContainsKey(deviceId);

    public AgentConnection? Get(Guid deviceId) => _connections.GetValueOrDefault(deviceId);

    public ICollection<Guid> OnlineDeviceIds => _connections.Keys;

    /// <summary>The desktop's browser extensions (companions, <see cref="AgentConnection.CompanionOf"/>) connected to this node.</summary>
    public IReadOnlyCollection<AgentConnection> Companions(Guid desktopId) =>
        _companions.GetValueOrDefault(desktopId) ?? [];

    /// <summary>Whether this node holds a connection for the device: its own, or one of its browser extensions'.</summary>
    public bool Holds(Guid deviceId) => _connections.ContainsKey(deviceId) || _companions.ContainsKey(deviceId);

    public void Register(AgentConnection connection)
    {
        Interlocked.Increment(ref _registered);
        AgentConnection? previous = null;
        _connections.AddOrUpdate(connection.DeviceId, connection, (_, existing) =>
        {
            previous = existing;
            return connection;
        });
        if (connection.CompanionOf is { } desktop)
        {
            lock (_companionsLock)
            {
                var others = (_companions.GetValueOrDefault(desktop) ?? []).Where(c => c.DeviceId != connection.DeviceId);
                _companions[desktop] = [.. others, connection];
            }
        }

        previous?.RequestClose(AgentCloseCodes.Replaced, "replaced by a newer connection");
    }

    public bool Unregister(AgentConnection connection)
    {
        if (connection.CompanionOf is { } desktop)
        {
            lock (_companionsLock)
            {
                if (_companions.GetValueOrDefault(desktop) is { } companions && companions.Contains(connection))
                {
                    AgentConnection[] rest = [.. companions.Where(c => c != connection)];
                    if (rest.Length == 0)
                    {
                        _companions.TryRemove(desktop, out _);
                    }
                    else
                    {
                        _companions[desktop] = rest;
                    }
                }
            }
        }

        return _connections.TryRemove(new KeyValuePair<Guid, AgentConnection>(connection.DeviceId, connection));
    }

    /// <summary>Ends the device's live connection, if any, with the given close code.</summary>
    public bool Disconnect(Guid deviceId, int code, string reason)
    {
        if (_connections.TryGetValue(deviceId, out var connection))
        {
            connection.RequestClose(code, reason);
            return true;
        }

        return false;
    }

    /// <summary>Closes every connection (server shutdown).</summary>
    public void DisconnectAll(int code, string reason)
    {
        foreach (var connection in _connections.Values)
        {
            connection.RequestClose(code, reason);
        }
    }
}
