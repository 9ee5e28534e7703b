using Homeroom.Agent.Connection;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Session;

/// <summary>
/// Sends the foreground window's title as a safety signal (<c>signals</c> frame, source <c>window</c>) when it
/// changes, for the district's lexicon to scan on the server (issue 14's signals from desktops, issue 17's window
/// titles). Only while the applied policy's <c>monitoring.safety</c> is on (nothing before the first policy).
/// The same title twice in a row is sent once. Signals wait in a bounded list (200, the oldest dropped) and go in
/// batches of up to 50; a batch is kept until the server acknowledges it (at most 20 unacknowledged, as the
/// protocol asks) and resent unchanged after a reconnect. Kept in memory only: signals of a title seen before an
/// agent restart and not yet acknowledged are lost with it.
/// </summary>
public sealed class WindowSignals
{
    public const int MaxWaiting = 200;
    public const int MaxUnacknowledged = 20;

    private readonly ActivitySink _wake;
    private readonly Lock _gate = new();
    private readonly List<SafetySignal> _waiting = [];
    private readonly SortedDictionary<long, SignalsFrame> _unacknowledged = [];
    private long _nextBatch;
    private string? _lastTitle;
    private bool _enabled;

    public WindowSignals(SessionHost sessions, ActivitySink wake, TimeProvider time)
    {
        _wake = wake;
        // Batch numbers must not repeat across restarts while the server may still hold an old one: start from the clock.
        _nextBatch = time.GetUtcNow().ToUnixTimeMilliseconds();
        sessions.ForegroundChanged += Changed;
    }

    /// <summary>Whether titles are sent: the applied policy's <c>monitoring.safety</c>.</summary>
    public void SetEnabled(bool enabled)
    {
        lock (_gate)
        {
            _enabled = enabled;
            if (!enabled)
            {
                _waiting.Clear();
            }
        }
    }

    /// <summary>Signals waiting to be sent (tests).</summary>
    public int WaitingCount
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    private void Changed(string? app, string? title, DateTimeOffset at)
    {
        var text = title?.Trim();
        lock (_gate)
        {
            if (!_enabled || string.IsNullOrEmpty(text) || text == _lastTitle)
            {
                return;
            }

            _lastTitle = text;
            if (_waiting.Count >= MaxWaiting)
            {
                _waiting.RemoveAt(0);
            }

            _waiting.Add(new SafetySignal(at, SignalSources.Window, text.Length <= ProtocolLimits.MaxSignalTextLength ? text : text[..ProtocolLimits.MaxSignalTextLength]));
        }

        _wake.Nudge();
    }

    /// <summary>The server acknowledged a batch: it was scanned and any alert it raised is stored.</summary>
    public void Acknowledge(long batch)
    {
        lock (_gate)
        {
            _unacknowledged.Remove(batch);
        }
    }

    /// <summary>Sends waiting signals in new batches; with <paramref name="resend"/> (a new connection) first every unacknowledged batch again.</summary>
    public async Task SendAsync(AgentClient client, bool resend)
    {
        List<SignalsFrame> frames;
        lock (_gate)
        {
            frames = resend ? [.. _unacknowledged.Values] : [];
            while (_waiting.Count > 0 && _unacknowledged.Count < MaxUnacknowledged)
            {
                var take = Math.Min(_waiting.Count, ProtocolLimits.MaxSignalsPerFrame);
                var frame = new SignalsFrame(++_nextBatch, _waiting.GetRange(0, take));
                _waiting.RemoveRange(0, take);
                _unacknowledged[frame.Batch] = frame;
                frames.Add(frame);
            }
        }

        foreach (var frame in frames)
        {
            if (!await client.SendAsync(frame))
            {
                return; // Kept: resent after reconnecting.
            }
        }
    }
}
