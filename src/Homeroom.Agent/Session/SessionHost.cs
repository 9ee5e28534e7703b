using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Session;

/// <summary>
/// The service's end of the local channel to the user-session helpers. On Linux it listens on an abstract Unix
/// socket (<see cref="AgentOptions.SessionSocketName"/>) and takes a helper only when the
/// kernel says (<c>SO_PEERCRED</c>) it runs as an allowed user: one of <see cref="AgentOptions.SessionHelperUids"/>
/// when configured, else the user who logged in to the helper's session (its <c>/proc/PID/loginuid</c>, which
/// an unprivileged process cannot change, must be its uid). On Windows it listens on a local named pipe
/// (<see cref="Windows.WindowsPipes"/>) and takes a helper only when Windows says it runs in a user's session as the user
/// signed in to that session (<see cref="Windows.WindowsPipePeers.HelperRefusal"/>). One helper per X display (on Windows,
/// per session, as Windows names it): a second one for the same display is refused while the first is connected. Forwards lock, unlock, message and screen view
/// to the helpers, remembers the lock and the view for a helper that connects later, hands the
/// thumbnails and foreground window they report to the agent, and asks a helper for the screen when the
/// server wants a safety screenshot (<see cref="SafetyCaptureAsync"/>).
/// </summary>
public sealed class SessionHost(AgentOptions options, TimeProvider time, ILogger<SessionHost> logger) : BackgroundService
{
    public const string NotConnectedReason = "no user-session helper is connected (nobody is signed in to a graphical session, or the helper is not running)";
    private const int MaxConnections = 8;
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Helper> _helpers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _connections = new(MaxConnections, MaxConnections);
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SessionMessage? _lock;
    private SessionMessage? _view;
    private (Guid SessionId, Helper Helper, bool Accepted)? _remote;
    private string? _foregroundDisplay;

    private sealed class Helper(SessionChannel channel, string display, uint userId)
    {
        public SessionChannel Channel => channel;

        public string Display => display;

        /// <summary>The uid the kernel gave for the helper's process (<c>SO_PEERCRED</c>), not one it claimed.</summary>
        public uint UserId => userId;

        public ConcurrentDictionary<Guid, TaskCompletionSource<(bool Ok, string Result)>> Pending { get; } = new();

        /// <summary>The safety screenshots asked of this helper and not yet answered, by capture id (null: it went away).</summary>
        public ConcurrentDictionary<Guid, TaskCompletionSource<SessionMessage?>> Captures { get; } = new();
    }

    /// <summary>What a helper answered to a safety capture: the JPEG and its capture time, or why there is none.</summary>
    public sealed record SafetyShot(byte[]? Jpeg, DateTimeOffset CapturedAt, string? Failure);

    /// <summary>A helper connected or went away (the agent reports its capabilities again).</summary>
    public event Action? Changed;

    /// <summary>A thumbnail arrived while a view is active: the JPEG and its capture time.</summary>
    public event Func<byte[], DateTimeOffset, Task>? ThumbnailReceived;

    /// <summary>The foreground window changed: its application and title (both null when no helper reports one any more), and when.</summary>
    public event Action<string?, string?, DateTimeOffset>? ForegroundChanged;

    /// <summary>The user went idle (true, dated from their last input) or came back (false); false too when the helper goes away.</summary>
    public event Action<bool, DateTimeOffset>? IdleChanged;

    /// <summary>The device was locked (true) or unlocked (false) by a command; the lock screen covers every session.</summary>
    public event Action<bool, DateTimeOffset>? LockChanged;

    /// <summary>A remote session's consent answer or end, from the helper (or from here when the helper went away).</summary>
    public event Func<RemoteSessionStatusFrame, Task>? RemoteStatusReceived;

    /// <summary>What became of a file from the technician (from the helper, or from here when it could not reach one).</summary>
    public event Func<RemoteFileStatusFrame, Task>? RemoteFileStatusReceived;

