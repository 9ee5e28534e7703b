using System.Net.WebSockets;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Session;

/// <summary>What became of one <c>safetyCapture</c> from the server.</summary>
public enum SafetyCaptureOutcome
{
    /// <summary>The screenshot went to the server as a kind-2 binary frame.</summary>
    Sent,

    /// <summary>The applied policy's <c>monitoring.safety</c> or <c>safety.screenshots</c> is off: nothing was captured.</summary>
    PolicyOff,

    /// <summary>The same capture id was asked before (a duplicate, or a late repeat): answered at most once.</summary>
    Repeated,

    /// <summary>No user-session helper is connected: nothing can be captured.</summary>
    NoHelper,

    /// <summary>The helper could not capture the screen, went away, or did not answer in time.</summary>
    Failed,

    /// <summary>The screenshot was ready too late for the server's window (it would be dropped there).</summary>
    TooLate,

    /// <summary>The connection it was asked on ended before the screenshot could be sent.</summary>
    NotSent,
}

/// <summary>
/// Answers the server's <c>safetyCapture</c> (issue 17) on the desktop: only while the applied policy has
/// <c>monitoring.safety</c> and <c>safety.screenshots</c> on, it asks the connected user-session helper for one full-screen
/// capture (<see cref="SessionHost.SafetyCaptureAsync"/>) and sends it as the protocol's kind-2 binary frame on the
/// connection that asked, within the server's 30 s window. Each capture id is answered at most once: a duplicate, or a
/// repeat after the answer, is ignored. The image lives in memory only, from the helper to the frame: nothing is written
/// to the device. Why nothing was sent is logged at Debug.
/// </summary>
public sealed class SafetyScreenshots(SessionHost sessions, TimeProvider time, ILogger<SafetyScreenshots> logger)
{
    /// <summary>The server drops a screenshot that arrives later than this after its <c>safetyCapture</c> (its default <c>CaptureTimeout</c>).</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>How long the helper has to capture and encode, leaving the rest of <see cref="Deadline"/> for sending.</summary>
    public static readonly TimeSpan HelperTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How many capture ids are remembered against repeats (the oldest forgotten first; far more than the server asks for in 30 s).</summary>
    public const int MaxRemembered = 1_000;

    /// <summary>How many outcomes are kept for <see cref="Outcomes"/>.</summary>
    public const int MaxOutcomes = 200;

    private readonly Lock _gate = new();
    private readonly HashSet<Guid> _asked = [];
    private readonly Queue<Guid> _askedOrder = new();
    private readonly List<(Guid CaptureId, SafetyCaptureOutcome Outcome)> _outcomes = [];
    private volatile bool _enabled;

    /// <summary>Whether screenshots may be taken: the applied policy's <c>monitoring.safety</c> and <c>safety.screenshots</c>.</summary>
    public void SetEnabled(bool enabled) => _enabled = enabled;

    /// <summary>What became of the most recent capture requests, oldest first (tests and diagnostics read it).</summary>
    public IReadOnlyList<(Guid CaptureId, SafetyCaptureOutcome Outcome)> Outcomes
    {
        get
        {
            lock (_gate)
            {
                return [.. _outcomes];
            }
        }
    }

    /// <summary>Answers one <c>safetyCapture</c> on <paramref name="client"/>, or decides not to; never throws.</summary>
    public async Task AnswerAsync(AgentClient client, SafetyCaptureFrame frame)
    {
        var asked = time.GetUtcNow();
        var captureId = frame.CaptureId;
        if (!Remember(captureId))
        {
            Record(captureId, SafetyCaptureOutcome.Repeated, "already asked; answered at most once");
            return;
        }

        if (!_enabled)
        {
            Record(captureId, SafetyCaptureOutcome.PolicyOff, "the applied policy does not allow safety screenshots (safety.screenshots)");
            return;
        }

        if (!sessions.Connected)
        {
            Record(captureId, SafetyCaptureOutcome.NoHelper, SessionHost.NotConnectedReason);
            return;
        }

        var shot = await sessions.SafetyCaptureAsync(captureId, HelperTimeout);
        if (shot.Jpeg is not { } jpeg)
        {
            Record(captureId, SafetyCaptureOutcome.Failed, shot.Failure ?? "no image");
            return;
        }

        if (time.GetUtcNow() - asked >= Deadline)
        {
            Record(captureId, SafetyCaptureOutcome.TooLate, $"ready after {(time.GetUtcNow() - asked).TotalSeconds:0.0} s");
            return;
        }

        if (!_enabled)
        {
            Record(captureId, SafetyCaptureOutcome.PolicyOff, "the policy turned safety screenshots off while the screen was captured");
            return;
        }

        var sent = await client.SendAsync(SafetyScreenshotFrame.Encode(ThumbnailFormat.Jpeg, shot.CapturedAt, captureId, jpeg), WebSocketMessageType.Binary);
        if (sent)
        {
            Record(captureId, SafetyCaptureOutcome.Sent, null);
            SessionLog.SafetyScreenshotSent(logger, captureId, jpeg.Length);
        }
        else
        {
            Record(captureId, SafetyCaptureOutcome.NotSent, "the connection ended");
        }
    }

    /// <summary>True the first time a capture id is seen.</summary>
    private bool Remember(Guid captureId)
    {
        lock (_gate)
        {
            if (!_asked.Add(captureId))
            {
                return false;
            }

            _askedOrder.Enqueue(captureId);
            if (_askedOrder.Count > MaxRemembered)
            {
                _asked.Remove(_askedOrder.Dequeue());
            }

            return true;
        }
    }

    private void Record(Guid captureId, SafetyCaptureOutcome outcome, string? reason)
    {
        lock (_gate)
        {
            if (_outcomes.Count >= MaxOutcomes)
            {
                _outcomes.RemoveAt(0);
            }

            _outcomes.Add((captureId, outcome));
        }

        if (reason is not null)
        {
            SessionLog.SafetyScreenshotNotSent(logger, captureId, outcome, reason);
        }
    }
}
