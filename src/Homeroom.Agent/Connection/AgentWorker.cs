using System.Net.WebSockets;
using System.Text.Json;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Capabilities.Apps;
using Homeroom.Agent.Capabilities.Browsers;
using Homeroom.Agent.Capabilities.Updates;
using Homeroom.Agent.Capabilities.Users;
using Homeroom.Agent.Session;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Filtering;
using Homeroom.Rules.Policies;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Homeroom.Agent.Connection;

/// <summary>
/// The agent's life: enrolls when it has no credential (or the server stopped accepting it), keeps one
/// connection open and reconnects with jittered exponential back-off, resumes the activity queue from
/// the server's acknowledged point, sends inventory (with its capabilities) and heartbeats, answers
/// every command exactly once (<see cref="CommandJournal"/>), and applies each policy version.
/// </summary>
public sealed class AgentWorker(
    ICredentialVault vault,
    AgentEnrollment enrollment,
    CommandJournal journal,
    ActivityQueue queue,
    ActivitySink activity,
    IEnumerable<ICapability> capabilities,
    IInventoryCapability inventory,
    IApplicationsCapability applications,
    IDeviceStatusCapability deviceStatus,
    IPowerCapability power,
    SessionHost sessions,
    ForegroundUsage usage,
    WindowSignals signals,
    SafetyScreenshots safetyScreenshots,
    HelpDesk help,
    IPackagesCapability packages,
    IOsUpdatesCapability osUpdates,
    IBrowserPolicyCapability browserPolicy,
    CompanionCredentials companions,
    ISignedInUserCapability signedInUsers,
    AgentOptions options,
    ApplicationBlocker blocker,
    Diagnostics.DiagnosticsGatherer diagnostics,
    Scripts.ScriptRunner scripts,
    Updates.SelfUpdater updater,
    IHostApplicationLifetime lifetime,
    AgentPaths paths,
    AgentStatus status,
    ShutdownSignal shutdown,
    HttpClient http,
    TimeProvider time,
    ILogger<AgentWorker> logger) : BackgroundService
{
    private static readonly TimeSpan WelcomeTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ApprovalRetry = TimeSpan.FromMinutes(3);

    private readonly ReconnectBackoff _backoff = new(Random.Shared);
    private readonly SemaphoreSlim _commandGate = new(1, 1);
    private readonly SemaphoreSlim _inventoryGate = new(1, 1);
    private AgentSecrets? _secrets;
    private AppliedPolicy? _policy = LoadPolicy(paths);
    private WebFilter _filter = WebFilter.AllowAll;
    private long _sentThroughSeq;
    private AgentClient? _current;
    private int _maxTextFrameBytes = ProtocolLimits.MaxTextFrameBytes;
    private readonly Lock _signedInLock = new();
    private string? _signedInAccount;
    private SignedInUser? _signedIn;
    private byte[]? _scriptKey = File.Exists(paths.ScriptKeyFile) ? File.ReadAllBytes(paths.ScriptKeyFile) : null;

    /// <summary>The web filter compiled from the last policy (for the browser integration still to come).</summary>
    public WebFilter Filter => _filter;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _secrets = vault.Load();
        sessions.Changed += OnSessionHelpersChanged;
        sessions.ThumbnailReceived += OnThumbnailAsync;
        sessions.RemoteStatusReceived += ForwardAsync;
        sessions.RemoteScreenReceived += OnRemoteScreenAsync;
        sessions.RemoteFileStatusReceived += ForwardAsync;
        sessions.RemoteClipboardContentReceived += ForwardAsync;
        sessions.RemoteFileRequestStatusReceived += ForwardAsync;
        sessions.RemoteFileUploadReceived += ForwardAsync;
        status.PolicyVersion = _policy?.Version ?? 0;
        if (_policy is { } stored)
        {
            var document = PolicyDocument.Read(stored.Document);
            LocateBundles(document);
            blocker.SetBlockedPackages(BlockedPackages(document), BlockedExecutables(document));
            ApplyMonitoring(document);
            // Again at every start: a policy file removed or changed meanwhile is put back before the first inventory
            // (with the companion credential kept from before; a new one is asked for once the server answers).
            ApplyBrowserPolicy(document, companions.Cached(_secrets?.DeviceId)?.Credential);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            if (_secrets is null)
            {
                status.Stopped = "not enrolled: run `homeroom-agent enroll --server URL --token T` or configure a token";
                return;
            }

            if (!_secrets.CanConnect)
            {
                var (outcome, secrets, detail) = await enrollment.EnrollAsync(_secrets, stoppingToken);
                _secrets = secrets;
                switch (outcome)
                {
                    case EnrollOutcome.Enrolled:
                        AgentLog.Enrolled(logger, secrets.DeviceId!.Value);
                        break;
                    case EnrollOutcome.Refused:
                        AgentLog.EnrollmentRefused(logger, 0, detail ?? string.Empty);
                        status.Stopped = "enrollment refused: " + detail;
                        return;
                    case EnrollOutcome.AwaitingApproval:
                        AgentLog.EnrollmentRefused(logger, 409, detail ?? string.Empty);
                        await DelayAsync(ApprovalRetry, stoppingToken);
                        continue;
                    default:
                        AgentLog.Unreachable(logger, _secrets.Server, detail ?? string.Empty);
                        await DelayAsync(_backoff.Next(), stoppingToken);
                        continue;
                }
            }

            status.DeviceId = _secrets.DeviceId;
            var sessionsBefore = status.Connections;
            int code;
            string? reason;
            try
            {
                (code, reason) = await RunConnectionAsync(_secrets, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // A fault in one connection never ends the agent: it would stay offline until the service restarts.
                AgentLog.ConnectionFault(logger, e);
                (code, reason) = (-1, e.Message);
            }

            status.LastCloseCode = code;
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            switch (code)
            {
                case AgentCloseCodes.DeviceRevoked:
                    AgentLog.Revoked(logger);
                    status.Stopped = "revoked";
                    return;
                case AgentCloseCodes.AuthenticationFailed:
                    // Enroll again presenting this credential: if it is still the device's, it proves the device is the same.
                    AgentLog.CredentialRefused(logger);
                    _secrets = _secrets with { Stale = true };
                    vault.Save(_secrets);
                    break;
                case AgentCloseCodes.Replaced:
                    break; // another connection of this device took over: do not fight it, but come back later
                default:
                    if (status.Connections > sessionsBefore)
                    {
                        // A session that worked, however it ended (a laptop closed, a network changed): the next try
                        // starts again from the first step, or a device that drops now and then would wait minutes.
                        _backoff.Reset();
                    }

                    break;
            }

            var delay = _backoff.Next();
            status.ReconnectDelay = delay;
            AgentLog.Disconnected(logger, code, reason, delay);
            await DelayAsync(delay, stoppingToken);
        }
    }

    /// <summary>One connection from connect to close: the close code (0 for a normal end, -1 when none was received) and reason.</summary>
    private async Task<(int Code, string? Reason)> RunConnectionAsync(AgentSecrets secrets, CancellationToken stoppingToken)
    {
        AgentClient client;
        try
        {
            client = await AgentClient.ConnectAsync(AgentProtocol.WebSocketUri(secrets.Server), null, stoppingToken);
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException or OperationCanceledException)
        {
            return (-1, e.Message);
        }

        await using var _ = client;
        var welcome = new TaskCompletionSource<WelcomeFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Start(frame => OnFrameAsync(client, frame, welcome));
        await client.SendAsync(new AuthFrame(secrets.DeviceId!.Value, secrets.Credential!, AgentProtocol.Version, AgentOptions.Version));
        var first = await Task.WhenAny(welcome.Task, client.Completion, Task.Delay(WelcomeTimeout, time, stoppingToken));
        if (first != welcome.Task)
        {
            client.Abort();
            return ((int?)client.CloseStatus ?? -1, client.CloseDescription);
        }

        var hello = await welcome.Task;
        _maxTextFrameBytes = Math.Clamp(hello.MaxTextFrameBytes, 1024, ProtocolLimits.MaxTextFrameBytes);
        status.OnWelcomed();
        AgentLog.Connected(logger, secrets.Server, secrets.DeviceId.Value);
        try
        {
            queue.Acknowledge(hello.ActivityAckedSeq);
            await RefreshSignedInUserAsync(stoppingToken);
            await SendInventoryAsync(client);
            _sentThroughSeq = 0;
            await SendQueuedAsync(client);
            await signals.SendAsync(client, resend: true);
            await help.SendAsync(client, resend: true);
            await RenewCompanionAsync();
            _current = client;
            await LiveAsync(client, TimeSpan.FromSeconds(Math.Max(5, hello.HeartbeatIntervalSeconds)), stoppingToken);
        }
        finally
        {
            _current = null;
            status.Connected = false;
            // Nobody can watch without the server: the banner goes and thumbnails stop (the server starts the view again on reconnect).
            await sessions.SetScreenViewAsync(new ScreenViewFrame(false, null, 0, 0));
            // A remote session lives on one connection: it ends with it (the server ends its side too).
            await sessions.EndRemoteSessionAsync();
        }

        if (stoppingToken.IsCancellationRequested)
        {
            // Going away: say whether the computer shuts down or only the agent stops (the server alerts on the latter).
            if (await shutdown.GoingAwayReasonAsync() is { } goingAway)
            {
                await client.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, goingAway);
            }
            else
            {
                await client.CloseAsync();
            }
        }

        return (client.CloseStatus is { } closed && closed != WebSocketCloseStatus.NormalClosure ? (int)closed : 0, client.CloseDescription);
    }

    private async Task LiveAsync(AgentClient client, TimeSpan heartbeatInterval, CancellationToken stoppingToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        _ = client.Completion.ContinueWith(_ =>
        {
            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The agent stopped first; nothing is waiting any more.
            }
        }, TaskScheduler.Default);
        var updateChecks = Task.Run(() => CheckOsUpdatesAsync(client, stop.Token), CancellationToken.None);
        var signedInChecks = Task.Run(() => WatchSignedInUserAsync(client, stop.Token), CancellationToken.None);
        var heartbeat = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(heartbeatInterval, time);
            do
            {
                if (!await client.SendAsync(new HeartbeatFrame(deviceStatus.Battery(), deviceStatus.Network(), null)))
                {
                    return;
                }
            }
            while (await timer.WaitForNextTickAsync(stop.Token));
        }, CancellationToken.None);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await activity.WaitAsync(stop.Token);
                await SendQueuedAsync(client);
                await signals.SendAsync(client, resend: false);
                await help.SendAsync(client, resend: false);
            }
        }
        catch (OperationCanceledException)
        {
            // The connection ended or the agent is stopping.
        }

        try
        {
            await heartbeat;
        }
        catch (OperationCanceledException)
        {
        }

        await updateChecks;
        await signedInChecks;
    }

    /// <summary>
    /// Asks who is signed in every <see cref="AgentOptions.SignedInUserPollInterval"/> and sends the inventory when it
    /// changed (a helper connecting or leaving is handled at once by <see cref="OnSessionHelpersChanged"/>).
    /// </summary>
    private async Task WatchSignedInUserAsync(AgentClient client, CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(options.SignedInUserPollInterval, time);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                if (await RefreshSignedInUserAsync(cancellationToken) && !await SendInventoryAsync(client))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The connection ended or the agent is stopping; the next connection reads it again before its inventory.
        }
    }

    /// <summary>Reads who is signed in at the screen; true when that changed since the last read (the inventory is then due).</summary>
    private async Task<bool> RefreshSignedInUserAsync(CancellationToken cancellationToken)
    {
        string? account;
        try
        {
            account = await signedInUsers.CurrentAccountAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
        {
            AgentLog.SignedInUserUnknown(logger, e.Message);
            account = null;
        }

        lock (_signedInLock)
        {
            if (account == _signedInAccount)
            {
                return false;
            }

            _signedInAccount = account;
            _signedIn = SignedInUsers.From(account, options.UserEmailDomain, out var refused);
            if (refused is not null)
            {
                AgentLog.SignedInUserRefused(logger, refused);
            }
            else
            {
                AgentLog.SignedInUserChanged(logger, account ?? "nobody");
            }

            return true;
        }
    }

    /// <summary>
    /// Asks the OS for its pending updates when the last answer is older than <see cref="AgentOptions.OsUpdateCheckInterval"/>
    /// (at once on a first connection), then every interval, and sends the inventory with the new status.
    /// </summary>
    private async Task CheckOsUpdatesAsync(AgentClient client, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var checkedAt = osUpdates.Last?.CheckedAt;
                var due = checkedAt is null ? TimeSpan.Zero : checkedAt.Value + options.OsUpdateCheckInterval - time.GetUtcNow();
                if (osUpdates.Last is null || due <= TimeSpan.Zero)
                {
                    var status = await osUpdates.CheckAsync(cancellationToken);
                    AgentLog.OsUpdatesChecked(logger, status.Pending, status.Security, status.RebootRequired, status.Error ?? "");
                    if (!await SendInventoryAsync(client))
                    {
                        return;
                    }

                    due = options.OsUpdateCheckInterval;
                }

                await Task.Delay(due, time, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // The connection ended or the agent is stopping; the next connection checks again when due.
        }
    }

    /// <summary>Sends what the queue holds beyond what this connection already sent, in order.</summary>
    private async Task SendQueuedAsync(AgentClient client)
    {
        foreach (var batch in queue.Batches())
        {
            var fresh = batch.Where(e => e.Seq > _sentThroughSeq).ToArray();
            if (fresh.Length == 0)
            {
                continue;
            }

            if (!await client.SendAsync(new ActivityFrame(fresh)))
            {
                return; // kept: sent again after reconnecting
            }

            _sentThroughSeq = fresh[^1].Seq;
        }
    }

    /// <summary>
    /// Builds the inventory and sends it, one at a time: senders run side by side (a helper signing in, the OS update
    /// check, the sign-in poll), and an inventory built before another but sent after it would undo it on the server
    /// (a student's sign-in followed by an older "nobody" signed them out again).
    /// </summary>
    private async Task<bool> SendInventoryAsync(AgentClient client)
    {
        await _inventoryGate.WaitAsync();
        try
        {
            return await client.SendAsync(Inventory());
        }
        finally
        {
            _inventoryGate.Release();
        }
    }

    private InventoryFrame Inventory()
    {
        var facts = inventory.Read();
        var apps = applications.ListInstalled();
        var described = capabilities.SelectMany(c => c.Describe())
            .GroupBy(c => c.Name, StringComparer.Ordinal)
            .Select(g => g.First())
            .Take(ProtocolLimits.MaxCapabilities)
            .ToList();
        var frame = new InventoryFrame(
            Short(facts.OsName), Short(facts.OsVersion), Short(facts.Model), Short(facts.Manufacturer), facts.StorageTotalBytes, facts.StorageFreeBytes,
            // The protocol takes at most 2,000 apps; a larger system reports the first 2,000 by id.
            apps.Count == 0 ? null : apps.Take(ProtocolLimits.MaxInventoryApps).ToList(),
            described,
            osUpdates.Last,
            // Absent when nobody is signed in: on a shared device the server then returns it to its own policy.
            _signedIn);
        return FitFrame(frame, _maxTextFrameBytes);
    }

    /// <summary>
    /// Cuts the app list until the frame fits the server's text frame limit (a machine with many packages and long
    /// version strings exceeds 64 KB well before 2,000 apps, and an oversized frame closes the connection with 4413).
    /// </summary>
    internal static InventoryFrame FitFrame(InventoryFrame frame, int maxBytes)
    {
        var size = AgentFrameCodec.Serialize(frame).Length;
        while (size > maxBytes && frame.Apps is { Count: > 0 } apps)
        {
            // Drop the overflow's share of apps, plus a margin, and measure again.
            var keep = Math.Max(0, (int)(apps.Count * ((double)maxBytes / size)) - 8);
            frame = frame with { Apps = apps.Take(keep).ToList() };
            size = AgentFrameCodec.Serialize(frame).Length;
        }

        return frame;
    }

    private static string? Short(string? text) => text is null || text.Length <= ProtocolLimits.MaxShortText ? text : text[..ProtocolLimits.MaxShortText];

    private async Task OnFrameAsync(AgentClient client, AgentFrame frame, TaskCompletionSource<WelcomeFrame> welcome)
    {
        switch (frame)
        {
            case WelcomeFrame hello:
                // Before any command of this connection is read: one waiting for the device may be a script.
                KeepScriptKey(hello.ScriptSigningKey);
                welcome.TrySetResult(hello);
                break;
            case ActivityAckFrame ack:
                queue.Acknowledge(ack.ThroughSeq);
                if (ack.Dropped is > 0)
                {
                    AgentLog.ServerDroppedActivity(logger, ack.Dropped.Value);
                }

                break;
            case CommandFrame command:
                await OnCommandAsync(client, command);
                break;
            case PolicyFrame policy:
                await OnPolicyAsync(client, policy);
                break;
            case ScreenViewFrame view:
                await sessions.SetScreenViewAsync(view);
                break;
            case RemoteSessionFrame remote:
                await sessions.RemoteSessionAsync(remote);
                break;
            case RemoteInputFrame input:
                await sessions.RemoteInputAsync(input);
                break;
            case RemoteAckFrame ack:
                await sessions.RemoteAckAsync(ack);
                break;
            case RemoteClipboardFrame clipboard:
                await sessions.RemoteClipboardAsync(clipboard);
                break;
            case RemoteClipboardReadFrame read:
                await sessions.RemoteClipboardReadAsync(read);
                break;
            case RemoteFileRequestFrame request:
                await sessions.RemoteFileRequestAsync(request);
                break;
            case RemoteFileFrame file:
                await sessions.RemoteFileAsync(file);
                break;
            case HelpRequestAckFrame helpAck:
                await help.AcknowledgedAsync(helpAck);
                break;
            case HelpStatusFrame helpStatus:
                await help.ChangedAsync(helpStatus);
                break;
            case SignalsAckFrame signalsAck:
                signals.Acknowledge(signalsAck.Batch);
                break;
            case SafetyCaptureFrame capture:
                // Not awaited: the helper may take seconds, and the frames behind this one must not wait for it.
                _ = safetyScreenshots.AnswerAsync(client, capture);
                break;
        }
    }

    private async Task OnCommandAsync(AgentClient client, CommandFrame command)
    {
        // One command at a time, so a repeat that arrives while the first copy runs waits for its outcome.
        await _commandGate.WaitAsync();
        try
        {
            switch (journal.Recall(command.CommandId, out var earlier))
            {
                case CommandMemory.Finished:
                    AgentLog.CommandRepeated(logger, command.CommandId);
                    await AnswerAsync(client, command, earlier!.Ok, earlier.Result ?? string.Empty);
                    return;
                case CommandMemory.Interrupted:
                    AgentLog.CommandRepeated(logger, command.CommandId);
                    await FinishAsync(client, command, false, "the agent stopped while carrying it out; not run again");
                    return;
            }

            if (command.ExpiresAt < time.GetUtcNow())
            {
                await FinishAsync(client, command, false, "expired before it arrived");
                return;
            }

            journal.Begin(command.CommandId, command.ExpiresAt);
            if (command.Kind == CommandKinds.AgentUpdate)
            {
                // Not acknowledged: the command stays "sent", so the server sends it again to whichever program runs next,
                // which answers it from the journal.
                await AgentUpdateAsync(client, command);
                return;
            }

            await client.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Acknowledged));
            if (command.Kind is CommandKinds.Restart or "shutdown")
            {
                await PowerAsync(client, command);
                return;
            }

            if (command.Kind is CommandKinds.InstallPackage or CommandKinds.RemovePackage)
            {
                await PackageAsync(client, command);
                return;
            }

            if (command.Kind == CommandKinds.InstallOsUpdates)
            {
                await OsUpdatesAsync(client, command);
                return;
            }

            if (command.Kind == CommandKinds.Diagnose)
            {
                await DiagnoseAsync(client, command);
                return;
            }

            if (command.Kind == CommandKinds.RunScript)
            {
                await RunScriptAsync(client, command);
                return;
            }

            var (ok, result) = await ExecuteAsync(command);
            await FinishAsync(client, command, ok, result);
        }
        finally
        {
            _commandGate.Release();
        }
    }

    private async Task<(bool Ok, string Result)> ExecuteAsync(CommandFrame command)
    {
        if (command.Kind == CommandKinds.Ping)
        {
            return (true, "pong");
        }

        var needed = CapabilityNames.ForCommand(command.Kind);
        var missing = needed is null ? null : capabilities.SelectMany(c => c.Describe()).FirstOrDefault(c => c.Name == needed && !c.Available);
        if (missing is not null)
        {
            return (false, $"{command.Kind}: {missing.Reason}");
        }

        return command.Kind is CommandKinds.Lock or CommandKinds.Unlock or CommandKinds.Message
            ? await sessions.CommandAsync(command)
            : (false, $"unsupported command '{command.Kind}'");
    }

    // A helper came or went: the server hears the new capabilities at once (the console greys lock out or back in), and
    // who is signed in now (a helper's user is the session's).
    private void OnSessionHelpersChanged()
    {
        if (_current is { } client)
        {
            _ = Task.Run(async () =>
            {
                await RefreshSignedInUserAsync(CancellationToken.None);
                await SendInventoryAsync(client);
            });
        }
    }

    // What the session helper reports about a remote session (status, the clipboard, files) goes to the server as it is.
    private async Task ForwardAsync(AgentFrame frame)
    {
        if (_current is { } client)
        {
            await client.SendAsync(frame);
        }
    }

    // Passed through unchanged: the helper built the protocol's frame and the host checked it.
    private async Task OnRemoteScreenAsync(byte[] frame)
    {
        if (_current is { } client)
        {
            await client.SendAsync(frame, WebSocketMessageType.Binary);
        }
    }

    // Passed through as the protocol's thumbnail frame, as the Chrome extension sends it.
    private async Task OnThumbnailAsync(byte[] jpeg, DateTimeOffset capturedAt)
    {
        if (_current is { } client)
        {
            await client.SendAsync(ThumbnailFrame.Encode(ThumbnailFormat.Jpeg, capturedAt, jpeg), WebSocketMessageType.Binary);
        }
    }

    /// <summary>Restart and shutdown: the outcome is recorded and reported first (protocol v1: report <c>succeeded</c> first), then the OS is asked.</summary>
    private async Task PowerAsync(AgentClient client, CommandFrame command)
    {
        var restart = command.Kind == CommandKinds.Restart;
        var name = restart ? CapabilityNames.Restart : CapabilityNames.Shutdown;
        var entry = power.Describe().FirstOrDefault(c => c.Name == name);
        if (entry is not { Available: true })
        {
            await FinishAsync(client, command, false, $"{command.Kind}: {entry?.Reason ?? "not supported"}");
            return;
        }

        await FinishAsync(client, command, true, restart ? "restarting" : "shutting down");
        var failure = restart ? await power.RestartAsync(CancellationToken.None) : await power.ShutdownAsync(CancellationToken.None);
        if (failure is not null)
        {
            AgentLog.PowerFailed(logger, command.Kind, failure);
        }
    }

    /// <summary>
    /// Install or removal with the platform's package tool; the fresh inventory goes out before the outcome, so
    /// the server's package list already agrees when it reads the result.
    /// </summary>
    private async Task PackageAsync(AgentClient client, CommandFrame command)
    {
        var install = command.Kind == CommandKinds.InstallPackage;
        if (command.Arguments?.GetValueOrDefault("package") is not { } package || !PackageIds.IsValid(package))
        {
            await FinishAsync(client, command, false, $"{command.Kind}: the 'package' argument is missing or not a package identity");
            return;
        }

        if (packages.Describe().FirstOrDefault(c => c.Name == CapabilityNames.AppInstall) is { Available: false } unavailable)
        {
            await FinishAsync(client, command, false, $"{command.Kind}: {unavailable.Reason}");
            return;
        }

        if (PackageSourceOf(command.Arguments) is not { } source)
        {
            await FinishAsync(client, command, false, $"{command.Kind}: 'packageUrl', 'sha256', 'appPath' or 'bundleId' is not what a Mac package's must be");
            return;
        }

        if (source.AppPath is { } appPath)
        {
            packages.Locate(package, appPath);
        }

        if (!install)
        {
            blocker.Learn(package); // its file list goes with it
        }

        var outcome = install ? await packages.InstallAsync(package, source, CancellationToken.None) : await packages.RemoveAsync(package, source, CancellationToken.None);
        AgentLog.PackageChanged(logger, command.Kind, package, outcome.Result);
        await SendInventoryAsync(client);
        await FinishAsync(client, command, outcome.Ok, outcome.Result);
    }

    /// <summary>
    /// Installs the OS's pending updates; as for packages, the fresh inventory (with the new update status) goes out
    /// before the outcome. The ring's deadline, when the server gives one, is stated in the result.
    /// </summary>
    private async Task OsUpdatesAsync(AgentClient client, CommandFrame command)
    {
        if (osUpdates.Describe().FirstOrDefault(c => c.Name == CapabilityNames.OsUpdates) is { Available: false } unavailable)
        {
            await FinishAsync(client, command, false, $"{command.Kind}: {unavailable.Reason}");
            return;
        }

        var deadline = command.Arguments?.GetValueOrDefault("deadline") is { } text
            && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var parsed)
            ? parsed
            : (DateTimeOffset?)null;
        var outcome = await osUpdates.InstallAsync(CancellationToken.None);
        AgentLog.OsUpdatesInstalled(logger, outcome.Ok, outcome.Result);
        await SendInventoryAsync(client);
        var result = deadline is { } d ? $"{outcome.Result} (deadline {d.UtcDateTime:yyyy-MM-dd HH:mm} UTC)" : outcome.Result;
        await FinishAsync(client, command, outcome.Ok, result);
    }

    /// <summary>The report goes out first, then the command's outcome, so the server has it when it reads <c>succeeded</c>.</summary>
    private async Task DiagnoseAsync(AgentClient client, CommandFrame command)
    {
        if (DiagnosticsLimits.ParseSites(command.Arguments?.GetValueOrDefault("urls"), out var sites) is { } invalid)
        {
            await FinishAsync(client, command, false, $"diagnose: {invalid}");
            return;
        }

        var report = await diagnostics.GatherAsync(_secrets!.Server, sites, Diagnostics.ConnectivityProbe.DefaultTimeout, CancellationToken.None);
        var frame = Diagnostics.DiagnosticsGatherer.Fit(new DiagnosticsFrame(command.CommandId, report), _maxTextFrameBytes);
        if (!await client.SendAsync(frame))
        {
            return; // not finished: the command comes again after reconnecting and is answered as interrupted
        }

        var failed = report.Connectivity?.Count(c => !c.Ok) ?? 0;
        await FinishAsync(client, command, true, failed == 0 ? "report sent" : $"report sent; {failed} connection test(s) failed");
    }

    /// <summary>
    /// The first script-signing key a server offers is kept (in the state directory) and never replaced: a server or
    /// connection that later offers another cannot make this agent run scripts signed with it.
    /// </summary>
    private void KeepScriptKey(string? offered)
    {
        if (offered is null)
        {
            return;
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(offered);
        }
        catch (FormatException)
        {
            return;
        }

        if (_scriptKey is null)
        {
            AgentPaths.WriteAtomically(paths.ScriptKeyFile, key);
            _scriptKey = key;
            AgentLog.ScriptKeyPinned(logger);
        }
        else if (!_scriptKey.AsSpan().SequenceEqual(key))
        {
            AgentLog.ScriptKeyChanged(logger);
        }
    }

    /// <summary>
    /// Checks the script's signature and body hash against the kept key before anything is written; a script that fails
    /// is answered failed and never touches the disk. The result goes out first, then the command's outcome.
    /// </summary>
    private async Task RunScriptAsync(AgentClient client, CommandFrame command)
    {
        if (ScriptSigning.Verify(command.Arguments, _scriptKey, Scripts.ScriptRunner.Platform, out var script) is { } refused)
        {
            AgentLog.ScriptRefused(logger, command.CommandId, refused);
            await FinishAsync(client, command, false, $"runScript refused: {refused}; nothing was run");
            return;
        }

        var outcome = await scripts.RunAsync(command.CommandId, script!, CancellationToken.None);
        AgentLog.ScriptRan(logger, script!.Name, script.Version, command.CommandId, outcome.ExitCode, outcome.TimedOut);
        var frame = Scripts.ScriptRunner.Fit(
            new ScriptResultFrame(command.CommandId, outcome.ExitCode, outcome.TimedOut, outcome.Milliseconds, outcome.Stdout, outcome.Stderr, outcome.OutputTruncated),
            _maxTextFrameBytes);
        if (!await client.SendAsync(frame))
        {
            return; // not finished: the command comes again after reconnecting and is answered as interrupted
        }

        if (outcome.TimedOut)
        {
            await FinishAsync(client, command, false, $"stopped at its time limit of {script.TimeLimit.TotalSeconds:0} s");
        }
        else
        {
            await FinishAsync(client, command, true, $"exit code {outcome.ExitCode}");
        }
    }

    /// <summary>
    /// A self-update (<see cref="Updates.SelfUpdater"/>). A refused build is answered at once. Otherwise this connection is
    /// closed before the new program's trial connection, the outcome goes into the journal, and: installed, the agent
    /// stops so the service manager starts the new program (exit code <see cref="AgentCli.RestartForUpdate"/>), which
    /// answers the command when the server sends it again; rolled back, this agent connects again and answers it.
    /// </summary>
    private async Task AgentUpdateAsync(AgentClient client, CommandFrame command)
    {
        var closed = false;
        var outcome = await updater.ApplyAsync(command.Arguments, _scriptKey, _secrets!, async () =>
        {
            closed = true;
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "updating");
        }, CancellationToken.None);
        await FinishAsync(client, command, outcome.Installed, outcome.Result);
        if (outcome.Installed)
        {
            status.RestartRequested = true;
            if (!OperatingSystem.IsWindows())
            {
                // The program file is the new one now; a normal shutdown would load code from it (Updates.ProcessExit).
                Updates.ProcessExit.Immediately(AgentCli.RestartForUpdate);
            }

            lifetime.StopApplication();
        }
        else if (closed)
        {
            client.Abort();
        }
    }

    private async Task FinishAsync(AgentClient client, CommandFrame command, bool ok, string result)
    {
        result = result.Length <= ProtocolLimits.MaxLongText ? result : result[..ProtocolLimits.MaxLongText];
        // Written (and flushed) before it is reported: a repeat after any crash is answered, never run again.
        journal.Finish(command.CommandId, command.ExpiresAt, ok, result);
        await AnswerAsync(client, command, ok, result);
    }

    private async Task AnswerAsync(AgentClient client, CommandFrame command, bool ok, string result)
    {
        AgentLog.CommandAnswered(logger, command.CommandId, command.Kind, ok ? CommandStatusValues.Succeeded : CommandStatusValues.Failed, result);
        await client.SendAsync(ok
            ? new CommandStatusFrame(command.CommandId, CommandStatusValues.Succeeded, Result: result)
            : new CommandStatusFrame(command.CommandId, CommandStatusValues.Failed, Error: result));
    }

    /// <summary>
    /// Turns the policy's monitoring on or off, for the stored policy at start and for each new one: foreground
    /// application time (app.usage) while activity monitoring is on, window signals while safety monitoring is, and
    /// safety screenshots while it is and <c>safety.screenshots</c> is on too.
    /// </summary>
    private void ApplyMonitoring(PolicyDocument policy)
    {
        usage.SetEnabled(policy.Boolean("monitoring", "activity"));
        signals.SetEnabled(policy.Boolean("monitoring", "safety"));
        safetyScreenshots.SetEnabled(policy.Boolean("monitoring", "safety") && policy.Boolean("safety", "screenshots"));
    }

    /// <summary>Applies a policy once per version and reports what could not take effect on this device.</summary>
    private async Task OnPolicyAsync(AgentClient client, PolicyFrame frame)
    {
        if (_policy is { } applied && frame.Version <= applied.Version)
        {
            await client.SendAsync(new PolicyStatusFrame(frame.Version, status.PolicyFailures.Count == 0, status.PolicyFailures.Count == 0 ? null : [.. status.PolicyFailures]));
            return;
        }

        var policy = PolicyDocument.Read(frame.Document);
        var failures = new List<string>();
        var blocked = BlockedPackages(policy);
        LocateBundles(policy);
        blocker.SetBlockedPackages(blocked, BlockedExecutables(policy));
        if (blocked.Count > 0 && blocker.Describe().First() is { Available: false } cannotBlock)
        {
            failures.Add(Cut($"catalog.blockedPackages: not stopped from starting here ({cannotBlock.Reason})"));
        }

        try
        {
            _filter = await CompileFilterAsync(policy);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            // Keep the previous lists until new ones load; the server sends the version again on the next connection.
            await client.SendAsync(new PolicyStatusFrame(frame.Version, false, [Cut($"webFilter: the filter list could not be downloaded ({e.Message})")]));
            return;
        }

        var capabilitiesBefore = browserPolicy.Describe().ToList();
        var (companion, companionFailure) = await CompanionCredentialAsync(policy);
        var browsers = ApplyBrowserPolicy(policy, companion);
        failures.AddRange(browsers.Failures.Select(Cut));
        if (companionFailure is not null)
        {
            failures.Add(Cut(companionFailure));
        }

        var settings = policy.WebFilter;
        if (!browsers.ExtensionWritten && (settings.AllowOnly || settings.BlockedCategories.Count > 0 || settings.BlockedSites.Count > 0))
        {
            // The desktop's browsers are filtered by the Homeroom extension, which only browser policy puts there.
            failures.Add(BrowserPolicyRequest.From(policy)?.ExtensionId is null
                ? "webFilter: desktop browsers are not filtered: no profile gives them the Homeroom extension (desktopBrowsers.extensionId)"
                : "webFilter: desktop browsers are not filtered: the Homeroom extension's browser policy could not be written");
        }

        if (policy.Boolean("device", "locked"))
        {
            failures.Add("device.locked: a scheduled lock is not applied by this agent yet (lock commands are)");
        }

        foreach (var restriction in (string[])["appStore", "bluetooth", "camera", "screenCapture", "usbStorage"])
        {
            if (!policy.Boolean("restrictions", restriction))
            {
                failures.Add($"restrictions.{restriction}: not enforced by this agent yet");
            }
        }

        ApplyMonitoring(policy);
        _policy = new AppliedPolicy(frame.Version, frame.Document.Clone());
        AgentPaths.WriteAtomically(paths.PolicyFile, JsonSerializer.SerializeToUtf8Bytes(_policy, AgentStateJsonContext.Default.AppliedPolicy));
        status.PolicyVersion = frame.Version;
        status.PolicyFailures = failures;
        AgentLog.PolicyApplied(logger, frame.Version, failures.Count);
        await client.SendAsync(new PolicyStatusFrame(frame.Version, failures.Count == 0, failures.Count == 0 ? null : failures.Take(64).ToList()));
        if (!browserPolicy.Describe().SequenceEqual(capabilitiesBefore))
        {
            await SendInventoryAsync(client); // the console's view of browser.policy and browser.webFilter follows at once
        }
    }

    /// <summary>
    /// On each connection: while the applied policy gives the browsers the extension and the kept companion credential is
    /// missing or half through its life, a new one is written (a policy that does not change would otherwise let it expire).
    /// </summary>
    private async Task RenewCompanionAsync()
    {
        if (_policy is not { } held || !companions.Due(_secrets?.DeviceId))
        {
            return;
        }

        var document = PolicyDocument.Read(held.Document);
        if (BrowserPolicyRequest.From(document)?.ExtensionId is null)
        {
            return;
        }

        var (credential, _) = await CompanionCredentialAsync(document);
        if (credential is not null)
        {
            ApplyBrowserPolicy(document, credential);
        }
    }

    /// <summary>
    /// The companion credential to write while the policy gives the browsers the Homeroom extension (obtained or renewed
    /// from the server), or null with why not; with no extension asked for, the kept one is given back (the server then
    /// revokes the extensions enrolled with it).
    /// </summary>
    private async Task<(string? Credential, string? Failure)> CompanionCredentialAsync(PolicyDocument policy)
    {
        try
        {
            if (BrowserPolicyRequest.From(policy)?.ExtensionId is null)
            {
                await companions.ReleaseAsync(_secrets, CancellationToken.None);
                return (null, null);
            }

            if (_secrets is not { DeviceId: not null, Credential: not null } secrets)
            {
                return (null, "desktopBrowsers: the Homeroom extension cannot enroll: the agent is not enrolled");
            }

            return ((await companions.EnsureAsync(secrets, CancellationToken.None)).Credential, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or JsonException)
        {
            AgentLog.BrowserPolicyFailed(logger, $"companion credential: {e.Message}");
            return (companions.Cached(_secrets?.DeviceId)?.Credential, companions.Cached(_secrets?.DeviceId) is null
                ? $"desktopBrowsers: the Homeroom extension cannot enroll: no companion credential from the server ({e.Message})"
                : null);
        }
    }

    /// <summary>
    /// Gives the desktop browsers what the policy's <c>desktopBrowsers.*</c> asks (or takes Homeroom's policy away): the
    /// extension's configuration carries the device's companion credential, never a district enrollment token.
    /// </summary>
    private BrowserPolicyOutcome ApplyBrowserPolicy(PolicyDocument policy, string? companionCredential)
    {
        var request = BrowserPolicyRequest.From(policy) is { } asked ? BrowserPolicyContent.WithCompanion(asked, companionCredential, _secrets?.Server) : null;
        var outcome = browserPolicy.Apply(request);
        foreach (var changed in outcome.Changed)
        {
            AgentLog.BrowserPolicyChanged(logger, changed);
        }

        foreach (var failure in outcome.Failures)
        {
            AgentLog.BrowserPolicyFailed(logger, failure);
        }

        return outcome;
    }

    private async Task<WebFilter> CompileFilterAsync(PolicyDocument policy)
    {
        var list = FilterList.Empty;
        if (policy.ListCategories.Count > 0 && _secrets is { DeviceId: { } id, Credential: { } credential } secrets)
        {
            using var request = AgentProtocol.FilterListRequest(secrets.Server, id, credential, policy.ListCategories);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            list = await FilterListText.ReadAsync(reader, CancellationToken.None);
        }

        return WebFilter.Compile(list, policy.WebFilter);
    }

    /// <summary>A package command's Mac arguments (none on other platforms), each checked as the catalog checks it; null when one is malformed.</summary>
    private static PackageSource? PackageSourceOf(IReadOnlyDictionary<string, string>? arguments)
    {
        var url = arguments?.GetValueOrDefault("packageUrl");
        var sha256 = arguments?.GetValueOrDefault("sha256");
        var appPath = arguments?.GetValueOrDefault("appPath");
        var bundleId = arguments?.GetValueOrDefault("bundleId");
        if ((url is not null && !Rules.Apps.AppIdentity.IsPackageUrl(url)) || (sha256 is not null && !Rules.Apps.AppIdentity.IsSha256(sha256))
            || (appPath is not null && !Rules.Apps.AppIdentity.IsMacAppPath(appPath)) || (bundleId is not null && !Rules.Apps.AppIdentity.IsBundleId(bundleId)))
        {
            return null;
        }

        return new PackageSource(url is null ? null : new Uri(url), sha256, appPath, bundleId);
    }

    /// <summary>The app bundles the policy names for blocked Mac packages (<c>catalog.blockedAppBundles</c>), handed to the package capability.</summary>
    private void LocateBundles(PolicyDocument policy)
    {
        foreach (var (package, paths) in policy.StringLists("catalog", "blockedAppBundles").Where(p => PackageIds.IsValid(p.Key)).Take(1_000))
        {
            foreach (var path in paths.Where(Rules.Apps.AppIdentity.IsMacAppPath).Take(1))
            {
                packages.Locate(package, path);
            }
        }
    }

    /// <summary>The policy's blocked packages that are package ids, at most 1,000.</summary>
    private static List<string> BlockedPackages(PolicyDocument policy) =>
        policy.Strings("catalog", "blockedPackages").Where(PackageIds.IsValid).Take(1_000).ToList();

    /// <summary>The programs the policy names for blocked packages (Windows), each a program file name, at most 10 a package.</summary>
    private static Dictionary<string, IReadOnlyList<string>> BlockedExecutables(PolicyDocument policy) =>
        policy.StringLists("catalog", "blockedExecutables")
            .Where(p => PackageIds.IsValid(p.Key))
            .Take(1_000)
            .ToDictionary(
                p => p.Key,
                p => (IReadOnlyList<string>)p.Value.Where(Rules.Apps.AppIdentity.IsWindowsExecutable).Take(Rules.Apps.AppIdentity.MaxWindowsExecutables).ToList(),
                StringComparer.Ordinal);

    private static string Cut(string text) => text.Length <= ProtocolLimits.MaxShortText ? text : text[..ProtocolLimits.MaxShortText];

    private static AppliedPolicy? LoadPolicy(AgentPaths paths)
    {
        try
        {
            return File.Exists(paths.PolicyFile) ? JsonSerializer.Deserialize(File.ReadAllBytes(paths.PolicyFile), AgentStateJsonContext.Default.AppliedPolicy) : null;
        }
        catch (JsonException)
        {
            return null; // applied again from the server's next policy frame
        }
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
