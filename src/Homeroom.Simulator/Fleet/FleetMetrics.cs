namespace Homeroom.Simulator.Fleet;

/// <summary>Counters of what the fleet did, for the console summary and the load benchmark.</summary>
public sealed class FleetMetrics
{
    private long _enrolled;
    private long _resumed;
    private long _enrollFailures;
    private long _connected;
    private long _connects;
    private long _heartbeats;
    private long _eventsGenerated;
    private long _eventsAcknowledged;
    private long _eventsDropped;
    private long _commandsReceived;
    private long _commandRepeats;
    private long _thumbnails;
    private long _policiesApplied;
    private long _signalsSent;
    private long _signalsAcknowledged;
    private long _safetyScreenshots;

    /// <summary>Raised when a device acknowledges a command: command id, device index, timestamp (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public event Action<Guid, int, long>? CommandAcknowledged;

    /// <summary>Raised when a device applied a policy version: version, device index, timestamp.</summary>
    public event Action<long, int, long>? PolicyApplied;

    public long Enrolled => Interlocked.Read(ref _enrolled);
    public long Resumed => Interlocked.Read(ref _resumed);
    public long EnrollFailures => Interlocked.Read(ref _enrollFailures);
    public long Connected => Interlocked.Read(ref _connected);
    public long Connects => Interlocked.Read(ref _connects);
    public long Heartbeats => Interlocked.Read(ref _heartbeats);
    public long EventsGenerated => Interlocked.Read(ref _eventsGenerated);
    public long EventsAcknowledged => Interlocked.Read(ref _eventsAcknowledged);
    public long EventsDropped => Interlocked.Read(ref _eventsDropped);
    public long CommandsReceived => Interlocked.Read(ref _commandsReceived);
    public long CommandRepeats => Interlocked.Read(ref _commandRepeats);
    public long Thumbnails => Interlocked.Read(ref _thumbnails);

    /// <summary>Bytes of thumbnail frames sent, headers included.</summary>
    public long ThumbnailBytes => Interlocked.Read(ref _thumbnailBytes);

    private long _thumbnailBytes;
    public long PoliciesApplied => Interlocked.Read(ref _policiesApplied);

    /// <summary>Safety signals sent (first sends; resends after a reconnect are not counted again).</summary>
    public long SignalsSent => Interlocked.Read(ref _signalsSent);

    /// <summary>Safety signals in batches the server acknowledged.</summary>
    public long SignalsAcknowledged => Interlocked.Read(ref _signalsAcknowledged);

    /// <summary>Screenshots sent for the server's safetyCapture requests.</summary>
    public long SafetyScreenshots => Interlocked.Read(ref _safetyScreenshots);

    internal void OnEnrolled() => Interlocked.Increment(ref _enrolled);
    internal void OnResumed() => Interlocked.Increment(ref _resumed);
    internal void OnEnrollFailed() => Interlocked.Increment(ref _enrollFailures);
    internal void OnConnected()
    {
        Interlocked.Increment(ref _connected);
        Interlocked.Increment(ref _connects);
    }

    internal void OnDisconnected() => Interlocked.Decrement(ref _connected);
    internal void OnHeartbeat() => Interlocked.Increment(ref _heartbeats);
    internal void OnEventsGenerated(int count) => Interlocked.Add(ref _eventsGenerated, count);
    internal void OnEventsAcknowledged(int count) => Interlocked.Add(ref _eventsAcknowledged, count);
    internal void OnEventsDropped(int count) => Interlocked.Add(ref _eventsDropped, count);
    internal void OnCommand(bool repeat) => Interlocked.Increment(ref repeat ? ref _commandRepeats : ref _commandsReceived);
    internal void OnThumbnail(int bytes)
    {
        Interlocked.Increment(ref _thumbnails);
        Interlocked.Add(ref _thumbnailBytes, bytes);
    }
    internal void OnSignalsSent(int count) => Interlocked.Add(ref _signalsSent, count);
    internal void OnSignalsAcknowledged(int count) => Interlocked.Add(ref _signalsAcknowledged, count);
    internal void OnSafetyScreenshot() => Interlocked.Increment(ref _safetyScreenshots);
    internal void OnCommandAcknowledged(Guid commandId, int deviceIndex, long timestamp) => CommandAcknowledged?.Invoke(commandId, deviceIndex, timestamp);
    internal void OnPolicyApplied(long version, int deviceIndex, long timestamp)
    {
        Interlocked.Increment(ref _policiesApplied);
        PolicyApplied?.Invoke(version, deviceIndex, timestamp);
    }

    public override string ToString() =>
        $"connected {Connected}, enrolled {Enrolled}, resumed {Resumed}, enroll failures {EnrollFailures}, heartbeats {Heartbeats}, " +
        $"events {EventsAcknowledged}/{EventsGenerated} stored, commands {CommandsReceived} (+{CommandRepeats} repeats), thumbnails {Thumbnails}, policies applied {PoliciesApplied}, " +
        $"safety signals {SignalsAcknowledged}/{SignalsSent} acknowledged, safety screenshots {SafetyScreenshots}";
}