    /// <summary>What became of a file the technician asked of the device (from the helper, or from here when it could not reach one).</summary>
    public event Func<RemoteFileRequestStatusFrame, Task>? RemoteFileRequestStatusReceived;

    /// <summary>A chunk of a file the technician asked for and the student allowed (well formed, from the accepted session's helper).</summary>
    public event Func<RemoteFileUploadFrame, Task>? RemoteFileUploadReceived;

    /// <summary>The answer to the technician's read of the clipboard (from the helper, or from here when it could not reach one).</summary>
    public event Func<RemoteClipboardContentFrame, Task>? RemoteClipboardContentReceived;

    /// <summary>A remote session's screen update (a well-formed <see cref="RemoteScreenFrame"/> of the accepted session), to relay as it is.</summary>
    public event Func<byte[], Task>? RemoteScreenReceived;

    /// <summary>
    /// A student asked for help from the help window of the helper serving this display: the protocol's frame, within its
    /// limits (checked on the channel), its time no later than now.
    /// </summary>
    public event Func<string, HelpRequestFrame, Task>? HelpRequested;

    /// <summary>Whether a helper is connected now.</summary>
    public bool Connected => !_helpers.IsEmpty;

    /// <summary>The displays served by connected helpers.</summary>
    public IReadOnlyCollection<string> Displays => [.. _helpers.Keys];

    /// <summary>Each connected helper's display and the user it runs as (checked by the kernel): who is signed in to that display.</summary>
    public IReadOnlyList<(string Display, uint UserId)> HelperUsers => [.. _helpers.Values.Select(h => (h.Display, h.UserId))];

    /// <summary>The last foreground window a helper reported: application, title and when.</summary>
    public (string? App, string? Title, DateTimeOffset At)? Foreground { get; private set; }

