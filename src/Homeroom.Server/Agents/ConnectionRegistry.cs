using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;

namespace Homeroom.Server.Agents;

/// <summary>Live agent connections by device. One per device: a newer connection replaces an older one.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<Guid, AgentConnection> _connections = new();

    public int Count => _connections.Count;

    public bool IsOnline(Guid deviceId) => _connections.ContainsKey(deviceId);

    public AgentConnection? Get(Guid deviceId) => _connections.GetValueOrDefault(deviceId);

    public ICollection<Guid> OnlineDeviceIds => _connections.Keys;

    public void Register(AgentConnection connection)
    {
        AgentConnection? previous = null;
        _connections.AddOrUpdate(connection.DeviceId, connection, (_, existing) =>
        {
            previous = existing;
            return connection;
        });
        previous?.RequestClose(AgentCloseCodes.Replaced, "replaced by a newer connection");
    }

    public bool Unregister(AgentConnection connection) =>
        _connections.TryRemove(new KeyValuePair<Guid, AgentConnection>(connection.DeviceId, connection));

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
