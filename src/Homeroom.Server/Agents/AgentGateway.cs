using System.Net.WebSockets;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Rules.Throttling;
using Homeroom.Server.Accounts;
using Homeroom.Server.Activity;
using Homeroom.Server.Classroom;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Homeroom.Server.Safety;
using Homeroom.Server.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Agents;

/// <summary>
/// Runs one agent WebSocket from handshake to close: authenticates the first frame, registers the
/// connection, delivers pending commands, then reads frames and routes each to its writer. No thread
/// is held while waiting; all state is per connection or in the shared singletons.
/// </summary>
public sealed class AgentGateway(
    ConnectionRegistry registry,
    IDbContextFactory<HomeroomDbContext> dbFactory,
    PresenceTracker presence,
    ActivityWriter activityWriter,
    ActivityBudget activityBudget,
    InventoryWriter inventoryWriter,
    AppSnapshotWriter appSnapshots,
    CommandStatusWriter commandStatusWriter,
    CommandDispatcher dispatcher,
    CommandProgress progress,
    PolicyDistributor policies,
    LocationTracker locations,
    ScreenViews screenViews,
    DeviceLiveState live,
    ServerMetrics metrics,
    SafetyIngestion safety,
    SafetyCaptures safetyCaptures,
    HelpRequests help,
    AgentWatch watch,
    Diagnostics.DiagnosticsStore diagnostics,
    SharedDeviceSignIn signIn,
    Scripts.ScriptResultWriter scriptResults,
    Scripts.ScriptSigningKey scriptSigningKey,
    SelfUpdates.AgentUpdateOffers agentUpdates,
    RemoteSupport.RemoteSessions remoteSessions,
    Hosting.Cluster.BackplanePublisher backplane,
    IOptions<AgentOptions> options,
    IHostApplicationLifetime lifetime,
    ShutdownDrain drain,
    TimeProvider time,
    ILogger<AgentGateway> logger)
{
    private readonly AgentOptions _options = options.Value;

    public async Task RunAsync(HttpContext context)
    {
        var remote = context.Connection.RemoteIpAddress?.ToString();
        var subProtocol = context.WebSockets.WebSocketRequestedProtocols.Contains(AgentProtocol.SubProtocol) ? AgentProtocol.SubProtocol : null;
        var (socket, guard) = await AgentSocketAcceptor.AcceptAsync(
            context, subProtocol, TimeSpan.FromSeconds(Math.Max(15, _options.HeartbeatIntervalSeconds)), _options.MaxTextFrameBytes, _options.MaxBinaryFrameBytes);
        using var _ = socket;
        using var reader = new MessageReader(_options.MaxTextFrameBytes, _options.MaxBinaryFrameBytes);
        // Not the host's stopping token: a stopping node holds its agents until the drain is over (ShutdownDrain).
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, drain.Drained);
        AuthenticatedDevice? device = null;
        try
        {
            device = await AuthenticateAsync(socket, reader, remote, stopping.Token);
            if (device is null)
            {
                return;
            }

            await RunAuthenticatedAsync(socket, guard, reader, device, remote, stopping.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException && guard.Refused)
        {
            // The guard sent 4413 and ended the stream at the header of an oversized frame (logged
            // with the device once authenticated).
            if (device is null)
            {
                AgentsLog.Rejected(logger, remote, AgentCloseCodes.FrameTooLarge, $"frame header declared {guard.RefusedLength} bytes");
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client vanished mid-frame or the server is stopping; nothing was half-written
            // because every frame is applied only once it has been read whole.
            AgentsLog.Aborted(logger, ex.Message);
        }
        catch (Exception ex)
        {
            AgentsLog.ServerFault(logger, ex);
            await RejectAsync(socket, remote, AgentCloseCodes.ServerError, "server error", drain: false);
        }
    }

    // CompanionOf: for a desktop's browser extension, the desktop (what it reports is the desktop's).
    private sealed record AuthenticatedDevice(Guid Id, long ActivitySeq, long PolicyVersion, DevicePlatform Platform, Guid? SignedInPersonId, Guid? CompanionOf);

    private async Task<AuthenticatedDevice?> AuthenticateAsync(WebSocket socket, MessageReader reader, string? remote, CancellationToken cancellationToken)
    {
        // Cancelling a WebSocket read aborts the socket, and the agent would never see why; so on
        // timeout the close frame is sent while the read is still pending.
        var read = reader.ReadAsync(socket, cancellationToken);
        var timeout = Task.Delay(TimeSpan.FromSeconds(_options.AuthTimeoutSeconds), time, cancellationToken);
        if (await Task.WhenAny(read, timeout) != read)
        {
            await RejectAsync(socket, remote, AgentCloseCodes.AuthenticationTimeout, "no auth frame in time", drain: false);
            await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(5), time, CancellationToken.None));
            socket.Abort();
            _ = read.ContinueWith(static t => t.Exception, TaskScheduler.Default);
            return null;
        }

        var outcome = await read;
        switch (outcome)
        {
            case ReadOutcome.Closed:
                return null;
            case ReadOutcome.TooLarge:
                await RejectAsync(socket, remote, AgentCloseCodes.FrameTooLarge, "frame too large");
                return null;
            case ReadOutcome.Binary:
                await RejectAsync(socket, remote, AgentCloseCodes.AuthenticationFailed, "first frame must be auth");
                return null;
        }

        var error = AgentFrameCodec.TryRead(reader.Message, out var frame, out _);
        if (error != FrameReadError.None || frame is not AuthFrame auth || AgentFrameValidator.Validate(auth) is not null)
        {
            await RejectAsync(socket, remote, AgentCloseCodes.AuthenticationFailed, "first frame must be a valid auth frame");
            return null;
        }

        if (auth.ProtocolVersion != AgentProtocol.Version)
        {
            await RejectAsync(socket, remote, AgentCloseCodes.UnsupportedProtocolVersion, $"server speaks protocol {AgentProtocol.Version}");
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await db.Devices.AsNoTracking()
            .Where(d => d.Id == auth.DeviceId)
            .Select(d => new { d.Id, d.CredentialHash, d.RevokedAt, d.ActivitySeq, d.PolicyVersionApplied, d.AgentVersion, d.Platform, d.SignedInPersonId, d.CompanionOf })
            .FirstOrDefaultAsync(cancellationToken);
        if (device?.RevokedAt is not null)
        {
            await RejectAsync(socket, remote, AgentCloseCodes.DeviceRevoked, "device revoked");
            return null;
        }

        if (device is null || !Secrets.Matches(auth.Credential, device.CredentialHash))
        {
            await RejectAsync(socket, remote, AgentCloseCodes.AuthenticationFailed, "unknown device or wrong credential");
            return null;
        }

        if (auth.AgentVersion is not null && auth.AgentVersion != device.AgentVersion)
        {
            await db.Devices.Where(d => d.Id == device.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.AgentVersion, auth.AgentVersion), cancellationToken);
        }

        return new AuthenticatedDevice(device.Id, device.ActivitySeq, device.PolicyVersionApplied, device.Platform, device.SignedInPersonId, device.CompanionOf);
    }

    // An agent older than its platform's current build is sent an agentUpdate command; a failure here never ends the connection.
    private async Task OfferAgentUpdateAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        try
        {
            await agentUpdates.OfferAsync(deviceId, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            AgentsLog.ServerFault(logger, e);
        }
    }

    // A waiting agentUpdate for a build the device should no longer take (a pilot it left, or one withdrawn) must not be sent again on connect.
    private async Task ExpireStaleAgentUpdatesAsync(Guid deviceId, DevicePlatform platform, CancellationToken cancellationToken)
    {
        try
        {
            await agentUpdates.ExpireStaleAsync(deviceId, platform, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            AgentsLog.ServerFault(logger, e);
        }
    }

    private async Task RejectAsync(WebSocket socket, string? remote, int code, string reason, bool drain = true)
    {
        AgentsLog.Rejected(logger, remote, code, reason);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
            {
                socket.Abort();
                return;
            }

            await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token);
            if (drain)
            {
                // Wait briefly for the agent's closing reply so the close completes cleanly.
                var scratch = new byte[256];
                while (socket.State == WebSocketState.CloseSent)
                {
                    await socket.ReceiveAsync(scratch.AsMemory(), timeout.Token);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or InvalidOperationException or ObjectDisposedException)
        {
            socket.Abort();
        }
    }

    private async Task RunAuthenticatedAsync(WebSocket socket, FrameLimitStream guard, MessageReader reader, AuthenticatedDevice device, string? remote, CancellationToken stopping)
    {
        using var connection = new AgentConnection(device.Id, socket, TimeSpan.FromSeconds(_options.SendTimeoutSeconds))
        {
            ConnectedAt = time.GetUtcNow().UtcDateTime,
            CompanionOf = device.CompanionOf,
            PolicyVersion = device.PolicyVersion,
        };
        signIn.Connected(device.Id, device.SignedInPersonId);
        registry.Register(connection);
        // On PostgreSQL, tells the other nodes: an older connection of this device on one of them is closed.
        backplane.Connected(connection);
        watch.Connected(device.Id);
        presence.Touch(device.Id);
        live.Touch(device.Id);
        AgentsLog.Connected(logger, device.Id, remote);
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(stopping, connection.Aborting);
        var session = new Session(device.Id, device.ActivitySeq, new TokenBucket(_options.MessagesPerSecond, _options.MessageBurst, time.GetTimestamp()))
        {
            AttributedTo = device.CompanionOf ?? device.Id,
            Address = System.Net.IPAddress.TryParse(remote, out var address) ? address : null,
        };
        try
        {
            // Registered above, so commands and policies may already be sending: they wait for this.
            await connection.SendWelcomeAsync(new WelcomeFrame(
                device.Id, time.GetUtcNow(), _options.HeartbeatIntervalSeconds, device.ActivitySeq, device.PolicyVersion,
                _options.MaxTextFrameBytes, _options.MessagesPerSecond, scriptSigningKey.PublicKeyBase64));
            await ExpireStaleAgentUpdatesAsync(device.Id, device.Platform, abort.Token);
            await dispatcher.DeliverPendingAsync(connection, abort.Token);
            await OfferAgentUpdateAsync(device.Id, abort.Token);
            policies.DeviceConnected(device.Id, device.PolicyVersion);
            await screenViews.OnConnectedAsync(connection);
            await help.SendRecentAsync(connection, abort.Token);

            while (socket.State == WebSocketState.Open || (socket.State == WebSocketState.CloseSent && connection.CloseCode is not null))
            {
                var outcome = await reader.ReadAsync(socket, abort.Token);
                if (outcome == ReadOutcome.Closed)
                {
                    if (connection.CloseCode is null)
                    {
                        // The agent said goodbye; answer in kind.
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    }

                    break;
                }

                if (connection.CloseCode is not null)
                {
                    continue; // Closing: whatever still arrives is discarded.
                }

                if (!session.Bucket.TryTake(time.GetTimestamp()))
                {
                    Violation(connection, AgentCloseCodes.RateLimited, "too many frames");
                    continue;
                }

                switch (outcome)
                {
                    case ReadOutcome.TooLarge:
                        Violation(connection, AgentCloseCodes.FrameTooLarge, "frame too large");
                        break;
                    case ReadOutcome.Binary:
                        metrics.BinaryFrameReceived();
                        await HandleBinaryAsync(connection, session, reader.MessageMemory);
                        break;
                    default:
                        if (ReadTextFrame(connection, reader.Message) is { } frame)
                        {
                            metrics.FrameReceived(frame);
                            await HandleFrameAsync(connection, session, frame);
                        }

                        break;
                }
            }
        }
        catch (OperationCanceledException) when (connection.Aborting.IsCancellationRequested)
        {
            socket.Abort();
        }
        finally
        {
            // Only the server's own shutdown excuses the watch: `stopping` also fires when the client's connection
            // drops (the request is aborted), which is exactly what the watch must hear about.
            if (registry.Unregister(connection) && connection.CloseCode is null && !lifetime.ApplicationStopping.IsCancellationRequested)
            {
                watch.Disconnected(device.Id, device.Platform, (int?)socket.CloseStatus, socket.CloseStatusDescription);
            }

            presence.Touch(device.Id);
            live.Touch(device.Id);
            await remoteSessions.OnDisconnectedAsync(device.Id);
            if (guard.Refused)
            {
                AgentsLog.Violation(logger, device.Id, AgentCloseCodes.FrameTooLarge, $"frame header declared {guard.RefusedLength} bytes");
            }

            AgentsLog.Disconnected(
                logger,
                device.Id,
                connection.CloseCode ?? (guard.Refused ? AgentCloseCodes.FrameTooLarge : (int?)socket.CloseStatus),
                connection.CloseReason ?? (guard.Refused ? "frame too large" : socket.CloseStatusDescription));
        }

        if (stopping.IsCancellationRequested && socket.State == WebSocketState.Open)
        {
            connection.RequestClose(AgentCloseCodes.ServerShuttingDown, "server stopping");
        }
    }

    private sealed class Session(Guid deviceId, long activitySeq, TokenBucket bucket)
    {
        public Guid DeviceId { get; } = deviceId;
        public long ActivityAckedSeq { get; set; } = activitySeq;

        /// <summary>Completes when the last activity batch this connection queued is handled.</summary>
        public Task<bool> LastStore { get; set; } = Task.FromResult(true);

        public TokenBucket Bucket = bucket;

        /// <summary>
        /// The device what this connection reports is the student's activity on: itself, or for a desktop's browser
        /// extension (a companion) the desktop, so safety signals, the classroom's page and the student are the desktop's.
        /// </summary>
        public Guid AttributedTo { get; init; } = deviceId;

        /// <summary>The address the connection comes from, after trusted proxies (for school-network zones).</summary>
        public System.Net.IPAddress? Address { get; init; }
    }

    private void Violation(AgentConnection connection, int code, string reason)
    {
        metrics.Violation(code);
        AgentsLog.Violation(logger, connection.DeviceId, code, reason);
        connection.RequestClose(code, reason);
    }

    private async Task HandleBinaryAsync(AgentConnection connection, Session session, ReadOnlyMemory<byte> message)
    {
        if (message.Length > 0 && message.Span[0] == SafetyScreenshotFrame.Kind)
        {
            if (!SafetyScreenshotFrame.TryDecode(message.Span, out _, out _, out _, out _))
            {
                Violation(connection, AgentCloseCodes.MalformedFrame, "malformed safety screenshot");
                return;
            }

            // Stored only when it answers a capture the server asked this device for, in time; else dropped.
            await safetyCaptures.AcceptAsync(session.AttributedTo, message);
            live.Touch(connection.DeviceId);
            return;
        }

        if (message.Length > 0 && message.Span[0] == RemoteScreenFrame.Kind)
        {
            if (!RemoteScreenFrame.TryDecode(message.Span, out var sessionId, out _, out var width, out var height, out _))
            {
                Violation(connection, AgentCloseCodes.MalformedFrame, "malformed remote screen update");
                return;
            }

            // Relayed only for this device's session after the student's answer; otherwise dropped unread.
            remoteSessions.OnScreen(connection.DeviceId, message, sessionId, width, height);
            return;
        }

        if (!ThumbnailFrame.TryDecode(message.Span, out _, out _, out _))
        {
            Violation(connection, AgentCloseCodes.MalformedFrame, "unknown binary frame");
            return;
        }

        // Kept (undecoded) only while a teacher watches this device; otherwise dropped unread.
        if (screenViews.Accept(connection, message.Span))
        {
            live.Touch(connection.CompanionOf ?? connection.DeviceId);
        }
    }

    /// <summary>Parses and validates a text frame; null (and the connection closing) when it breaks a rule.</summary>
    private AgentFrame? ReadTextFrame(AgentConnection connection, ReadOnlySpan<byte> message)
    {
        var error = AgentFrameCodec.TryRead(message, out var frame, out var type);
        if (error == FrameReadError.UnknownType)
        {
            Violation(connection, AgentCloseCodes.UnknownFrameType, $"unknown frame type '{Truncate(type)}'");
            return null;
        }

        if (error != FrameReadError.None || frame is null)
        {
            Violation(connection, AgentCloseCodes.MalformedFrame, "malformed frame");
            return null;
        }

        if (frame is AuthFrame)
        {
            Violation(connection, AgentCloseCodes.MalformedFrame, "already authenticated");
            return null;
        }

        if (AgentFrameValidator.Validate(frame) is { } reason)
        {
            Violation(connection, AgentCloseCodes.MalformedFrame, reason);
            return null;
        }

        return frame;
    }

    private async Task HandleFrameAsync(AgentConnection connection, Session session, AgentFrame frame)
    {
        var deviceId = session.DeviceId;
        var now = time.GetUtcNow().UtcDateTime;
        switch (frame)
        {
            case HeartbeatFrame heartbeat:
                // The network the device is on now first, then its fix. A fix the tracker refuses (stale, from
                // the future, flooding, not allowed by policy) or may not keep (at home) is not kept as the
                // device's last position either; the connection stays up.
                // A desktop's browser extension reports where the desktop is.
                await locations.ObserveNetworkAsync(session.AttributedTo, session.Address, heartbeat.Network?.IpAddress, heartbeat.Network is not null);
                if (heartbeat.Location is { } fix && await locations.ObserveAsync(session.AttributedTo, fix) != FixOutcome.Accepted)
                {
                    heartbeat = heartbeat with { Location = null };
                }

                presence.Heartbeat(deviceId, heartbeat);
                break;
            case InventoryFrame inventory:
                presence.Touch(deviceId);
                if (inventory.Capabilities is { } capabilities)
                {
                    live.CapabilitiesReported(deviceId, capabilities);
                }

                await inventoryWriter.EnqueueAsync(new InventoryReport(deviceId, inventory, now));

                // On this device's own loop, so the activity that follows is already the new student's.
                await signIn.ObserveAsync(deviceId, inventory.SignedInUser);
                break;
            case ActivityFrame activity:
                presence.Touch(deviceId);
                await AcceptActivityAsync(connection, session, activity, now);
                break;
            case SignalsFrame signals:
                presence.Touch(deviceId);
                await AcceptSignalsAsync(connection, session, signals);
                break;
            case HelpRequestFrame request:
                presence.Touch(deviceId);
                // From a desktop's browser extension, the desktop's student asks: the request is the desktop's.
                await connection.SendAsync(await help.AcceptAsync(session.AttributedTo, request));
                break;
            case DiagnosticsFrame report:
                // Stored only for a diagnose command sent to this device, once; anything else is ignored (and logged).
                presence.Touch(deviceId);
                await diagnostics.AcceptAsync(deviceId, report);
                break;
            case RemoteSessionStatusFrame remote:
                await remoteSessions.OnStatusAsync(deviceId, remote);
                break;
            case RemoteFileStatusFrame file:
                await remoteSessions.OnFileStatusAsync(deviceId, file);
                break;
            case RemoteFileRequestStatusFrame request:
                // Taken only about the request under way in this device's own session.
                await remoteSessions.OnFileRequestStatusAsync(deviceId, request);
                break;
            case RemoteFileUploadFrame upload:
                await remoteSessions.OnFileUploadAsync(deviceId, upload);
                break;
            case RemoteClipboardContentFrame clipboard:
                // Passed on only as the answer to the read this device's own session asked for.
                await remoteSessions.OnClipboardContentAsync(deviceId, clipboard);
                break;
            case ScriptResultFrame result:
                // Stored only for a runScript command sent to this device, once.
                presence.Touch(deviceId);
                await scriptResults.AcceptAsync(deviceId, result);
                break;
            case CommandStatusFrame status:
                presence.Touch(deviceId);
                if (session.AttributedTo != deviceId && !connection.Carried(status.CommandId))
                {
                    break; // a desktop's browser answers only for the desktop's commands this connection carried
                }

                // A desktop's browser answers on the desktop's delivery: the first final answer is its status.
                var update = new DeliveryUpdate(status.CommandId, session.AttributedTo, ToDeliveryStatus(status.Status), now, status.Error, status.Result);
                if (connection.Carried(status.CommandId))
                {
                    // Live feedback only for commands this connection carried; the stored status
                    // (whose SQL ignores reports on commands not sent to this device) is the truth.
                    progress.Report(update);
                }

                await commandStatusWriter.EnqueueAsync(update);
                break;
            case PolicyStatusFrame policy:
                if (policy.Applied)
                {
                    presence.PolicyApplied(deviceId, policy.Version);
                }
                else
                {
                    presence.Touch(deviceId);
                }

                policies.Report(deviceId, policy);
                break;
            default:
                presence.Touch(deviceId);
                break;
        }
    }

    private async Task AcceptActivityAsync(AgentConnection connection, Session session, ActivityFrame activity, DateTime now)
    {
        // Events the server already stored (a resend after reconnecting) are acknowledged, not re-written.
        var fresh = activity.Events.Where(e => e.Seq > session.ActivityAckedSeq).ToList();
        var through = activity.Events[^1].Seq;
        if (fresh.Count == 0)
        {
            await connection.SendAsync(new ActivityAckFrame(Math.Max(through, session.ActivityAckedSeq)));
            return;
        }

        // The page under each classroom tile: the latest visit, live (blocked attempts do not move it).
        if (fresh.LastOrDefault(e => e.Kind == ActivityKinds.WebVisit && e.Url is not null) is { } visit)
        {
            live.Visited(session.AttributedTo, visit.Url!, visit.Title);
        }

        // Over the device's budget the rest is dropped here, never queued or stored; the ack says how many.
        var allowed = activityBudget.Take(session.DeviceId, fresh.Count);
        int? dropped = allowed < fresh.Count ? fresh.Count - allowed : null;
        if (allowed == 0)
        {
            // Nothing to store, but the ack covers earlier sequence numbers too: it waits for the
            // batch before it, so the agent never forgets events the server has not stored yet.
            _ = AcknowledgeWhenStoredAsync(connection, session, session.LastStore, through, dropped);
            return;
        }

        // A companion's events keep its own record and sequence (the desktop agent numbers its own), with the desktop's student.
        var batch = new ActivityBatch(session.DeviceId, allowed < fresh.Count ? fresh.GetRange(0, allowed) : fresh, now, signIn.PersonOf(session.AttributedTo));
        await activityWriter.EnqueueAsync(batch);
        if (AppSnapshot.From(session.DeviceId, batch.Events) is { } snapshot)
        {
            // Besides the raw events, the newest snapshot is the device's Chrome app list (only events within the budget count).
            await appSnapshots.EnqueueAsync(snapshot);
        }

        session.LastStore = batch.Stored.Task;
        _ = AcknowledgeWhenStoredAsync(connection, session, batch.Stored.Task, through, dropped);
    }

    private async Task AcceptSignalsAsync(AgentConnection connection, Session session, SignalsFrame frame)
    {
        // Scanned and committed before the ack, on this device's own loop: a flood from one device
        // waits on itself only, and its budget drops the excess (the ack says how many).
        // A screenshot is asked of this connection only where it can answer: an agent that says it cannot take one
        // (the desktop agent without a user-session helper, or on a platform without one) is not asked.
        var canCapture = live.Capabilities(session.DeviceId)?.FirstOrDefault(c => c.Name == CapabilityNames.SafetyScreenshot) is not { Available: false };
        var outcome = await safety.IngestAsync(session.AttributedTo, frame.Signals, canCapture);
        await connection.SendAsync(new SignalsAckFrame(frame.Batch, outcome.Dropped > 0 ? outcome.Dropped : null));
        foreach (var captureId in outcome.Captures)
        {
            await connection.SendAsync(new SafetyCaptureFrame(captureId));
        }
    }

    private static async Task AcknowledgeWhenStoredAsync(AgentConnection connection, Session session, Task<bool> stored, long through, int? dropped)
    {
        if (await stored)
        {
            lock (session)
            {
                session.ActivityAckedSeq = Math.Max(session.ActivityAckedSeq, through);
            }

            await connection.SendAsync(new ActivityAckFrame(through, dropped));
        }
    }

    private static DeliveryStatus ToDeliveryStatus(string status) => status switch
    {
        CommandStatusValues.Acknowledged => DeliveryStatus.Acknowledged,
        CommandStatusValues.Succeeded => DeliveryStatus.Succeeded,
        _ => DeliveryStatus.Failed,
    };

    private static string Truncate(string? value) => value is null ? string.Empty : value.Length > 40 ? value[..40] : value;
}
