using System.Net.Sockets;
using Homeroom.Agent.Session.X11;
using Homeroom.Contracts.Agents;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Session;

/// <summary>How one connection of the helper ended.</summary>
public enum SessionHelperOutcome
{
    /// <summary>Asked to stop.</summary>
    Stopped,

    /// <summary>Nothing listens on the socket yet (the service is not running).</summary>
    Unavailable,

    /// <summary>The service went away.</summary>
    Disconnected,

    /// <summary>The process on the socket is not the Homeroom service (its uid is not allowed): nothing was sent to it.</summary>
    NotTheService,

    /// <summary>The service refused this helper (wrong user, or a helper already serves this display).</summary>
    Refused,
}

/// <summary>How the helper runs (<c>homeroom-agent session</c>).</summary>
/// <param name="Display">The X display it serves (its <c>$DISPLAY</c>).</param>
/// <param name="SocketName">The service's abstract socket name.</param>
/// <param name="ServiceUids">The users the service may run as (root by default).</param>
/// <param name="DownloadsDirectory">Where files from a technician are kept (null: <c>~/Downloads/Homeroom</c> of the user the helper runs as).</param>
/// <param name="HomeDirectory">The home folder a technician may ask files of (null: <c>$HOME</c> of the user the helper runs as).</param>
public sealed record SessionHelperOptions(string Display, string SocketName, IReadOnlySet<uint> ServiceUids, string? DownloadsDirectory = null, string? HomeDirectory = null)
{
    /// <summary>How long without keyboard or pointer input before the user counts as away (their application time stops counting).</summary>
    public TimeSpan IdleAfter { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// The user-session helper: runs as the signed-in user in their graphical session, connects to the
/// service, checks with <c>SO_PEERCRED</c> that the service runs as an allowed user (root by default)
/// before sending anything, and then does the screen work the service asks for: lock, unlock, messages,
/// and, only while a view is active, the viewing banner and a thumbnail per interval. It reports the
/// foreground window when it changes, and when the user goes idle (no input for <see cref="SessionHelperOptions.IdleAfter"/>)
/// and comes back (both checked every 2 seconds). A lock stays up when the service goes away. When the student runs
/// <c>homeroom-agent help</c> (<see cref="HelpWindowSocket"/>) or clicks its icon in the system tray, it shows the "I need help" window and passes what they
/// send to the service, then shows them where their request is as the service tells it (<c>helpStatus</c>). When the service
/// asks (<c>safetyCapture</c>, only ever for the server's safety screenshot), it captures the whole screen once and answers.
/// </summary>
public sealed class SessionHelper(SessionHelperOptions options, ISessionScreen screen, ILogger logger)
{
    private static readonly TimeSpan ForegroundInterval = TimeSpan.FromSeconds(2);
    private readonly TaskCompletionSource _welcomed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the service first welcomed this helper.</summary>
    public Task Welcomed => _welcomed.Task;

    /// <summary>The refusal the service or this helper gave, if any.</summary>
    public string? RefusalReason { get; private set; }

    /// <summary>Thumbnails sent, and their sizes (the benchmark reads them).</summary>
    public IReadOnlyList<int> SentThumbnailSizes => _sizes;

    private readonly List<int> _sizes = [];

    /// <summary>How long the student has to answer a remote session's consent prompt; no answer declines.</summary>
    public TimeSpan ConsentTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The remote session's streamer while one streams (the benchmark reads its counters).</summary>
    public RemoteStreamer? Streamer => _remote?.Streamer;

    private sealed class RemoteRun(Guid sessionId, string mode, CancellationTokenSource stop)
    {
        public Guid SessionId => sessionId;

        public string Mode => mode;

        public CancellationTokenSource Stop => stop;

        public Task Task { get; set; } = Task.CompletedTask;

        public volatile bool Accepted;

        public RemoteStreamer? Streamer { get; set; }

        public string Technician { get; set; } = "IT support";

        /// <summary>What the session's banner says (without what was read).</summary>
        public string Banner { get; set; } = string.Empty;
    }

    /// <summary>What the remote session's banner says now; null when none shows (tests read it).</summary>
    public string? RemoteBannerText { get; private set; }

    private async Task SetRemoteBannerAsync(string? text)
    {
        RemoteBannerText = text;
        await screen.SetRemoteBannerAsync(text);
    }

    private RemoteRun? _remote;

    /// <summary>Files from the technician: one transfer at a time, dropped with its session.</summary>
    private RemoteFileReceiver? _files;

    /// <summary>What became of each file from a technician, in order (tests read it).</summary>
    public IReadOnlyList<(Guid Transfer, string Status, string Detail)> FileOutcomes
    {
        get
        {
            lock (_fileOutcomes)
            {
                return [.. _fileOutcomes];
            }
        }
    }

    private readonly List<(Guid, string, string)> _fileOutcomes = [];

    /// <summary>How long the student has to allow a technician's request for a file; no answer denies it.</summary>
    public TimeSpan FileRequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether a file request is being answered now (one at a time).</summary>
    private int _fileRequestBusy;

    /// <summary>What became of each file a technician asked for, in order (tests read it): <c>sent</c> with the name, or the status sent and why.</summary>
    public IReadOnlyList<(Guid Transfer, string Status, string Detail)> FileRequestOutcomes
    {
        get
        {
            lock (_fileRequestOutcomes)
            {
                return [.. _fileRequestOutcomes];
            }
        }
    }

    private readonly List<(Guid, string, string)> _fileRequestOutcomes = [];

    /// <summary>The largest width of a screenshot attached to a help request (as the Chrome extension's).</summary>
    public const int HelpScreenshotMaxWidth = 800;

    /// <summary>How long after the help window closed the screen is captured, so what it covered has been drawn again.</summary>
    public TimeSpan HelpCaptureDelay { get; init; } = TimeSpan.FromMilliseconds(300);

    private readonly SemaphoreSlim _safetyCaptureGate = new(1, 1);
    private readonly List<(Guid CaptureId, int Bytes)> _safetyScreenshots = [];

    /// <summary>The safety screenshots sent to the service, in order: the capture id and the JPEG's size (0 when none could be taken; tests read it).</summary>
    public IReadOnlyList<(Guid CaptureId, int Bytes)> SafetyScreenshotsSent
    {
        get
        {
            lock (_safetyScreenshots)
            {
                return [.. _safetyScreenshots];
            }
        }
    }

    private SessionChannel? _channel;
    private CancellationToken _stopping;
    private readonly List<(Guid RequestId, string Status, string Text)> _helpShown = [];
    private readonly List<(Guid RequestId, string Note, byte[]? Screenshot)> _helpSent = [];

    /// <summary>The help requests passed to the service, in order (tests read them).</summary>
    public IReadOnlyList<(Guid RequestId, string Note, byte[]? Screenshot)> HelpSent
    {
        get
        {
            lock (_helpSent)
            {
                return [.. _helpSent];
            }
        }
    }

    /// <summary>How many help windows the student closed with Cancel (tests wait for it).</summary>
    public int HelpCancelled => Volatile.Read(ref _helpCancelled);

    private int _helpCancelled;

    /// <summary>What the student was shown about their help requests, in order (tests read it).</summary>
    public IReadOnlyList<(Guid RequestId, string Status, string Text)> HelpShown
    {
        get
        {
            lock (_helpShown)
            {
                return [.. _helpShown];
            }
        }
    }

    /// <summary>Connects again after the service goes away, until stopped or refused.</summary>
    public async Task<SessionHelperOutcome> RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _stopping = stop.Token;
        var helpListener = Task.CompletedTask;
        if (OperatingSystem.IsLinux())
        {
            var name = HelpWindowSocket.Name(options.SocketName, State.UnixFileOwnership.EffectiveUserId, options.Display);
            helpListener = HelpWindowSocket.ListenAsync(name, OpenHelpAsync, reason => SessionLog.HelpListenFailed(logger, name, reason), stop.Token);
        }

        // The same window from the system tray's icon, where the desktop has a tray.
        void IconClicked() => _ = OpenHelpAsync();
        screen.HelpIconClicked += IconClicked;
        await screen.SetHelpIconAsync(true);
        try
        {
            while (true)
            {
                var outcome = await RunOnceAsync(cancellationToken);
                if (outcome is SessionHelperOutcome.NotTheService or SessionHelperOutcome.Refused or SessionHelperOutcome.Stopped)
                {
                    return outcome;
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return SessionHelperOutcome.Stopped;
                }
            }
        }
        finally
        {
            screen.HelpIconClicked -= IconClicked;
            await stop.CancelAsync();
            await helpListener;
            try
            {
                await screen.SetHelpIconAsync(false);
            }
            catch (ObjectDisposedException)
            {
                // The display went first.
            }
        }
    }

    /// <summary>
    /// Opens the help window; its answer goes to the service. Without the service
    /// nothing could be sent, so the student is told at once instead. The answer for <c>homeroom-agent help</c>.
    /// </summary>
    public async Task<string> OpenHelpAsync()
    {
        if (_channel is null)
        {
            await TryShowAsync("I need help", "Homeroom is not running on this computer, so help cannot be asked from here. Please ask your teacher.");
            return "the Homeroom service is not connected: nothing can be sent";
        }

        // One window at a time: asked again while it is open, it stays as the student left it and this ask takes it over.
        _ = AskForHelpAsync();
        return HelpWindowSocket.Shown;
    }

    private async Task AskForHelpAsync()
    {
        try
        {
            var answer = await screen.AskForHelpAsync(_stopping);
            if (answer is null)
            {
                Interlocked.Increment(ref _helpCancelled);
                return; // Cancel: nothing is captured or sent
            }

            var pressed = DateTimeOffset.UtcNow;
            byte[]? screenshot = null;
            if (answer.AttachScreenshot)
            {
                // Only now, and only because the student ticked it: the screen as it is without the help window.
                await Task.Delay(HelpCaptureDelay, _stopping);
                screenshot = await ThumbnailEncoder.EncodeAsync(screen.CaptureRgbAsync(), HelpScreenshotMaxWidth, HelpRequestLimits.MaxScreenshotBytes);
            }

            var note = answer.Note.Trim();
            var request = new SessionMessage(SessionMessages.HelpRequest, Guid.NewGuid(), CapturedAt: pressed,
                Text: note.Length == 0 ? null : note.Length <= HelpRequestLimits.MaxNoteLength ? note : note[..HelpRequestLimits.MaxNoteLength], Image: screenshot);
            if (_channel is not { } channel)
            {
                await TryShowAsync("I need help", "Not sent: Homeroom stopped running on this computer. Please ask your teacher.");
                return;
            }

            lock (_helpSent)
            {
                _helpSent.Add((request.Id!.Value, note, screenshot));
            }

            // Before the request goes: the service's answer (waiting, or where it went) then replaces this text.
            await TryShowAsync("I need help", "Sending your request...");
            await channel.WriteAsync(request, _stopping);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or SessionProtocolException or InvalidOperationException)
        {
            SessionLog.HelpNotSent(logger, e.Message);
            await TryShowAsync("I need help", "Not sent: Homeroom could not take the request. Please ask your teacher.");
        }
        catch (OperationCanceledException)
        {
            // The helper is stopping.
        }
    }

    private async Task ShowHelpStatusAsync(SessionMessage message)
    {
        var text = HelpDeskStatuses.Describe(message.Status!, message.Active == true);
        lock (_helpShown)
        {
            _helpShown.Add((message.Id!.Value, message.Status!, text));
        }

        await TryShowAsync("Your help request", text);
    }

    private async Task TryShowAsync(string title, string text)
    {
        try
        {
            await screen.ShowMessageAsync(title, text);
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            SessionLog.CommandFailed(logger, SessionMessages.HelpStatus, e.Message);
        }
    }

    public async Task<SessionHelperOutcome> RunOnceAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            var (pipeChannel, outcome) = await ConnectPipeAsync(cancellationToken);
            if (pipeChannel is null)
            {
                return outcome;
            }

            await using (pipeChannel)
            {
                return await ServeAsync(pipeChannel, cancellationToken);
            }
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(SessionChannel.EndPoint(options.SocketName), cancellationToken);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            return cancellationToken.IsCancellationRequested ? SessionHelperOutcome.Stopped : SessionHelperOutcome.Unavailable;
        }

