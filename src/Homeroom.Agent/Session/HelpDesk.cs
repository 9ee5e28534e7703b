using Homeroom.Agent.Connection;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Session;

/// <summary>
/// The service's side of "I need help" on a desktop: a request the student sent from their session's help window
/// (through the helper, <c>helpRequest</c> on the local channel) goes to the server as the protocol's
/// <see cref="HelpRequestFrame"/>, unchanged, and is kept until the server acknowledges it, then sent again after every
/// reconnect (the server stores a request id once). At most <see cref="MaxWaiting"/> wait (the server's own limit of open
/// requests per device); more are refused at once and the student is told. The helper that asked is told where its
/// request is: waiting (offline), then the acknowledgement's status or refusal, then each <see cref="HelpStatusFrame"/>
/// that changes it. Kept in memory only: a request still waiting when the service restarts is lost, and the statuses the
/// server repeats on connecting are shown only for requests this service sent.
/// </summary>
public sealed class HelpDesk
{
    /// <summary>Requests kept until acknowledged (the server allows 5 open per device).</summary>
    public const int MaxWaiting = 5;

    /// <summary>Requests whose status changes are passed on to the student.</summary>
    public const int MaxRemembered = 20;

    private readonly SessionHost _sessions;
    private readonly ActivitySink _wake;
    private readonly AgentStatus _status;
    private readonly ILogger<HelpDesk> _logger;
    private readonly Lock _gate = new();
    private readonly List<HelpRequestFrame> _unacknowledged = [];
    private readonly List<Guid> _fresh = [];
    private readonly Dictionary<Guid, (string Display, string? Status, bool Taken)> _known = [];
    private readonly Queue<Guid> _knownOrder = new();

    public HelpDesk(SessionHost sessions, ActivitySink wake, AgentStatus status, ILogger<HelpDesk> logger)
    {
        (_sessions, _wake, _status, _logger) = (sessions, wake, status, logger);
        sessions.HelpRequested += OnRequestedAsync;
    }

    /// <summary>Requests waiting for the server's acknowledgement (tests).</summary>
    public int WaitingCount
    {
        get
        {
            lock (_gate)
            {
                return _unacknowledged.Count;
            }
        }
    }

    private async Task OnRequestedAsync(string display, HelpRequestFrame request)
    {
        string? answer;
        lock (_gate)
        {
            if (_known.ContainsKey(request.RequestId))
            {
                return; // the same request twice: kept once
            }

            if (_unacknowledged.Count >= MaxWaiting)
            {
                answer = HelpDeskStatuses.TooManyWaiting;
            }
            else
            {
                _unacknowledged.Add(request);
                _fresh.Add(request.RequestId);
                Remember(request.RequestId, display, null, false);
                // Online, the acknowledgement follows at once; offline, the student learns it waits.
                answer = _status.Connected ? null : HelpDeskStatuses.Waiting;
            }
        }

        SessionLog.HelpRequested(_logger, display, request.RequestId, request.Note is not null, request.Screenshot is not null, answer ?? "sending");
        if (answer is not null)
        {
            await _sessions.HelpStatusAsync(display, request.RequestId, answer, false);
        }

        _wake.Nudge();
    }

    /// <summary>Sends the requests not sent yet; with <paramref name="resend"/> (a new connection) every unacknowledged one again.</summary>
    public async Task SendAsync(AgentClient client, bool resend)
    {
        List<HelpRequestFrame> frames;
        lock (_gate)
        {
            frames = resend ? [.. _unacknowledged] : [.. _unacknowledged.Where(r => _fresh.Contains(r.RequestId))];
            _fresh.Clear();
        }

        foreach (var frame in frames)
        {
            if (!await client.SendAsync(frame))
            {
                return; // Kept: resent after reconnecting.
            }
        }
    }

    /// <summary>The server stored the request (and says where it went) or refused it: it is no longer kept, and the student is told.</summary>
    public Task AcknowledgedAsync(HelpRequestAckFrame ack)
    {
        lock (_gate)
        {
            _unacknowledged.RemoveAll(r => r.RequestId == ack.RequestId);
            _fresh.Remove(ack.RequestId);
        }

        var status = ack.Refused is not null ? HelpDeskStatuses.TooManyOpen : ack.Status;
        return status is null ? Task.CompletedTask : ChangedAsync(ack.RequestId, status, false);
    }

    /// <summary>Staff took, escalated or resolved a request: the student is told when it changed for a request sent from here.</summary>
    public Task ChangedAsync(HelpStatusFrame frame) => ChangedAsync(frame.RequestId, frame.Status, frame.Taken);

    private async Task ChangedAsync(Guid requestId, string status, bool taken)
    {
        string display;
        lock (_gate)
        {
            if (!_known.TryGetValue(requestId, out var known) || (known.Status == status && known.Taken == taken) || !HelpDeskStatuses.IsKnown(status))
            {
                return;
            }

            display = known.Display;
            _known[requestId] = (display, status, taken);
        }

        await _sessions.HelpStatusAsync(display, requestId, status, taken);
    }

    private void Remember(Guid requestId, string display, string? status, bool taken)
    {
        _known[requestId] = (display, status, taken);
        _knownOrder.Enqueue(requestId);
        while (_knownOrder.Count > MaxRemembered)
        {
            _known.Remove(_knownOrder.Dequeue());
        }
    }
}
