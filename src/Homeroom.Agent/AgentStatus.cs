namespace Homeroom.Agent;

/// <summary>What the running agent is doing, for <c>status</c> and for tests to wait on.</summary>
public sealed class AgentStatus
{
    private int _connections;

    public Guid? DeviceId { get; internal set; }

    public bool Connected { get; internal set; }

    /// <summary>How many connections were welcomed since the agent started.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public int? LastCloseCode { get; internal set; }

    /// <summary>How long the agent waited (or waits) before its last try to connect again.</summary>
    public TimeSpan? ReconnectDelay { get; internal set; }

    public long PolicyVersion { get; internal set; }

    public IReadOnlyList<string> PolicyFailures { get; internal set; } = [];

    /// <summary>Set when the agent stops so that the service manager starts its new program (after a self-update).</summary>
    public bool RestartRequested { get; internal set; }

    /// <summary>Set when the agent stopped for good (revoked, or refused without a way to enroll).</summary>
    public string? Stopped { get; internal set; }

    internal void OnWelcomed()
    {
        Interlocked.Increment(ref _connections);
        Connected = true;
    }
}