        await using var channel = new SessionChannel(socket, readsFromHelper: false);
        if (!options.ServiceUids.Contains(channel.Peer.UserId))
        {
            RefusalReason = $"the peer runs as uid {channel.Peer.UserId}, not as the service";
            SessionLog.NotTheService(logger, options.SocketName, channel.Peer.ProcessId, channel.Peer.UserId);
            return SessionHelperOutcome.NotTheService;
        }

        return await ServeAsync(channel, cancellationToken);
    }

    /// <summary>
    /// Windows: connects to the service's named pipe, asking only to read and write (not to create instances), and checks
    /// that LocalSystem serves it in session 0 before sending anything (<see cref="Windows.WindowsPipes.ServerPeer"/>).
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private async Task<(SessionChannel? Channel, SessionHelperOutcome Outcome)> ConnectPipeAsync(CancellationToken cancellationToken)
    {
        var pipe = new System.IO.Pipes.NamedPipeClientStream(".", Windows.WindowsPipePeers.PipeName(options.SocketName),
            System.IO.Pipes.PipeAccessRights.ReadData | System.IO.Pipes.PipeAccessRights.WriteData | System.IO.Pipes.PipeAccessRights.ReadAttributes
            | System.IO.Pipes.PipeAccessRights.ReadPermissions | System.IO.Pipes.PipeAccessRights.Synchronize,
            System.IO.Pipes.PipeOptions.Asynchronous, System.Security.Principal.TokenImpersonationLevel.Identification, HandleInheritability.None);
        try
        {
            await pipe.ConnectAsync(2000, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or IOException or OperationCanceledException or UnauthorizedAccessException)
        {
            await pipe.DisposeAsync();
            return (null, cancellationToken.IsCancellationRequested ? SessionHelperOutcome.Stopped : SessionHelperOutcome.Unavailable);
        }

        var (peer, refusal) = Windows.WindowsPipes.ServerPeer(pipe);
        if (refusal is not null)
        {
            await pipe.DisposeAsync();
            RefusalReason = refusal;
            SessionLog.NotTheService(logger, options.SocketName, peer.ProcessId, peer.UserId);
            return (null, SessionHelperOutcome.NotTheService);
        }

        return (new SessionChannel(pipe, peer, readsFromHelper: false), SessionHelperOutcome.Disconnected);
    }

    private async Task<SessionHelperOutcome> ServeAsync(SessionChannel channel, CancellationToken cancellationToken)
    {

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        CancellationTokenSource? viewing = null;
        Task? thumbnails = null;
        try
        {
            await channel.WriteAsync(new SessionMessage(SessionMessages.Hello, Display: options.Display), cancellationToken);
            var first = await channel.ReadAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
            if (first?.Type == SessionMessages.Refused)
            {
                RefusalReason = first.Text ?? "refused";
                SessionLog.RefusedByService(logger, RefusalReason);
                return SessionHelperOutcome.Refused;
            }

            if (first?.Type != SessionMessages.Welcome)
            {
                return SessionHelperOutcome.Disconnected;
            }

            SessionLog.ConnectedToService(logger, options.Display);
            _channel = channel;
            _welcomed.TrySetResult();
            var foreground = ReportForegroundAsync(channel, stop.Token);
            while (await channel.ReadAsync(cancellationToken) is { } message)
            {
                switch (message.Type)
                {
                    case SessionMessages.ScreenView:
                        await StopViewingAsync();
                        if (message.Active == true)
                        {
                            // The banner is up before the first thumbnail is taken, so every thumbnail shows it.
                            await screen.SetBannerAsync(message.ViewerName);
                            viewing = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                            thumbnails = SendThumbnailsAsync(channel, message.IntervalMilliseconds!.Value, message.MaxWidth!.Value, viewing.Token);
                        }

                        break;
                    case SessionMessages.RemoteSession:
                        await StopRemoteAsync();
                        if (message.Active == true)
                        {
                            var run = new RemoteRun(message.Id!.Value, message.Mode!, CancellationTokenSource.CreateLinkedTokenSource(stop.Token));
                            _remote = run;
                            run.Task = RunRemoteAsync(channel, run, message);
                        }

                        break;
                    case SessionMessages.RemoteInput:
                        // Input only into the accepted session it names, and only in control mode.
                        if (_remote is { Accepted: true, Mode: RemoteModes.Control } controlled && controlled.SessionId == message.Id)
                        {
                            await screen.InjectAsync(message.Events!);
                        }

                        break;
                    case SessionMessages.RemoteClipboard:
                        // Like input: only into the accepted session it names, and only in control mode.
                        if (_remote is { Accepted: true, Mode: RemoteModes.Control } pasted && pasted.SessionId == message.Id)
                        {
                            var (set, error) = await XclipClipboard.SetAsync(options.Display, message.Text!, cancellationToken);
                            if (!set)
                            {
                                SessionLog.ClipboardFailed(logger, error ?? "unknown");
                            }
                        }

                        break;
                    case SessionMessages.RemoteClipboardRead:
                        await ReadClipboardAsync(channel, message, cancellationToken);
                        break;
                    case SessionMessages.RemoteFileRequest:
                        await StartFileRequestAsync(channel, message);
                        break;
                    case SessionMessages.RemoteFile:
                        await ReceiveFileAsync(channel, message, cancellationToken);
                        break;
                    case SessionMessages.RemoteAck:
                        if (_remote is { } acked && acked.SessionId == message.Id)
                        {
                            acked.Streamer?.Acknowledge(message.Sequence!.Value);
                        }

                        break;
                    case SessionMessages.HelpStatus:
                        await ShowHelpStatusAsync(message);
                        break;
                    case SessionMessages.SafetyCapture:
                        // Off the reading loop: input and acknowledgements of a remote session keep flowing meanwhile.
                        _ = Task.Run(() => SendSafetyScreenshotAsync(channel, message.Id!.Value, stop.Token), CancellationToken.None);
                        break;
                    case SessionMessages.Lock or SessionMessages.Unlock or SessionMessages.Message:
                        var (ok, result) = await CarryOutAsync(message);
                        await channel.WriteAsync(new SessionMessage(SessionMessages.Done, message.Id, Ok: ok, Text: result), cancellationToken);
                        break;
                }
            }

            await stop.CancelAsync();
            await foreground;
            return SessionHelperOutcome.Disconnected;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return SessionHelperOutcome.Stopped;
        }
        catch (Exception e) when (e is SessionProtocolException or IOException or SocketException or TimeoutException)
        {
            SessionLog.LostService(logger, e.GetType().Name, e.Message);
            return SessionHelperOutcome.Disconnected;
        }
        finally
        {
            _channel = null;
            await stop.CancelAsync();
            await StopViewingAsync();
            await StopRemoteAsync();
            _files?.Discard();
        }

        async Task StopRemoteAsync()
        {
            if (_remote is not { } run)
            {
                return;
            }

            _remote = null;
            // A file not yet whole and verified goes with its session.
            _files?.Discard();
            await run.Stop.CancelAsync();
            await run.Task;
            run.Stop.Dispose();
        }

        async Task StopViewingAsync()
        {
            if (viewing is null)
            {
                return;
            }

            await viewing.CancelAsync();
            await (thumbnails ?? Task.CompletedTask);
            viewing.Dispose();
            (viewing, thumbnails) = (null, null);
            // Nobody watches any more (or nobody can: the service went away): the banner goes.
            await screen.SetBannerAsync(null);
        }
    }

    // Consent (or the notice), the banner for the whole session, then screen updates until either side ends it. Nothing is
    // captured before the student accepted when consent is required.
    private async Task RunRemoteAsync(SessionChannel channel, RemoteRun run, SessionMessage message)
    {
        var token = run.Stop.Token;
        var technician = message.ViewerName is { Length: > 0 } name ? name : "IT support";
        run.Technician = technician;
        var control = run.Mode == RemoteModes.Control;
        void EndRequested() => _ = EndFromBannerAsync();
        async Task EndFromBannerAsync()
        {
            if (_remote == run)
            {
                await TrySendAsync(new SessionMessage(SessionMessages.RemoteStatus, run.SessionId, Status: RemoteSessionStatuses.Ended, Text: "ended by the student"));
                await run.Stop.CancelAsync();
            }
        }

        try
        {
            if (message.ConsentRequired == true)
            {
                bool allowed;
                using (var answer = CancellationTokenSource.CreateLinkedTokenSource(token))
                {
                    answer.CancelAfter(ConsentTimeout);
                    try
                    {
                        allowed = await screen.AskConsentAsync(
                            $"{technician} (IT support) asks to {(control ? "see and control" : "see")} this screen. Nothing is shared unless you allow it.", answer.Token);
                    }
                    catch (OperationCanceledException) when (!token.IsCancellationRequested)
                    {
                        await TrySendAsync(new SessionMessage(SessionMessages.RemoteStatus, run.SessionId, Status: RemoteSessionStatuses.Declined, Text: "no answer in time"));
                        return;
                    }
                }

                if (!allowed)
                {
                    await TrySendAsync(new SessionMessage(SessionMessages.RemoteStatus, run.SessionId, Status: RemoteSessionStatuses.Declined, Text: "the student declined"));
                    return;
                }
            }

            // The banner is up before the first capture, so the technician sees what the student sees.
            screen.RemoteEndRequested += EndRequested;
            run.Banner = $"{technician} is {(control ? "controlling" : "viewing")} this screen";
            await SetRemoteBannerAsync(run.Banner);
            run.Streamer = new RemoteStreamer(run.SessionId, screen.CaptureRgbAsync, frame =>
                channel.WriteAsync(new SessionMessage(SessionMessages.RemoteScreen, run.SessionId, Frame: frame), token));
            run.Accepted = true;
            await channel.WriteAsync(new SessionMessage(SessionMessages.RemoteStatus, run.SessionId, Status: RemoteSessionStatuses.Accepted), token);
            await run.Streamer.RunAsync(TimeSpan.FromMilliseconds(message.IntervalMilliseconds!.Value), token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or SessionProtocolException)
        {
            // Ended by either side, or the service went away.
        }
        catch (InvalidOperationException e)
        {
            SessionLog.CommandFailed(logger, SessionMessages.RemoteSession, e.Message);
            await TrySendAsync(new SessionMessage(SessionMessages.RemoteStatus, run.SessionId, Status: RemoteSessionStatuses.Ended, Text: e.Message.Length <= 200 ? e.Message : e.Message[..200]));
        }
        finally
        {
            run.Accepted = false;
            screen.RemoteEndRequested -= EndRequested;
            try
            {
                await SetRemoteBannerAsync(null);
            }
            catch (ObjectDisposedException)
            {
                // The display went first.
            }
        }

        async Task TrySendAsync(SessionMessage status)
        {
            try
            {
                await channel.WriteAsync(status);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    // The technician asks for the display's clipboard text: read only in the accepted control session it names, text only and
    // within the protocol's limits; the banner then tells the student it was read. The text or why not goes back to the service.
    private async Task ReadClipboardAsync(SessionChannel channel, SessionMessage message, CancellationToken cancellationToken)
    {
        string? text = null, refusal;
        if (_remote is { Accepted: true, Mode: RemoteModes.Control } run && run.SessionId == message.Id)
        {
            try
            {
                (text, refusal) = await XclipClipboard.GetAsync(options.Display, cancellationToken);
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                refusal = $"xclip could not read the clipboard: {(e.Message.Length <= 200 ? e.Message : e.Message[..200])}";
            }

            if (text is not null && run.Accepted)
            {
                await SetRemoteBannerAsync($"{run.Banner} - they copied your clipboard at {DateTime.Now:HH:mm}");
            }
        }
        else
        {
            refusal = "the clipboard is read only in an accepted control session";
        }

        SessionLog.ClipboardRead(logger, text is null ? refusal! : $"{System.Text.Encoding.UTF8.GetByteCount(text)} bytes sent");
        await channel.WriteAsync(new SessionMessage(SessionMessages.RemoteClipboardContent, message.Id, Transfer: message.Transfer, Ok: text is not null, Text: text ?? refusal), cancellationToken);
    }

    // The technician asks for a file in the home folder: only in the accepted control session it names, one at a time. The
    // student is asked in the background (the channel keeps serving input meanwhile).
    private async Task StartFileRequestAsync(SessionChannel channel, SessionMessage message)
    {
        if (_remote is not { Accepted: true, Mode: RemoteModes.Control } run || run.SessionId != message.Id)
        {
            await AnswerFileRequestAsync(channel, message, RemoteFileRequestStatuses.Refused, "files are sent only in an accepted control session", CancellationToken.None);
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            await AnswerFileRequestAsync(channel, message, RemoteFileRequestStatuses.Refused, "files are sent from Linux devices only", CancellationToken.None);
            return;
        }

        if (Interlocked.CompareExchange(ref _fileRequestBusy, 1, 0) != 0)
        {
            await AnswerFileRequestAsync(channel, message, RemoteFileRequestStatuses.Refused, "another file request is waiting for the student", CancellationToken.None);
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                if (OperatingSystem.IsLinux())
                {
                    await SendRequestedFileAsync(channel, run, message);
                }
            }
            finally
            {
                Volatile.Write(ref _fileRequestBusy, 0);
            }
        });
    }

    // Finds the file (inside the home folder, links included), asks the student (denied after FileRequestTimeout), and only on
    // Allow reads it and sends it in paced chunks with its SHA-256. The session's end stops it; nothing is sent before Allow.
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private async Task SendRequestedFileAsync(SessionChannel channel, RemoteRun run, SessionMessage message)
    {
        var token = run.Stop.Token;
        var path = message.Text!;
        var maxBytes = message.Size!.Value;
        try
        {
            var (found, size, refusal) = HomeFileReader.Resolve(options.HomeDirectory ?? HomeFileReader.DefaultHome(), path, maxBytes);
            if (found is null)
            {
                await AnswerFileRequestAsync(channel, message, RemoteFileRequestStatuses.Refused, refusal!, token);
                return;
            }

            bool allowed;
            using (var answer = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                answer.CancelAfter(FileRequestTimeout);
                try
                {
                    allowed = await screen.AskConsentAsync(
                        $"{run.Technician} (IT support) asks for the file {path} ({size:N0} bytes). Allow sends them a copy; Deny keeps it here.", answer.Token, "Deny");
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    await AnswerFileRequestAsync(channel, message, RemoteFileRequestStatuses.Denied, $"no answer within {FileRequestTimeout.TotalSeconds:0} seconds", token);
                    return;
                }
            }

            if (!allowed)
            {
                await AnswerFileRequestAsync(channel, message, RemoteFileRequestStatuses.Denied, "the student denied it", token);
                return;
            }

            if (await HomeFileReader.ReadAsync(found, maxBytes, token) is not { } content || content.Length == 0)
            {
                await AnswerFileRequestAsync(channel, message, RemoteFileRequestStatuses.Refused, "the file changed while it was read (empty, or over the limit); nothing was sent", token);
                return;
            }

            await AnswerFileRequestAsync(channel, message, RemoteFileRequestStatuses.Allowed, null, token);
            var name = RemoteFileLimits.SafeName(Path.GetFileName(path));
            var sha256 = RemoteFileLimits.Sha256Hex(content);
            var pause = TimeSpan.FromSeconds(1.0 / RemoteFileLimits.UploadChunksPerSecond);
            for (var offset = 0; offset < content.Length; offset += RemoteFileLimits.ChunkBytes)
            {
                if (offset > 0)
                {
                    await Task.Delay(pause, token); // with the screen updates, under the server's frame rate
                }

                await channel.WriteAsync(new SessionMessage(SessionMessages.RemoteFileUpload, message.Id, Transfer: message.Transfer, FileName: name, Size: content.Length,
                    Sha256: sha256, Offset: offset, Frame: content[offset..Math.Min(content.Length, offset + RemoteFileLimits.ChunkBytes)]), token);
            }

            RecordFileRequest(message.Transfer!.Value, "sent", name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var reason = $"the file could not be read: {e.Message}";
            await AnswerFileRequestAsync(channel, message, RemoteFileRequestStatuses.Refused, reason.Length <= ProtocolLimits.MaxShortText ? reason : reason[..ProtocolLimits.MaxShortText], CancellationToken.None);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or SessionProtocolException or InvalidOperationException)
        {
            // The session ended (or the service went away): nothing more is sent.
            RecordFileRequest(message.Transfer!.Value, "stopped", e.Message);
        }
    }

    private void RecordFileRequest(Guid transfer, string status, string detail)
    {
        lock (_fileRequestOutcomes)
        {
            _fileRequestOutcomes.Add((transfer, status, detail));
        }
    }

    private async Task AnswerFileRequestAsync(SessionChannel channel, SessionMessage request, string status, string? reason, CancellationToken cancellationToken)
    {
        if (status != RemoteFileRequestStatuses.Allowed)
        {
            RecordFileRequest(request.Transfer!.Value, status, reason ?? string.Empty);
            SessionLog.FileRequestOutcome(logger, request.Text ?? "?", status, reason ?? string.Empty);
        }

        try
        {
            await channel.WriteAsync(new SessionMessage(SessionMessages.RemoteFileRequestStatus, request.Id, Transfer: request.Transfer, Status: status, Text: reason), cancellationToken);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    // A chunk of a file from the technician: kept only in the accepted control session it names, only once whole and its SHA-256
    // matched; the student is told where it is. The outcome goes back to the service (and so to the technician).
    private async Task ReceiveFileAsync(SessionChannel channel, SessionMessage message, CancellationToken cancellationToken)
    {
        (string Status, string Detail)? outcome;
        if (_remote is { Accepted: true, Mode: RemoteModes.Control } run && run.SessionId == message.Id)
        {
            _files ??= new RemoteFileReceiver(options.DownloadsDirectory ?? RemoteFileReceiver.DefaultDirectory());
            outcome = await _files.ReceiveAsync(message.Transfer!.Value, message.FileName!, message.Size!.Value, message.Sha256!, message.Offset!.Value, message.Frame!, cancellationToken);
            if (outcome is (RemoteFileStatuses.Saved, var kept))
            {
                try
                {
                    await screen.ShowMessageAsync("A file from IT support", $"{run.Technician} sent you a file: {kept}. It is in your Downloads/Homeroom folder.");
                }
                catch (InvalidOperationException e)
                {
                    SessionLog.CommandFailed(logger, SessionMessages.RemoteFile, e.Message);
                }
            }
        }
        else
        {
            outcome = (RemoteFileStatuses.Refused, "files are kept only in an accepted control session");
        }

        if (outcome is { } done)
        {
            lock (_fileOutcomes)
            {
                _fileOutcomes.Add((message.Transfer!.Value, done.Status, done.Detail));
            }

            SessionLog.FileOutcome(logger, message.FileName ?? "?", done.Status, done.Detail);
            await channel.WriteAsync(new SessionMessage(SessionMessages.RemoteFileStatus, message.Id, Transfer: message.Transfer, Status: done.Status,
                Text: done.Detail.Length <= ProtocolLimits.MaxShortText ? done.Detail : done.Detail[..ProtocolLimits.MaxShortText]), cancellationToken);
        }
    }

    // The server asked for the screen for a safety alert: one full-screen capture, JPEG at quality 60 (lower, then narrower,
    // only to fit), at most 1,280 pixels wide, kept in memory only and sent to the service with the capture id. Nothing is shown
    // to the student, as the Chrome extension shows nothing for its tab capture (docs/desktop-agent.md). One at a time.
    private async Task SendSafetyScreenshotAsync(SessionChannel channel, Guid captureId, CancellationToken cancellationToken)
    {
        try
        {
            await _safetyCaptureGate.WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }

        try
        {
            SessionMessage answer;
            try
            {
                var capturedAt = DateTimeOffset.UtcNow;
                var jpeg = await ThumbnailEncoder.EncodeAsync(screen.CaptureRgbAsync(), SessionMessages.SafetyScreenshotMaxWidth, SessionMessages.MaxSafetyScreenshotBytes);
                answer = jpeg.Length <= SessionMessages.MaxSafetyScreenshotBytes
                    ? new SessionMessage(SessionMessages.SafetyScreenshot, captureId, Ok: true, Image: jpeg, CapturedAt: capturedAt)
                    : new SessionMessage(SessionMessages.SafetyScreenshot, captureId, Ok: false, Text: "the screen did not fit the size limit");
            }
            catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
            {
                SessionLog.CommandFailed(logger, SessionMessages.SafetyCapture, e.Message);
                var reason = $"the screen could not be captured: {e.Message}";
                answer = new SessionMessage(SessionMessages.SafetyScreenshot, captureId, Ok: false,
                    Text: reason.Length <= ProtocolLimits.MaxShortText ? reason : reason[..ProtocolLimits.MaxShortText]);
            }

            await channel.WriteAsync(answer, cancellationToken);
            lock (_safetyScreenshots)
            {
                _safetyScreenshots.Add((captureId, answer.Image?.Length ?? 0));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or SessionProtocolException)
        {
            // The service went away: the server's capture expires unanswered.
        }
        finally
        {
            _safetyCaptureGate.Release();
        }
    }

    private async Task<(bool Ok, string Result)> CarryOutAsync(SessionMessage message)
    {
        try
        {
            switch (message.Type)
            {
                case SessionMessages.Lock:
                    await screen.LockAsync(message.Text ?? "This device is locked.");
                    return (true, "locked");
                case SessionMessages.Unlock:
                    await screen.UnlockAsync();
                    return (true, "unlocked");
                default:
                    await screen.ShowMessageAsync(message.Title, message.Text!);
                    return (true, "shown");
            }
        }
        catch (InvalidOperationException e)
        {
            SessionLog.CommandFailed(logger, message.Type, e.Message);
            return (false, $"{message.Type}: {e.Message}");
        }
    }

    private async Task SendThumbnailsAsync(SessionChannel channel, int intervalMilliseconds, int maxWidth, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(intervalMilliseconds));
        try
        {
            do
            {
                var capturedAt = DateTimeOffset.UtcNow;
                var image = await screen.ThumbnailAsync(maxWidth, SessionMessages.TargetThumbnailBytes);
                cancellationToken.ThrowIfCancellationRequested();
                await channel.WriteAsync(new SessionMessage(SessionMessages.Thumbnail, Image: image, CapturedAt: capturedAt), cancellationToken);
                lock (_sizes)
                {
                    _sizes.Add(image.Length);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The view ended or the service went away.
        }
    }

    private async Task ReportForegroundAsync(SessionChannel channel, CancellationToken cancellationToken)
    {
        (string? App, string? Title) last = (null, null);
        var away = false; // the service counts the user as present until told otherwise
        using var timer = new PeriodicTimer(ForegroundInterval);
        try
        {
            do
            {
                var now = await screen.ForegroundAsync();
                if (now != last && (now.App is not null || now.Title is not null))
                {
                    last = now;
                    await channel.WriteAsync(new SessionMessage(SessionMessages.Foreground, App: Cut(now.App), Title: Cut(now.Title)), cancellationToken);
                }

                // Away once no input came for IdleAfter, and back at the next input: either dated from the latest input.
                if (await screen.IdleAsync() is { } idle && (idle >= options.IdleAfter) != away)
                {
                    away = !away;
                    await channel.WriteAsync(new SessionMessage(SessionMessages.Idle, Active: away, CapturedAt: DateTimeOffset.UtcNow - idle), cancellationToken);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static string? Cut(string? text) => text is null || text.Length <= SessionMessages.MaxTitle ? text : text[..SessionMessages.MaxTitle];
}
