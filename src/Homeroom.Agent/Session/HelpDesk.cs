using System.Text.Json;
using Homeroom.Agent.Connection;
using Homeroom.Agent.State;
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
/// that changes it. The waiting requests are kept on disk too (<see cref="AgentPaths.HelpRequestsFile"/>, readable by the
/// service user only, rewritten whole on each change: at most <see cref="MaxWaiting"/> requests of at most 40 KB each),
/// so a request made offline survives a restart of the service and goes when it next connects; a file holding more
/// (written by something else) keeps its newest <see cref="MaxWaiting"/> and counts the oldest dropped. The statuses the
/// server repeats on connecting are shown only for requests this service sent or kept. A status that finds no helper for
/// its display (the helper reconnecting after the service restarted) is shown when one connects: a kept request's
/// "waiting", or whatever the server said of it since.
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

    private readonly AgentPaths _paths;

    // Requests whose latest status found no helper of their display (restarting with the service, say): shown when one connects.
    private readonly HashSet<Guid> _untold = [];
    private long _dropped;

    public HelpDesk(SessionHost sessions, ActivitySink wake, AgentStatus status, AgentPaths paths, ILogger<HelpDesk> logger)
    {
        (_sessions, _wake, _status, _paths, _logger) = (sessions, wake, status, paths, logger);
        Load();
        sessions.HelpRequested += OnRequestedAsync;
        sessions.Changed += () => _ = TellUntoldAsync();
    }

    /// <summary>Requests dropped, unsent, because the kept file held more than <see cref="MaxWaiting"/> (since the agent was installed).</summary>
    public long Dropped
    {
        get
        {
            lock (_gate)
            {
                return _dropped;
            }
        }
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
                Save();
                // Online, the acknowledgement follows at once; offline, the student learns it waits.
                answer = _status.Connected ? null : HelpDeskStatuses.Waiting;
            }
        }

        SessionLog.HelpRequested(_logger, display, request.RequestId, request.Note is not null, request.Screenshot is not null, answer ?? "sending");
        if (answer is not null)
        {
            await TellAsync(display, request.RequestId, answer, false);
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
            if (_unacknowledged.RemoveAll(r => r.RequestId == ack.RequestId) > 0)
            {
                Save();
            }

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

        await TellAsync(display, requestId, status, taken);
    }

    private async Task TellAsync(string display, Guid requestId, string status, bool taken)
    {
        var told = await _sessions.HelpStatusAsync(display, requestId, status, taken);
        lock (_gate)
        {
            if (told)
            {
                _untold.Remove(requestId);
            }
            else if (_known.ContainsKey(requestId))
            {
                _untold.Add(requestId);
            }
        }
    }

    // A helper connected: the statuses that found none are shown now (each request's latest, once).
    private async Task TellUntoldAsync()
    {
        List<(Guid Id, string Display, string Status, bool Taken)> untold;
        lock (_gate)
        {
            untold = [.. _untold.Where(_known.ContainsKey).Select(id => (id, _known[id].Display, _known[id].Status, _known[id].Taken))
                .Where(u => u.Status is not null).Select(u => (u.id, u.Display, u.Status!, u.Taken))];
            _untold.RemoveWhere(id => !_known.ContainsKey(id));
        }

        foreach (var (id, display, status, taken) in untold)
        {
            if (await _sessions.HelpStatusAsync(display, id, status, taken))
            {
                lock (_gate)
                {
                    _untold.Remove(id);
                }
            }
        }
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

    // The requests kept by the service before it restarted: sent (again) at the next connection's resend.
    private void Load()
    {
        var file = _paths.HelpRequestsFile;
        if (!File.Exists(file))
        {
            return;
        }

        KeptHelpRequests? kept;
        try
        {
            kept = JsonSerializer.Deserialize(File.ReadAllBytes(file), AgentStateJsonContext.Default.KeptHelpRequests);
        }
        catch (JsonException e)
        {
            SessionLog.HelpRequestsUnreadable(_logger, file, e.Message);
            return;
        }

        if (kept is null)
        {
            return;
        }

        _dropped = Math.Max(0, kept.Dropped);
        var requests = kept.Requests
            .Where(r => r.RequestId != Guid.Empty && r.Display.Length > 0 && r.Display.Length <= 256)
            .Where(r => (r.Note?.Length ?? 0) <= HelpRequestLimits.MaxNoteLength && (r.Screenshot?.Length ?? 0) <= HelpRequestLimits.MaxScreenshotBytes)
            .DistinctBy(r => r.RequestId)
            .ToList();
        var drop = Math.Max(0, requests.Count - MaxWaiting);
        if (drop > 0)
        {
            _dropped += drop;
            SessionLog.HelpRequestsDropped(_logger, MaxWaiting, drop, _dropped);
        }

        foreach (var request in requests.Skip(drop))
        {
            _unacknowledged.Add(new HelpRequestFrame(request.RequestId, request.CreatedAt, request.Note, request.Screenshot));
            Remember(request.RequestId, request.Display, HelpDeskStatuses.Waiting, false);
            _untold.Add(request.RequestId); // the student's helper, when it connects to this service, shows it waits
        }

        if (_unacknowledged.Count > 0)
        {
            SessionLog.HelpRequestsReloaded(_logger, _unacknowledged.Count);
        }

        if (drop > 0)
        {
            Save();
        }
    }

    // Called under the gate: the whole list, a few requests of at most 40 KB each, written atomically and flushed.
    private void Save()
    {
        var displays = _known.ToDictionary(k => k.Key, k => k.Value.Display);
        var kept = new KeptHelpRequests(_dropped, [.. _unacknowledged.Select(r =>
            new KeptHelpRequest(r.RequestId, displays.GetValueOrDefault(r.RequestId, ":0"), r.CreatedAt, r.Note, r.Screenshot))]);
        _paths.EnsureStateDirectory();
        AgentPaths.WriteAtomically(_paths.HelpRequestsFile, JsonSerializer.SerializeToUtf8Bytes(kept, AgentStateJsonContext.Default.KeptHelpRequests));
    }
}

/// <summary>The help requests the service keeps until the server acknowledges them (<c>help-requests.json</c>).</summary>
/// <param name="Dropped">Requests dropped unsent because the file held more than <see cref="HelpDesk.MaxWaiting"/>.</param>
/// <param name="Requests">Oldest first.</param>
public sealed record KeptHelpRequests(long Dropped, List<KeptHelpRequest> Requests);

/// <summary>One kept request: the frame's fields and the display (the student's session) that asked.</summary>
public sealed record KeptHelpRequest(Guid RequestId, string Display, DateTimeOffset CreatedAt, string? Note, byte[]? Screenshot);