    /// <summary>Completes once the socket is bound (tests wait for it).</summary>
    public Task Listening => _listening.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (OperatingSystem.IsWindows())
        {
            await ListenOnPipeAsync(stoppingToken);
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                listener.Bind(SessionChannel.EndPoint(options.SessionSocketName));
                listener.Listen(MaxConnections);
            }
            catch (SocketException e)
            {
                // Another process holds the name (a second agent, or something squatting it: helpers check who we are, so it cannot pose as us).
                SessionLog.ListenFailed(logger, "@" + options.SessionSocketName, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(5), time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                continue;
            }

            _listening.TrySetResult();
            SessionLog.Listening(logger, "@" + options.SessionSocketName);
            try
            {
                while (!stoppingToken.IsCancellationRequested)
                {
                    var socket = await listener.AcceptAsync(stoppingToken);
                    if (!_connections.Wait(0))
                    {
                        socket.Dispose(); // more connections than helpers can need: refuse without reading
                        continue;
                    }

                    _ = ServeAsync(socket, stoppingToken);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Windows: serves helpers on the named pipe. One server instance always waits (the next is created before a connected
    /// one is served), so the name stays the service's; the first is created with <c>FILE_FLAG_FIRST_PIPE_INSTANCE</c>.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private async Task ListenOnPipeAsync(CancellationToken stoppingToken)
    {
        var pipeName = Windows.WindowsPipes.PipePath(options.SessionSocketName);
        System.IO.Pipes.NamedPipeServerStream? waiting = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // First instance only when none is being served (after a failure, served ones may still hold the name).
                waiting ??= Windows.WindowsPipes.CreateServer(options.SessionSocketName, first: _connections.CurrentCount == MaxConnections);
                _listening.TrySetResult();
                SessionLog.Listening(logger, pipeName);
                while (true)
                {
                    await waiting.WaitForConnectionAsync(stoppingToken);
                    var connected = waiting;
                    waiting = null;
                    try
                    {
                        waiting = Windows.WindowsPipes.CreateServer(options.SessionSocketName, first: false);
                    }
                    catch
                    {
                        await connected.DisposeAsync();
                        throw;
                    }

                    if (!_connections.Wait(0))
                    {
                        await connected.DisposeAsync(); // more connections than helpers can need: refuse without reading
                        continue;
                    }

                    _ = ServePipeAsync(connected, stoppingToken);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (IOException e)
            {
                // The name is taken by a pipe that is not ours (helpers check who serves it), or Windows refused an instance.
                SessionLog.ListenFailed(logger, pipeName, e.Message);
                if (waiting is not null)
                {
                    await waiting.DisposeAsync();
                    waiting = null;
                }

                await Task.Delay(TimeSpan.FromSeconds(5), time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        if (waiting is not null)
        {
            await waiting.DisposeAsync();
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private async Task ServePipeAsync(System.IO.Pipes.NamedPipeServerStream pipe, CancellationToken stoppingToken)
    {
        try
        {
            await using var channel = new SessionChannel(pipe, Windows.WindowsPipes.ClientPeer(pipe), readsFromHelper: true);
            await ServeAsync(channel, stoppingToken);
        }
        finally
        {
            _connections.Release();
        }
    }

    /// <summary>Carries out <c>lock</c>, <c>unlock</c> or <c>message</c> on every connected helper; the outcome for the command journal.</summary>
    public async Task<(bool Ok, string Result)> CommandAsync(CommandFrame command)
    {
        var arguments = command.Arguments ?? new Dictionary<string, string>();
        SessionMessage message;
        switch (command.Kind)
        {
            case CommandKinds.Lock:
                message = new SessionMessage(SessionMessages.Lock, command.CommandId, Text: arguments.GetValueOrDefault("message") is { Length: > 0 } lockText ? lockText : null);
                _lock = message;
                LockChanged?.Invoke(true, time.GetUtcNow());
                break;
            case CommandKinds.Unlock:
                message = new SessionMessage(SessionMessages.Unlock, command.CommandId);
                _lock = null;
                LockChanged?.Invoke(false, time.GetUtcNow());
                break;
            case CommandKinds.Message when arguments.GetValueOrDefault("text") is { Length: > 0 } text:
                message = new SessionMessage(SessionMessages.Message, command.CommandId, Title: arguments.GetValueOrDefault("title"), Text: text);
                break;
            case CommandKinds.Message:
                return (false, "message: the text argument is required");
            default:
                return (false, $"unsupported command '{command.Kind}'");
        }

        var helpers = _helpers.Values.ToList();
        if (helpers.Count == 0)
        {
            return (false, $"{command.Kind}: {NotConnectedReason}");
        }

        var outcomes = await Task.WhenAll(helpers.Select(h => SendCommandAsync(h, message)));
        return outcomes.FirstOrDefault(o => !o.Ok) is { Result: not null } failed ? failed : outcomes[0];
    }

    /// <summary>Starts or stops the view on every helper (the banner shows while active, and thumbnails flow).</summary>
    public async Task SetScreenViewAsync(ScreenViewFrame frame)
    {
        var message = frame.Active
            ? new SessionMessage(SessionMessages.ScreenView, Active: true, ViewerName: frame.ViewerName is { Length: > 0 } name ? name : "your teacher",
                IntervalMilliseconds: Math.Clamp(frame.IntervalMilliseconds, 200, 60_000), MaxWidth: Math.Clamp(frame.MaxWidth, 16, 1920))
            : new SessionMessage(SessionMessages.ScreenView, Active: false);
        _view = frame.Active ? message : null;
        foreach (var helper in _helpers.Values)
        {
            await TryWriteAsync(helper.Channel, message);
        }
    }

    /// <summary>
    /// Starts a remote session on the helper of the first display (one graphical session is the supported case), or stops
    /// it. Without a helper the session is declined at once with the reason.
    /// </summary>
    public async Task RemoteSessionAsync(RemoteSessionFrame frame)
    {
        if (!frame.Active)
        {
            if (_remote is { } current && current.SessionId == frame.SessionId)
            {
                _remote = null;
                await TryWriteAsync(current.Helper.Channel, new SessionMessage(SessionMessages.RemoteSession, frame.SessionId, Active: false));
            }

            return;
        }

        if (_remote is { } previous)
        {
            _remote = null;
            await TryWriteAsync(previous.Helper.Channel, new SessionMessage(SessionMessages.RemoteSession, previous.SessionId, Active: false));
        }

        var helper = _helpers.Values.OrderBy(h => h.Display, StringComparer.Ordinal).FirstOrDefault();
        var mode = RemoteModes.IsKnown(frame.Mode) ? frame.Mode! : RemoteModes.View;
        if (helper is null || !await TryWriteAsync(helper.Channel, new SessionMessage(
            SessionMessages.RemoteSession, frame.SessionId, Active: true, ViewerName: frame.TechnicianName is { Length: > 0 } name ? (name.Length > 128 ? name[..128] : name) : null,
            Mode: mode, ConsentRequired: frame.ConsentRequired, IntervalMilliseconds: 1000 / Math.Clamp(frame.MaxFramesPerSecond, 1, 20))))
        {
            await RaiseRemoteStatusAsync(new RemoteSessionStatusFrame(frame.SessionId, RemoteSessionStatuses.Declined, NotConnectedReason));
            return;
        }

        _remote = (frame.SessionId, helper, false);
    }

    /// <summary>Ends the remote session on the helper (the connection to the server went away).</summary>
    public async Task EndRemoteSessionAsync()
    {
        if (_remote is { } current)
        {
            await RemoteSessionAsync(new RemoteSessionFrame(current.SessionId, false, null, null, false, 0));
        }
    }

    /// <summary>Passes the technician's input to the session's helper (which injects it only in control mode, after consent).</summary>
    public async Task RemoteInputAsync(RemoteInputFrame frame)
    {
        if (_remote is { Accepted: true } current && current.SessionId == frame.SessionId
            && RemoteLimits.ValidateInput(frame.Events, RemoteLimits.MaxScreenSide, RemoteLimits.MaxScreenSide) is null)
        {
            await TryWriteAsync(current.Helper.Channel, new SessionMessage(SessionMessages.RemoteInput, frame.SessionId, Events: frame.Events));
        }
    }

    /// <summary>Passes the technician's clipboard text to the session's helper (which sets it only in control mode, after consent).</summary>
    public async Task RemoteClipboardAsync(RemoteClipboardFrame frame)
    {
        if (_remote is { Accepted: true } current && current.SessionId == frame.SessionId && RemoteLimits.ValidateClipboard(frame.Text) is null)
        {
            await TryWriteAsync(current.Helper.Channel, new SessionMessage(SessionMessages.RemoteClipboard, frame.SessionId, Text: frame.Text));
        }
    }

    /// <summary>
    /// Asks the accepted session's helper for the display's clipboard text (it reads it only in control mode); without an
    /// accepted session or a helper the read is refused at once with the reason.
    /// </summary>
    public async Task RemoteClipboardReadAsync(RemoteClipboardReadFrame frame)
    {
        if (frame.SessionId == Guid.Empty || frame.RequestId == Guid.Empty)
        {
            return;
        }

        var refused = _remote is not { Accepted: true } current || current.SessionId != frame.SessionId ? "no accepted remote session on the device"
            : !await TryWriteAsync(current.Helper.Channel, new SessionMessage(SessionMessages.RemoteClipboardRead, frame.SessionId, Transfer: frame.RequestId))
                ? "the user-session helper went away"
            : null;
        if (refused is not null && RemoteClipboardContentReceived is { } handler)
        {
            await handler(new RemoteClipboardContentFrame(frame.SessionId, frame.RequestId, null, refused));
        }
    }

    /// <summary>
    /// Passes the technician's request for a file in the home folder to the accepted session's helper (which asks the student,
    /// only in control mode); a malformed request, or one for no accepted session, is refused at once with the reason.
    /// </summary>
    public async Task RemoteFileRequestAsync(RemoteFileRequestFrame frame)
    {
        if (frame.SessionId == Guid.Empty || frame.TransferId == Guid.Empty)
        {
            return;
        }

        var refused = RemoteFileLimits.ValidateRequestPath(frame.Path) is { } invalid ? invalid
            : frame.MaxBytes < 1 ? "the request has no size limit"
            : _remote is not { Accepted: true } current || current.SessionId != frame.SessionId ? "no accepted remote session on the device"
            : !await TryWriteAsync(current.Helper.Channel, new SessionMessage(SessionMessages.RemoteFileRequest, frame.SessionId, Transfer: frame.TransferId,
                Text: frame.Path, Size: Math.Min(frame.MaxBytes, RemoteFileLimits.MaxFileBytes))) ? "the user-session helper went away"
            : null;
        if (refused is not null && RemoteFileRequestStatusReceived is { } handler)
        {
            await handler(new RemoteFileRequestStatusFrame(frame.SessionId, frame.TransferId, RemoteFileRequestStatuses.Refused, refused));
        }
    }

    /// <summary>
    /// Passes a chunk of the technician's file to the accepted session's helper (which keeps it only in control mode, once
    /// whole and verified). A chunk for no accepted session, or malformed, is refused at once with the reason.
    /// </summary>
    public async Task RemoteFileAsync(RemoteFileFrame frame)
    {
        var refused = RemoteFileLimits.Validate(frame) is { } invalid ? invalid
            : _remote is not { Accepted: true } current || current.SessionId != frame.SessionId ? "no accepted remote session on the device"
            : !await TryWriteAsync(current.Helper.Channel, new SessionMessage(SessionMessages.RemoteFile, frame.SessionId, Transfer: frame.TransferId,
                FileName: frame.Name, Size: frame.Size, Sha256: frame.Sha256, Offset: frame.Offset, Frame: frame.Data)) ? "the user-session helper went away"
            : null;
        if (refused is not null && RemoteFileStatusReceived is { } handler && frame.SessionId != Guid.Empty && frame.TransferId != Guid.Empty)
        {
            await handler(new RemoteFileStatusFrame(frame.SessionId, frame.TransferId, RemoteFileStatuses.Refused, refused));
        }
    }

    /// <summary>Passes the server's acknowledgement to the session's helper.</summary>
    public async Task RemoteAckAsync(RemoteAckFrame frame)
    {
        if (_remote is { } current && current.SessionId == frame.SessionId && frame.Sequence >= 1)
        {
            await TryWriteAsync(current.Helper.Channel, new SessionMessage(SessionMessages.RemoteAck, frame.SessionId, Sequence: frame.Sequence));
        }
    }

    /// <summary>Tells the helper of <paramref name="display"/>, if it is connected, where the student's help request is.</summary>
    public async Task<bool> HelpStatusAsync(string display, Guid requestId, string status, bool taken) =>
        _helpers.TryGetValue(display, out var helper)
        && await TryWriteAsync(helper.Channel, new SessionMessage(SessionMessages.HelpStatus, requestId, Status: status, Active: taken));

    /// <summary>
    /// Asks one helper for a full-screen capture for the server's safety screenshot <paramref name="captureId"/>: the helper of
    /// the display that last reported a foreground window (the one whose title raised the alert, in the usual case of one
    /// graphical session), else the first display's. Waits at most <paramref name="timeout"/>; the same capture id is asked
    /// of a helper once at a time.
    /// </summary>
    public async Task<SafetyShot> SafetyCaptureAsync(Guid captureId, TimeSpan timeout)
    {
        var helper = _foregroundDisplay is { } display && _helpers.TryGetValue(display, out var front)
            ? front
            : _helpers.Values.OrderBy(h => h.Display, StringComparer.Ordinal).FirstOrDefault();
        if (helper is null)
        {
            return new SafetyShot(null, default, NotConnectedReason);
        }

        var answer = new TaskCompletionSource<SessionMessage?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!helper.Captures.TryAdd(captureId, answer))
        {
            return new SafetyShot(null, default, "this capture is already being taken");
        }

        try
        {
            if (!await TryWriteAsync(helper.Channel, new SessionMessage(SessionMessages.SafetyCapture, captureId)))
            {
                return new SafetyShot(null, default, "the user-session helper went away");
            }

            return await answer.Task.WaitAsync(timeout, time) switch
            {
                null => new SafetyShot(null, default, "the user-session helper went away"),
                { Ok: true } shot => new SafetyShot(shot.Image, shot.CapturedAt!.Value, null),
                var failed => new SafetyShot(null, default, failed.Text ?? "the helper could not capture the screen"),
            };
        }
        catch (TimeoutException)
        {
            return new SafetyShot(null, default, $"the user-session helper did not answer within {timeout.TotalSeconds:0} s");
        }
        finally
        {
            helper.Captures.TryRemove(captureId, out _);
        }
    }

    private async Task RaiseRemoteStatusAsync(RemoteSessionStatusFrame status)
    {
        if (RemoteStatusReceived is { } handler)
        {
            await handler(status);
        }
    }

    private async Task<(bool Ok, string Result)> SendCommandAsync(Helper helper, SessionMessage message)
    {
        var done = new TaskCompletionSource<(bool, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        helper.Pending[message.Id!.Value] = done;
        try
        {
            if (!await TryWriteAsync(helper.Channel, message))
            {
                return (false, $"{message.Type}: the user-session helper disconnected");
            }

            return await done.Task.WaitAsync(CommandTimeout, time);
        }
        catch (TimeoutException)
        {
            return (false, $"{message.Type}: the user-session helper did not answer within {CommandTimeout.TotalSeconds:0} s");
        }
        finally
        {
            helper.Pending.TryRemove(message.Id.Value, out _);
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken stoppingToken)
    {
        try
        {
            SessionChannel channel;
            try
            {
                channel = new SessionChannel(socket, readsFromHelper: true);
            }
            catch (SocketException)
            {
                socket.Dispose();
                return;
            }

            await using (channel)
            {
                await ServeAsync(channel, stoppingToken);
            }
        }
        finally
        {
            _connections.Release();
        }
    }

    private async Task ServeAsync(SessionChannel channel, CancellationToken stoppingToken)
    {
        var peer = channel.Peer;
        if (Refusal(peer) is { } refusal)
        {
            SessionLog.HelperRefused(logger, peer.ProcessId, peer.UserId, refusal);
            await TryWriteAsync(channel, new SessionMessage(SessionMessages.Refused, Text: refusal));
            return;
        }

        Helper? helper = null;
        try
        {
            var hello = await channel.ReadAsync(stoppingToken).WaitAsync(HelloTimeout, time, stoppingToken);
            if (hello?.Type != SessionMessages.Hello)
            {
                return;
            }

            // On Windows the session is Windows' word, not the helper's: one helper per session.
            var display = peer.WindowsSessionId is { } sessionId ? Windows.WindowsPipePeers.DisplayOf(sessionId) : hello.Display!;
            var candidate = new Helper(channel, display, peer.UserId);
            if (!_helpers.TryAdd(candidate.Display, candidate))
            {
                var reason = $"a helper is already connected for display {candidate.Display}";
                SessionLog.HelperRefused(logger, peer.ProcessId, peer.UserId, reason);
                await TryWriteAsync(channel, new SessionMessage(SessionMessages.Refused, Text: reason));
                return;
            }

            helper = candidate;
            SessionLog.HelperConnected(logger, peer.ProcessId, peer.UserId, helper.Display);
            await channel.WriteAsync(new SessionMessage(SessionMessages.Welcome), stoppingToken);
            // What holds now holds for a helper that (re)started: a student cannot end a lock by killing it.
            if (_lock is { } locked)
            {
                await channel.WriteAsync(locked with { Id = Guid.NewGuid() }, stoppingToken);
            }

            if (_view is { } view)
            {
                await channel.WriteAsync(view, stoppingToken);
            }

            Changed?.Invoke();
            while (await channel.ReadAsync(stoppingToken) is { } message)
            {
                await OnMessageAsync(helper, message);
            }
        }
        catch (SessionProtocolException e)
        {
            SessionLog.HelperBrokeProtocol(logger, peer.ProcessId, e.Message);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or TimeoutException or ObjectDisposedException)
        {
            // The helper went away, or the agent is stopping.
        }
        finally
        {
            if (helper is not null && _helpers.TryRemove(new KeyValuePair<string, Helper>(helper.Display, helper)))
            {
                foreach (var pending in helper.Pending.Values)
                {
                    pending.TrySetResult((false, "the user-session helper disconnected"));
                }

                foreach (var capture in helper.Captures.Values)
                {
                    capture.TrySetResult(null);
                }

                SessionLog.HelperDisconnected(logger, helper.Display);
                if (_remote is { } remote && remote.Helper == helper)
                {
                    _remote = null;
                    await RaiseRemoteStatusAsync(new RemoteSessionStatusFrame(remote.SessionId, RemoteSessionStatuses.Ended, "the user-session helper went away"));
                }

                Changed?.Invoke();
                if (_helpers.IsEmpty)
                {
                    Foreground = null;
                    ForegroundChanged?.Invoke(null, null, time.GetUtcNow());
                    IdleChanged?.Invoke(false, time.GetUtcNow()); // a new helper starts from "present"
                }
            }
        }
    }

    private async Task OnMessageAsync(Helper helper, SessionMessage message)
    {
        switch (message.Type)
        {
            case SessionMessages.Done:
                if (helper.Pending.TryGetValue(message.Id!.Value, out var done))
                {
                    done.TrySetResult((message.Ok!.Value, message.Text ?? string.Empty));
                }

                break;
            case SessionMessages.Thumbnail:
                // Only while a teacher watches: a helper cannot push screens nobody asked for.
                if (_view is not null && ThumbnailReceived is { } received)
                {
                    await received(message.Image!, message.CapturedAt!.Value);
                }

                break;
            case SessionMessages.SafetyScreenshot:
                // Only the answer to a capture asked of this helper: a helper cannot push screens nobody asked for.
                if (helper.Captures.TryGetValue(message.Id!.Value, out var capture))
                {
                    capture.TrySetResult(message);
                }

                break;
            case SessionMessages.RemoteStatus:
                // Only about the session this helper was given.
                if (_remote is { } remote && remote.Helper == helper && remote.SessionId == message.Id)
                {
                    _remote = message.Status == RemoteSessionStatuses.Accepted ? remote with { Accepted = true } : null;
                    await RaiseRemoteStatusAsync(new RemoteSessionStatusFrame(remote.SessionId, message.Status!, message.Text));
                }

                break;
            case SessionMessages.RemoteFileStatus:
                // Only about the session this helper was given.
                if (_remote is { } filing && filing.Helper == helper && filing.SessionId == message.Id && RemoteFileStatusReceived is { } fileStatus)
                {
                    await fileStatus(new RemoteFileStatusFrame(filing.SessionId, message.Transfer!.Value, message.Status!, message.Text));
                }

                break;
            case SessionMessages.RemoteFileRequestStatus:
                // Only about the session this helper was given.
                if (_remote is { } asked && asked.Helper == helper && asked.SessionId == message.Id && RemoteFileRequestStatusReceived is { } requestStatus)
                {
                    await requestStatus(new RemoteFileRequestStatusFrame(asked.SessionId, message.Transfer!.Value, message.Status!, message.Text));
                }

                break;
            case SessionMessages.RemoteFileUpload:
                // Only the accepted session's helper sends a file, and only as the protocol's chunks (the channel checked them).
                if (_remote is { Accepted: true } uploading && uploading.Helper == helper && uploading.SessionId == message.Id && RemoteFileUploadReceived is { } upload)
                {
                    await upload(new RemoteFileUploadFrame(uploading.SessionId, message.Transfer!.Value, message.FileName!, message.Size!.Value, message.Sha256!,
                        message.Offset!.Value, message.Frame!));
                }

                break;
            case SessionMessages.RemoteClipboardContent:
                // Only about the session this helper was given.
                if (_remote is { } reading && reading.Helper == helper && reading.SessionId == message.Id && RemoteClipboardContentReceived is { } content)
                {
                    await content(new RemoteClipboardContentFrame(reading.SessionId, message.Transfer!.Value, message.Ok == true ? message.Text : null, message.Ok == true ? null : message.Text));
                }

                break;
            case SessionMessages.RemoteScreen:
                // Only the accepted session's updates: nothing streams before consent, and a helper cannot push screens nobody asked for.
                if (_remote is { Accepted: true } streaming && streaming.Helper == helper
                    && RemoteScreenFrame.TryDecode(message.Frame, out var sessionId, out _, out _, out _, out _) && sessionId == streaming.SessionId
                    && RemoteScreenReceived is { } screen)
                {
                    await screen(message.Frame!);
                }

                break;
            case SessionMessages.HelpRequest:
                // Only from a helper this service took (a process of the user signed in to that display, by the kernel's word),
                // and only as the protocol allows it (the channel checked the limits); the time no later than now.
                if (HelpRequested is { } help)
                {
                    var sentAt = time.GetUtcNow();
                    var pressed = message.CapturedAt!.Value;
                    await help(helper.Display, new HelpRequestFrame(message.Id!.Value, pressed > sentAt || pressed < sentAt.AddDays(-1) ? sentAt : pressed,
                        message.Text is { Length: > 0 } note ? note : null, message.Image));
                }

                break;
            case SessionMessages.Idle:
                // The helper's clock is the machine's; still, never a time ahead of now or before the last day.
                var current = time.GetUtcNow();
                var at = message.CapturedAt!.Value;
                IdleChanged?.Invoke(message.Active!.Value, at > current ? current : at < current.AddDays(-1) ? current.AddDays(-1) : at);
                break;
            case SessionMessages.Foreground:
                var now = time.GetUtcNow();
                var previous = Foreground;
                Foreground = (message.App, message.Title, now);
                _foregroundDisplay = helper.Display;
                if (previous?.App != message.App || previous?.Title != message.Title)
                {
                    ForegroundChanged?.Invoke(message.App, message.Title, now);
                }

                break;
        }
    }

    private string? Refusal(PeerCredentials peer)
    {
        if (OperatingSystem.IsWindows())
        {
            return Windows.WindowsPipePeers.HelperRefusal(peer.WindowsSessionId, peer.UserSid,
                peer.WindowsSessionId is { } session and > 0 ? Windows.WindowsPipes.SessionUserSid(session) : null);
        }

        if (options.SessionHelperUids is { Count: > 0 } allowed)
        {
            return allowed.Contains(peer.UserId) ? null : $"uid {peer.UserId} is not a session helper user of this agent";
        }

        var loginUid = ReadLoginUid(peer.ProcessId);
        return loginUid is { } uid && uid == peer.UserId
            ? null
            : $"uid {peer.UserId} is not the user signed in to its session (login uid {loginUid?.ToString(CultureInfo.InvariantCulture) ?? "unset"})";
    }

    private static uint? ReadLoginUid(int processId)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{processId}/loginuid").Trim();
            return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) && uid != uint.MaxValue ? uid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static async Task<bool> TryWriteAsync(SessionChannel channel, SessionMessage message)
    {
        try
        {
            await channel.WriteAsync(message).WaitAsync(TimeSpan.FromSeconds(5));
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or TimeoutException)
        {
            return false;
        }
    }

    public override void Dispose()
    {
        _connections.Dispose();
        base.Dispose();
    }
}
