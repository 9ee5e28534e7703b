using System.Collections.Concurrent;
using System.Threading.Channels;
using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.Agents;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Hosting.Cluster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.RemoteSupport;

/// <summary>A remote session as the API shows it.</summary>
public sealed record RemoteSessionDto(
    Guid Id, Guid DeviceId, string TechnicianName, string Mode, bool ConsentRequired, string Consent, string State,
    DateTime StartedAt, DateTime? AnsweredAt, DateTime? EndedAt, string? EndReason, long BytesSent, long FramesSent, long InputEvents);

/// <summary>A device's remote support: whether a session can be started (and why not), the live one, and the recent ones.</summary>
/// <param name="Available">Whether a session can start now.</param>
/// <param name="UnavailableReason">Why not, when it cannot.</param>
/// <param name="Current">The open session, if any.</param>
/// <param name="Recent">The last sessions, newest first.</param>
/// <param name="ControlUnavailableReason">Why control cannot be offered when only view can (a Chromebook's extension); null otherwise.</param>
/// <param name="ConsentRequired">Whether the student will be asked to allow a session the caller starts (false: only told), as the device's school's settings say.</param>
/// <param name="ClipboardUnavailableReason">Why clipboard text cannot be sent in a control session (the school's settings, the device's agent); null when it can.</param>
/// <param name="FileTransferUnavailableReason">Why files cannot be sent in a control session (the school's settings, the device's agent); null when they can.</param>
/// <param name="MaxFileBytes">The largest file that may be sent (<c>Homeroom:RemoteSupport:MaxFileBytes</c>).</param>
/// <param name="DeviceClipboardUnavailableReason">Why the device's clipboard cannot be read in a control session (the school's settings, the device's agent); null when it can.</param>
/// <param name="DeviceFileUnavailableReason">Why a file cannot be asked of the device in a control session (the school's settings, the device's agent); null when it can.</param>
public sealed record DeviceRemoteSupportDto(
    bool Available, string? UnavailableReason, RemoteSessionDto? Current, List<RemoteSessionDto> Recent, string? ControlUnavailableReason = null, bool ConsentRequired = true,
    string? ClipboardUnavailableReason = null, string? FileTransferUnavailableReason = null, long MaxFileBytes = 0, string? DeviceClipboardUnavailableReason = null,
    string? DeviceFileUnavailableReason = null);

/// <summary>A file asked of the device: the transfer that answers it and the path asked for.</summary>
/// <param name="TransferId">The request; the device's answers (allowed, denied, refused, ready) reach the session socket with it.</param>
/// <param name="Path">The path asked for, relative to the signed-in user's home folder.</param>
/// <param name="State"><c>asked</c>: the device was asked; the student decides.</param>
public sealed record DeviceFileRequestDto(Guid TransferId, string Path, string State);

/// <summary>The request to ask the device for a file.</summary>
/// <param name="Path">The file, relative to the signed-in user's home folder (<see cref="RemoteFileLimits.ValidateRequestPath"/>).</param>
public sealed record RequestDeviceFileRequest(string? Path);

/// <summary>A file on its way to the device: the name it was sent under (a safe one when the given name was not), its size and SHA-256.</summary>
/// <param name="TransferId">The transfer; the device's answer (saved or refused) reaches the session socket with it.</param>
/// <param name="Name">The name sent to the device.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Sha256">The SHA-256 of the file, lowercase hex.</param>
/// <param name="State"><c>sent</c>: every chunk went to the device.</param>
public sealed record RemoteFileTransferDto(Guid TransferId, string Name, long Size, string Sha256, string State);

/// <summary>The request to start a session.</summary>
/// <param name="Mode"><c>view</c> or <c>control</c>.</param>
public sealed record StartRemoteSessionRequest(string? Mode);

/// <summary>
/// What the technician's console is sent on the session socket besides the screen updates (binary, as the device sent them):
/// <c>state</c>, <c>clipboard</c> (<c>sent</c> or <c>refused</c>), <c>deviceClipboard</c> (<c>received</c> with the device's
/// clipboard <paramref name="Text"/>, or <c>refused</c>), <c>file</c> (<c>sent</c>, <c>saved</c> or <c>refused</c>, with the
/// file's <paramref name="Name"/> and its <paramref name="TransferId"/>) and <c>deviceFile</c> (<c>asked</c>, <c>allowed</c>,
/// <c>ready</c> with the <paramref name="Size"/> and <paramref name="Sha256"/> of the file to download, <c>denied</c>,
/// <c>refused</c> or <c>expired</c>).
/// </summary>
public sealed record RemoteViewerState(
    string Type, string State, string Mode, string? Reason, string? Name = null, Guid? TransferId = null, string? Text = null, long? Size = null, string? Sha256 = null);

/// <summary>
/// Live remote support sessions, one per device at most, and their records. A technician starts a session where the device's
/// school allows it (<see cref="RemoteSupportSettingsDirectory"/>; stored and audited; the device is sent a <c>remoteSession</c>
/// frame saying whether the student must consent, as the school's settings say for the caller's role); the device answers
/// with <c>accepted</c> or <c>declined</c>; screen updates (binary kind 4) are passed to the technician's console socket
/// unchanged, and only after the answer was <c>accepted</c>, and deliveries are acknowledged to the device in batches
/// (a cumulative <c>remoteAck</c> at most every <see cref="RemoteSupportOptions.AckInterval"/> or
/// <see cref="RemoteSupportOptions.AckBytes"/>) so it can adapt; input from the console goes to the device only in control mode. A session ends when the technician or the
/// student ends it, when the device or the console goes away, after <see cref="RemoteSupportOptions.IdleTimeout"/>
/// without input, or at <see cref="RemoteSupportOptions.MaxDuration"/>; the end is stored and audited.
/// </summary>
public sealed class RemoteSessions(
    ConnectionRegistry registry, DeviceLiveState live, IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit,
    RemoteSupportSettingsDirectory settings, IOptions<RemoteSupportOptions> options, JobLeases leases, TimeProvider time, ILogger<RemoteSessions> logger)
    : PeriodicTask(TimeSpan.FromSeconds(1), leases, time, logger)
{
    /// <summary>Live sessions are held by the node the device and the technician's console are connected to.</summary>
    public override bool RunsOnEveryNode => true;

    /// <summary>States of a live session.</summary>
    public static class States
    {
        public const string Waiting = "waiting";
        public const string Streaming = "streaming";
        public const string Ended = "ended";
    }

    /// <summary>One live session.</summary>
    public sealed class Live(RemoteSessionRecord record)
    {
        public RemoteSessionRecord Record { get; } = record;

        /// <summary>Whether the school's settings allowed the clipboard when the session started (a session keeps the terms it started with).</summary>
        public bool ClipboardAllowed { get; init; }

        /// <summary>Whether the school's settings allowed file transfer when the session started.</summary>
        public bool FileTransferAllowed { get; init; }

        /// <summary>Whether a file is being sent now (one at a time per session).</summary>
        public bool Sending { get; set; }

        /// <summary>The read of the device's clipboard waiting for the device's answer (one at a time), and when it was asked.</summary>
        public (Guid Id, DateTimeOffset At)? ClipboardRead { get; set; }

        /// <summary>The file asked of the device and not yet whole (one at a time).</summary>
        public DeviceFile? Fetching { get; set; }

        /// <summary>The last file that came from the device whole and verified, kept in memory for the technician to download.</summary>
        public DeviceFile? Fetched { get; set; }

        /// <summary>Files sent whose answer from the device has not come yet: their name.</summary>
        public Dictionary<Guid, string> AwaitingAnswer { get; } = [];

        public Lock Gate { get; } = new();

        public string State { get; set; } = States.Waiting;

        public DateTimeOffset LastInputAt { get; set; }

        public int ScreenWidth { get; set; }

        public int ScreenHeight { get; set; }

        /// <summary>What the console socket sends: state messages (text) and screen updates (binary), in order.</summary>
        public Channel<(bool Binary, ReadOnlyMemory<byte> Payload)> Outgoing { get; } =
            Channel.CreateBounded<(bool, ReadOnlyMemory<byte>)>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

        /// <summary>The newest update delivered to the console and not yet acknowledged to the device (0: none).</summary>
        public long UnackedSequence { get; set; }

        /// <summary>Bytes delivered since the last acknowledgement.</summary>
        public long UnackedBytes { get; set; }

        /// <summary>When the oldest update not yet acknowledged was delivered.</summary>
        public DateTimeOffset UnackedSince { get; set; }

        /// <summary>Acknowledgements sent to the device.</summary>
        public long AcksSent { get; set; }

        /// <summary>Whether a console socket is attached (one at a time).</summary>
        public bool ViewerAttached { get; set; }
    }

    /// <summary>A file asked of the device: its path, then its chunks as they come (in memory only), then the whole verified file.</summary>
    public sealed class DeviceFile(Guid transferId, string path, DateTimeOffset askedAt)
    {
        public Guid TransferId => transferId;

        public string Path => path;

        /// <summary>When the device was asked, or last sent something about it (an answer, a chunk).</summary>
        public DateTimeOffset LastActivity { get; set; } = askedAt;

        /// <summary>When it became whole and verified.</summary>
        public DateTimeOffset? ReadyAt { get; set; }

        public string? Name { get; set; }

        public long Size { get; set; }

        public string? Sha256 { get; set; }

        public byte[]? Content { get; set; }

        public long Received { get; set; }
    }

    /// <summary>How long a file request waits for the device (the student has 60 seconds to answer; then each chunk must follow within it).</summary>
    public static readonly TimeSpan FileRequestTimeout = TimeSpan.FromSeconds(90);

    private readonly ConcurrentDictionary<Guid, Live> _byDevice = new();

    /// <summary>Why control is refused on a device whose agent offers view only.</summary>
    public const string ViewOnlyReason = "an extension cannot inject input on a Chromebook, so only viewing is offered";

    /// <summary>Whether this device's agent can take a session now; the reason when not.</summary>
    public string? Unavailable(Guid deviceId) => Unavailable(deviceId, live.Capabilities(deviceId));

    // The same with the capabilities to judge by (DeviceLiveState.Capabilities(Guid, string?) where the stored list is at hand).
    private string? Unavailable(Guid deviceId, IReadOnlyList<AgentCapability>? capabilities)
    {
        if (!registry.IsOnline(deviceId))
        {
            return "the device is offline";
        }

        var capability = Capability(capabilities);
        return capability switch
        {
            null => "the device's agent does not offer remote sessions (agents and extensions older than this feature)",
            { Available: false } => capability.Reason ?? "the device's agent cannot start a remote session now",
            _ => null,
        };
    }

    /// <summary>Why the clipboard cannot be sent to this device under <paramref name="policy"/>; null when it can.</summary>
    public string? ClipboardUnavailable(IReadOnlyList<AgentCapability>? capabilities, RemoteSupportPolicyDto policy)
    {
        return policy.ClipboardAllowed ? ClipboardCapabilityMissing(capabilities) : ClipboardOffReason;
    }

    // Why the device's agent cannot take clipboard text now; null when it can.
    private static string? ClipboardCapabilityMissing(IReadOnlyList<AgentCapability>? capabilities)
    {
        var capability = capabilities?.FirstOrDefault(c => c.Name == CapabilityNames.RemoteClipboard);
        return capability switch
        {
            null => "the device's agent does not take clipboard text",
            { Available: false } => capability.Reason ?? "the device's agent cannot take clipboard text now",
            _ => null,
        };
    }

    /// <summary>Why the device's clipboard cannot be read for the technician under <paramref name="policy"/>; null when it can.</summary>
    public string? DeviceClipboardUnavailable(IReadOnlyList<AgentCapability>? capabilities, RemoteSupportPolicyDto policy)
    {
        return policy.ClipboardAllowed ? ClipboardReadCapabilityMissing(capabilities) : ClipboardOffReason;
    }

    // Why the device's agent cannot read its clipboard now; null when it can.
    private static string? ClipboardReadCapabilityMissing(IReadOnlyList<AgentCapability>? capabilities)
    {
        var capability = capabilities?.FirstOrDefault(c => c.Name == CapabilityNames.RemoteClipboardRead);
        return capability switch
        {
            null => "the device's agent does not read its clipboard for the technician",
            { Available: false } => capability.Reason ?? "the device's agent cannot read its clipboard now",
            _ => null,
        };
    }

    /// <summary>How long a read of the device's clipboard waits for the device's answer before another may be asked.</summary>
    public static readonly TimeSpan ClipboardReadTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Why files cannot be sent to this device under <paramref name="policy"/>; null when they can.</summary>
    public string? FileTransferUnavailable(IReadOnlyList<AgentCapability>? capabilities, RemoteSupportPolicyDto policy)
    {
        return policy.FileTransferAllowed ? FileCapabilityMissing(capabilities) : FileTransferOffReason;
    }

    // Why the device's agent cannot take files now; null when it can.
    private static string? FileCapabilityMissing(IReadOnlyList<AgentCapability>? capabilities)
    {
        var capability = capabilities?.FirstOrDefault(c => c.Name == CapabilityNames.RemoteFile);
        return capability switch
        {
            null => "the device's agent does not take files",
            { Available: false } => capability.Reason ?? "the device's agent cannot take files now",
            _ => null,
        };
    }

    /// <summary>Why a file cannot be asked of this device under <paramref name="policy"/>; null when it can.</summary>
    public string? DeviceFileUnavailable(IReadOnlyList<AgentCapability>? capabilities, RemoteSupportPolicyDto policy)
    {
        return policy.FileTransferAllowed ? FileReadCapabilityMissing(capabilities) : FileTransferOffReason;
    }

    // Why the device's agent cannot send a file from the device now; null when it can.
    private static string? FileReadCapabilityMissing(IReadOnlyList<AgentCapability>? capabilities)
    {
        var capability = capabilities?.FirstOrDefault(c => c.Name == CapabilityNames.RemoteFileRead);
        return capability switch
        {
            null => "the device's agent does not send files from the device",
            { Available: false } => capability.Reason ?? "the device's agent cannot send files from the device now",
            _ => null,
        };
    }

    /// <summary>Why a file is refused where the school's settings do not allow file transfer.</summary>
    public const string FileTransferOffReason = "this school's remote support settings do not allow file transfer";

    /// <summary>Why clipboard text is refused where the school's settings do not allow it.</summary>
    public const string ClipboardOffReason = "this school's remote support settings do not allow the clipboard";

    /// <summary>Whether the device's agent offers view but not control (the Chrome extension's <c>remote.view</c>).</summary>
    public bool ViewOnly(Guid deviceId) => ViewOnly(live.Capabilities(deviceId));

    private static bool ViewOnly(IReadOnlyList<AgentCapability>? capabilities) => Capability(capabilities) is { Name: CapabilityNames.RemoteView };

    // The full capability when the agent offers it, else the view-only one (a desktop agent reports the first, the extension the second).
    private static AgentCapability? Capability(IReadOnlyList<AgentCapability>? capabilities)
    {
        var full = capabilities?.FirstOrDefault(c => c.Name == CapabilityNames.RemoteSession);
        return full is { Available: true } ? full : capabilities?.FirstOrDefault(c => c.Name == CapabilityNames.RemoteView) ?? full;
    }

    /// <summary>The live session of a device, if any.</summary>
    public Live? Current(Guid deviceId) => _byDevice.GetValueOrDefault(deviceId);

    /// <summary>The reason given when the settings that apply to a device (its school's, or the district's for no school) turn sessions off.</summary>
    public static string TurnedOffReason(Guid? schoolId) => schoolId is null
        ? "remote sessions are turned off for the district (Homeroom:RemoteSupport:SessionsAllowed)"
        : "remote sessions are turned off for this school by its remote support settings";

    /// <summary>
    /// Starts a session on a device of the scope; 409 when its school's settings turn sessions off, it cannot take one or
    /// already has one (nothing then reaches the device).
    /// </summary>
    public async Task<RemoteSessionDto> StartAsync(StaffScope scope, Guid deviceId, string mode, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.RemoteSupport);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await scope.Devices(db).AsNoTracking().Where(d => d.Id == deviceId).Select(d => new { d.Id, d.SchoolId }).FirstOrDefaultAsync(cancellationToken)
            ?? throw new NotFoundException("No such device.");
        var policy = await settings.PolicyAsync(db, device.SchoolId, cancellationToken);
        if (!policy.SessionsAllowed)
        {
            throw new ConflictException($"A remote session cannot start: {TurnedOffReason(device.SchoolId)}.");
        }

        if (Unavailable(deviceId) is { } reason)
        {
            throw new ConflictException($"A remote session cannot start: {reason}.");
        }

        if (mode == RemoteModes.Control && ViewOnly(deviceId))
        {
            throw new ConflictException($"Control is not offered on this device: {ViewOnlyReason}. Start a view session instead.");
        }

        var opt = options.Value;
        var consentRequired = policy.ConsentRequiredFor(scope.Role);
        var now = Time.GetUtcNow();
        var record = new RemoteSessionRecord
        {
            Id = Guid.CreateVersion7(), DeviceId = deviceId, SchoolId = device.SchoolId, AccountId = scope.AccountId == Guid.Empty ? null : scope.AccountId,
            TechnicianName = scope.DisplayName is { Length: > 0 } name ? name : scope.Username, Mode = mode, ConsentRequired = consentRequired,
            Consent = "pending", StartedAt = now.UtcDateTime,
        };
        var session = new Live(record) { LastInputAt = now, ClipboardAllowed = policy.ClipboardAllowed, FileTransferAllowed = policy.FileTransferAllowed };
        if (!_byDevice.TryAdd(deviceId, session))
        {
            throw new ConflictException("A remote session is already open on this device; end it first.");
        }

        try
        {
            db.Add(record);
            audit.Record(db, "remote.start", "device", deviceId.ToString(), $"{mode}, consent {(consentRequired ? "required" : "not required (notice)")}, session {record.Id}", device.SchoolId);
            await db.SaveChangesAsync(cancellationToken);
        }
        catch
        {
            _byDevice.TryRemove(new KeyValuePair<Guid, Live>(deviceId, session));
            throw;
        }

        RemoteSupportLog.Started(Logger, record.Id, deviceId, record.TechnicianName, mode);
        if (registry.Get(deviceId) is not { } connection
            || !await connection.SendAsync(new RemoteSessionFrame(record.Id, true, record.TechnicianName, mode, consentRequired, opt.MaxFramesPerSecond)))
        {
            await EndAsync(session, "the device went offline", notifyDevice: false);
        }

        return ToDto(session);
    }

    /// <summary>Ends the device's live session (any technician of the scope may); false when there is none.</summary>
    public async Task<bool> StopAsync(StaffScope scope, Guid deviceId)
    {
        scope.EnsureCan(Permission.RemoteSupport);
        if (!_byDevice.TryGetValue(deviceId, out var session))
        {
            return false;
        }

        await EndAsync(session, $"ended by {scope.Username}", notifyDevice: true);
        return true;
    }

    /// <summary>The device's remote support state and its recent sessions (newest first).</summary>
    public async Task<DeviceRemoteSupportDto> DeviceAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.RemoteSupport);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await scope.Devices(db).Where(d => d.Id == deviceId).Select(d => new { d.SchoolId, d.CapabilitiesJson }).FirstOrDefaultAsync(cancellationToken)
            ?? throw new NotFoundException("No such device.");
        var capabilities = live.Capabilities(deviceId, device.CapabilitiesJson);
        var policy = await settings.PolicyAsync(db, device.SchoolId, cancellationToken);
        var recent = await db.Set<RemoteSessionRecord>().AsNoTracking().Where(r => r.DeviceId == deviceId)
            .OrderByDescending(r => r.StartedAt).Take(20).ToListAsync(cancellationToken);
        var current = Current(deviceId);
        var unavailable = policy.SessionsAllowed ? Unavailable(deviceId, capabilities) : TurnedOffReason(device.SchoolId);
        return new DeviceRemoteSupportDto(unavailable is null, unavailable, current is null ? null : ToDto(current),
            [.. recent.Select(r => current?.Record.Id == r.Id ? ToDto(current) : ToDto(r, States.Ended))],
            unavailable is null && ViewOnly(capabilities) ? ViewOnlyReason : null, policy.ConsentRequiredFor(scope.Role), ClipboardUnavailable(capabilities, policy),
            FileTransferUnavailable(capabilities, policy), options.Value.MaxFileBytes, DeviceClipboardUnavailable(capabilities, policy), DeviceFileUnavailable(capabilities, policy));
    }

    /// <summary>The live session <paramref name="sessionId"/> on <paramref name="deviceId"/> when <paramref name="scope"/> started it.</summary>
    public Live? ForViewer(StaffScope scope, Guid deviceId, Guid sessionId) =>
        _byDevice.TryGetValue(deviceId, out var session) && session.Record.Id == sessionId && session.Record.AccountId == (scope.AccountId == Guid.Empty ? null : scope.AccountId)
            ? session : null;

    /// <summary>The device answered or ended a session.</summary>
    public async Task OnStatusAsync(Guid deviceId, RemoteSessionStatusFrame frame)
    {
        if (!_byDevice.TryGetValue(deviceId, out var session) || session.Record.Id != frame.SessionId)
        {
            return; // an old session's answer
        }

        if (frame.Status == RemoteSessionStatuses.Accepted)
        {
            lock (session.Gate)
            {
                if (session.State != States.Waiting)
                {
                    return;
                }

                session.State = States.Streaming;
                session.Record.Consent = session.Record.ConsentRequired ? "accepted" : "notice";
                session.Record.AnsweredAt = Time.GetUtcNow().UtcDateTime;
            }

            await SaveAsync(session, "remote.consent", $"{session.Record.Consent}, session {session.Record.Id}");
            RemoteSupportLog.Answered(Logger, session.Record.Id, session.Record.Consent);
            Post(session, States.Streaming, null);
            return;
        }

        if (frame.Status == RemoteSessionStatuses.Declined)
        {
            lock (session.Gate)
            {
                session.Record.Consent = "declined";
                session.Record.AnsweredAt = Time.GetUtcNow().UtcDateTime;
            }

            await EndAsync(session, frame.Reason is { Length: > 0 } declined ? $"declined on the device: {declined}" : "declined on the device", notifyDevice: false);
            return;
        }

        await EndAsync(session, frame.Reason is { Length: > 0 } ended ? $"ended on the device: {ended}" : "ended on the device", notifyDevice: false);
    }

    /// <summary>
    /// A screen update from a device (already checked well formed). Passed to the console only for the device's
    /// streaming session; true when it was queued (the device is then acknowledged once it was sent).
    /// </summary>
    public bool OnScreen(Guid deviceId, ReadOnlyMemory<byte> frame, Guid sessionId, int width, int height)
    {
        if (!_byDevice.TryGetValue(deviceId, out var session) || session.Record.Id != sessionId)
        {
            return false;
        }

        lock (session.Gate)
        {
            if (session.State != States.Streaming)
            {
                return false; // nothing before consent, nothing after the end
            }

            (session.ScreenWidth, session.ScreenHeight) = (width, height);
        }

        return session.Outgoing.Writer.TryWrite((true, frame.ToArray()));
    }

    /// <summary>
    /// A screen update reached the console socket: counted, and acknowledged to the device in a batch, once
    /// <see cref="RemoteSupportOptions.AckBytes"/> were delivered unacknowledged or <see cref="RemoteSupportOptions.AckInterval"/>
    /// passed since the first of them (the console socket's sender calls <see cref="FlushAckAsync"/> when that time comes
    /// and nothing else arrived).
    /// </summary>
    public async Task DeliveredAsync(Live session, ReadOnlyMemory<byte> frame)
    {
        if (frame.Length < RemoteScreenFrame.HeaderLength)
        {
            return;
        }

        // Checked whole by the gateway before it was queued: only the sequence is read again.
        var sequence = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(frame.Span[17..]);
        var opt = options.Value;
        var now = Time.GetUtcNow();
        bool due;
        lock (session.Gate)
        {
            session.Record.BytesSent += frame.Length;
            session.Record.FramesSent++;
            if (session.UnackedSequence == 0)
            {
                session.UnackedSince = now;
            }

            session.UnackedSequence = Math.Max(session.UnackedSequence, sequence);
            session.UnackedBytes += frame.Length;
            due = session.UnackedBytes >= opt.AckBytes || now - session.UnackedSince >= opt.AckInterval;
        }

        if (due)
        {
            await FlushAckAsync(session);
        }
    }

    /// <summary>How long until the pending acknowledgement is due (zero when it is); null when nothing waits for one.</summary>
    public TimeSpan? AckDueIn(Live session)
    {
        lock (session.Gate)
        {
            if (session.UnackedSequence == 0)
            {
                return null;
            }

            var left = session.UnackedSince + options.Value.AckInterval - Time.GetUtcNow();
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    /// <summary>Acknowledges every update delivered so far to the device (one cumulative <c>remoteAck</c>), if any is pending.</summary>
    public async Task FlushAckAsync(Live session)
    {
        long sequence;
        lock (session.Gate)
        {
            sequence = session.UnackedSequence;
            if (sequence == 0)
            {
                return;
            }

            session.UnackedSequence = 0;
            session.UnackedBytes = 0;
            session.AcksSent++;
        }

        if (registry.Get(session.Record.DeviceId) is { } connection)
        {
            await connection.SendAsync(new RemoteAckFrame(session.Record.Id, sequence));
        }
    }

    /// <summary>Input from the console (already validated against the screen): forwarded in control mode; any input counts as presence.</summary>
    public async Task<bool> InputAsync(Live session, IReadOnlyList<RemoteInputEvent> events)
    {
        lock (session.Gate)
        {
            session.LastInputAt = Time.GetUtcNow();
            if (session.State != States.Streaming || session.Record.Mode != RemoteModes.Control)
            {
                return false;
            }

            session.Record.InputEvents += events.Count;
        }

        return registry.Get(session.Record.DeviceId) is { } connection && await connection.SendAsync(new RemoteInputFrame(session.Record.Id, events));
    }

    /// <summary>
    /// Clipboard text from the console (already checked by <see cref="RemoteLimits.ValidateClipboard"/>): sent to the device
    /// in an accepted control session whose school allowed the clipboard when it started, and audited (its length, never the
    /// text). The reason when it is refused; null when it was sent.
    /// </summary>
    public async Task<string?> ClipboardAsync(Live session, string text)
    {
        lock (session.Gate)
        {
            session.LastInputAt = Time.GetUtcNow();
            if (session.Record.Mode != RemoteModes.Control)
            {
                return "the clipboard is sent only in control sessions";
            }

            if (!session.ClipboardAllowed)
            {
                return ClipboardOffReason;
            }

            if (session.State != States.Streaming)
            {
                return "the student has not accepted the session yet";
            }
        }

        if (ClipboardCapabilityMissing(live.Capabilities(session.Record.DeviceId)) is { } unavailable)
        {
            return unavailable;
        }

        if (registry.Get(session.Record.DeviceId) is not { } connection || !await connection.SendAsync(new RemoteClipboardFrame(session.Record.Id, text)))
        {
            return "the device is offline";
        }

        await using var db = await dbFactory.CreateDbContextAsync();
        audit.Record(db, "remote.clipboard", "device", session.Record.DeviceId.ToString(),
            $"{System.Text.Encoding.UTF8.GetByteCount(text)} bytes of text to the device's clipboard, session {session.Record.Id}", session.Record.SchoolId);
        await db.SaveChangesAsync();
        return null;
    }

    /// <summary>
    /// The console asks for the device's clipboard text: sent to the device as a <c>remoteClipboardRead</c> in an accepted control
    /// session whose school allowed the clipboard when it started, to an agent that reads its clipboard, one read at a time (a
    /// read the device has not answered within <see cref="ClipboardReadTimeout"/> no longer holds the next back). The reason
    /// when it is refused (the console is told it too); null when the device was asked. The answer comes in
    /// <see cref="OnClipboardContentAsync"/>.
    /// </summary>
    public async Task<string?> ReadClipboardAsync(Live session)
    {
        var now = Time.GetUtcNow();
        var requestId = Guid.CreateVersion7();
        string? refused;
        lock (session.Gate)
        {
            session.LastInputAt = now;
            refused = session.Record.Mode != RemoteModes.Control ? "the clipboard is read only in control sessions"
                : !session.ClipboardAllowed ? ClipboardOffReason
                : session.State != States.Streaming ? "the student has not accepted the session yet"
                : session.ClipboardRead is { } pending && now - pending.At < ClipboardReadTimeout ? "a read of the clipboard is already under way; wait for it"
                : null;
            if (refused is null)
            {
                session.ClipboardRead = (requestId, now);
            }
        }

        refused ??= ClipboardReadCapabilityMissing(live.Capabilities(session.Record.DeviceId));
        if (refused is null
            && (registry.Get(session.Record.DeviceId) is not { } connection || !await connection.SendAsync(new RemoteClipboardReadFrame(session.Record.Id, requestId))))
        {
            refused = "the device is offline";
        }

        if (refused is not null)
        {
            lock (session.Gate)
            {
                if (session.ClipboardRead?.Id == requestId)
                {
                    session.ClipboardRead = null;
                }
            }

            PostDeviceClipboard(session, null, refused);
        }

        return refused;
    }

    /// <summary>
    /// The device answered a read of its clipboard: passed to the console only when it answers the read this session's console
    /// asked for (another device's frame, an old session's or a second answer is dropped), and audited with the text's length or
    /// the refusal, never the text.
    /// </summary>
    public async Task OnClipboardContentAsync(Guid deviceId, RemoteClipboardContentFrame frame)
    {
        if (!_byDevice.TryGetValue(deviceId, out var session) || session.Record.Id != frame.SessionId)
        {
            return; // another device's session, or an old one
        }

        lock (session.Gate)
        {
            if (session.ClipboardRead?.Id != frame.RequestId || session.State != States.Streaming)
            {
                return; // not the read under way, or answered already
            }

            session.ClipboardRead = null;
        }

        await using (var db = await dbFactory.CreateDbContextAsync())
        {
            audit.Record(db, "remote.clipboard.read", "device", deviceId.ToString(),
                frame.Text is { } text ? $"{System.Text.Encoding.UTF8.GetByteCount(text)} bytes of text read from the device's clipboard, session {session.Record.Id}"
                    : $"the device sent no clipboard text: {frame.Reason}, session {session.Record.Id}", session.Record.SchoolId);
            await db.SaveChangesAsync();
        }

        PostDeviceClipboard(session, frame.Text, frame.Reason);
    }

    private void PostDeviceClipboard(Live session, string? text, string? refusedReason) =>
        session.Outgoing.Writer.TryWrite((false, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new RemoteViewerState("deviceClipboard", text is not null ? "received" : "refused", session.Record.Mode, text is not null ? null : refusedReason, Text: text),
            RemoteSupportJsonContext.Default.RemoteViewerState)));

    /// <summary>
    /// Sends a file to the device of the caller's own session <paramref name="sessionId"/> (404 when the device is not in the
    /// scope or the session is not theirs): in an accepted control session whose school allowed file transfer when it
    /// started, to an agent that takes files, one file at a time, at most <see cref="RemoteSupportOptions.MaxFileBytes"/>
    /// (the endpoint refuses more before this). The name is the given one when it is safe, else a safe one
    /// (<see cref="RemoteFileLimits.SafeName"/>). The chunks go in order on the device's socket; the send is audited with
    /// the name, size and SHA-256 (never the contents). The console hears <c>sent</c>, then the device's <c>saved</c> or
    /// <c>refused</c>; a refusal here is a 409 with the reason, and the console hears it too.
    /// </summary>
    public async Task<RemoteFileTransferDto> SendFileAsync(StaffScope scope, Guid deviceId, Guid sessionId, string? name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.RemoteSupport);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            if (!await scope.Devices(db).AnyAsync(d => d.Id == deviceId, cancellationToken))
            {
                throw new NotFoundException("No such device.");
            }
        }

        if (ForViewer(scope, deviceId, sessionId) is not { } session)
        {
            throw new NotFoundException("No open session of yours on this device has that id.");
        }

        var safeName = RemoteFileLimits.SafeName(name);
        if (content.Length == 0 || content.Length > options.Value.MaxFileBytes)
        {
            throw Refuse(session, safeName, content.Length == 0 ? "the file is empty" : $"the file is larger than {options.Value.MaxFileBytes:N0} bytes");
        }

        lock (session.Gate)
        {
            session.LastInputAt = Time.GetUtcNow();
            var refused = session.Record.Mode != RemoteModes.Control ? "files are sent only in control sessions"
                : !session.FileTransferAllowed ? FileTransferOffReason
                : session.State != States.Streaming ? "the student has not accepted the session yet"
                : session.Sending ? "another file is being sent; wait for it"
                : null;
            if (refused is not null)
            {
                throw Refuse(session, safeName, refused);
            }

            session.Sending = true;
        }

        try
        {
            if (FileCapabilityMissing(live.Capabilities(deviceId)) is { } unavailable)
            {
                throw Refuse(session, safeName, unavailable);
            }

            var transferId = Guid.CreateVersion7();
            var sha256 = RemoteFileLimits.Sha256Hex(content.Span);
            lock (session.Gate)
            {
                session.AwaitingAnswer[transferId] = safeName;
            }

            for (var offset = 0; offset < content.Length; offset += RemoteFileLimits.ChunkBytes)
            {
                var chunk = content.Slice(offset, Math.Min(RemoteFileLimits.ChunkBytes, content.Length - offset)).ToArray();
                bool ended;
                lock (session.Gate)
                {
                    ended = session.State == States.Ended;
                }

                // A session that ends mid-transfer stops here; the device drops what it had (it keeps nothing unfinished).
                if (ended)
                {
                    throw Refuse(session, safeName, "the session ended during the transfer", transferId);
                }

                if (registry.Get(deviceId) is not { } connection
                    || !await connection.SendAsync(new RemoteFileFrame(session.Record.Id, transferId, safeName, content.Length, sha256, offset, chunk)))
                {
                    throw Refuse(session, safeName, "the device went offline during the transfer", transferId);
                }
            }

            await using (var db = await dbFactory.CreateDbContextAsync(CancellationToken.None))
            {
                audit.Record(db, "remote.file", "device", deviceId.ToString(),
                    $"sent \"{safeName}\", {content.Length} bytes, SHA-256 {sha256}, session {session.Record.Id}", session.Record.SchoolId);
                await db.SaveChangesAsync(CancellationToken.None);
            }

            RemoteSupportLog.FileSent(Logger, session.Record.Id, safeName, content.Length, sha256);
            PostFile(session, "sent", safeName, null, transferId);
            return new RemoteFileTransferDto(transferId, safeName, content.Length, sha256, "sent");
        }
        finally
        {
            lock (session.Gate)
            {
                session.Sending = false;
            }
        }
    }

    // The console hears of the refusal; the caller gets it as a 409.
    private ConflictException Refuse(Live session, string name, string reason, Guid? transferId = null)
    {
        if (transferId is { } id)
        {
            lock (session.Gate)
            {
                session.AwaitingAnswer.Remove(id);
            }
        }

        PostFile(session, "refused", name, reason, transferId);
        return new ConflictException($"The file was not sent: {reason}.");
    }

    /// <summary>The device answered a file: saved (under the name it says) or refused (with why). Audited; the console hears it.</summary>
    public async Task OnFileStatusAsync(Guid deviceId, RemoteFileStatusFrame frame)
    {
        if (!_byDevice.TryGetValue(deviceId, out var session) || session.Record.Id != frame.SessionId)
        {
            return; // an old session's answer
        }

        string? name;
        lock (session.Gate)
        {
            if (!session.AwaitingAnswer.Remove(frame.TransferId, out name))
            {
                return; // not a file this session sent, or answered already
            }
        }

        var saved = frame.Status == RemoteFileStatuses.Saved;
        await using (var db = await dbFactory.CreateDbContextAsync())
        {
            audit.Record(db, saved ? "remote.file.saved" : "remote.file.refused", "device", deviceId.ToString(),
                $"\"{name}\" {(saved ? "saved on the device" : "refused by the device")}{(frame.Reason is { Length: > 0 } r ? $": {r}" : "")}, session {session.Record.Id}", session.Record.SchoolId);
            await db.SaveChangesAsync();
        }

        PostFile(session, saved ? "saved" : "refused", name, frame.Reason, frame.TransferId);
    }

    private void PostFile(Live session, string state, string name, string? reason, Guid? transferId) =>
        session.Outgoing.Writer.TryWrite((false, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new RemoteViewerState("file", state, session.Record.Mode, reason, name, transferId), RemoteSupportJsonContext.Default.RemoteViewerState)));

    /// <summary>
    /// Asks the device of the caller's own session <paramref name="sessionId"/> (404 when the device is not in the scope or the
    /// session is not theirs) for a file in the signed-in user's home folder (<paramref name="path"/>, already checked by
    /// <see cref="RemoteFileLimits.ValidateRequestPath"/>): in an accepted control session whose school allowed file transfer when
    /// it started, to an agent that sends files from the device, one request at a time; a file asked earlier and not yet
    /// downloaded goes. A refusal here is a 409 with the reason, and the console hears it too. Audited with the path. The
    /// student decides on the device; the answers come in <see cref="OnFileRequestStatusAsync"/> and <see cref="OnFileUploadAsync"/>.
    /// </summary>
    public async Task<DeviceFileRequestDto> RequestFileAsync(StaffScope scope, Guid deviceId, Guid sessionId, string path, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.RemoteSupport);
        if (RemoteFileLimits.ValidateRequestPath(path) is { } invalid)
        {
            throw new RequestValidationException(new Dictionary<string, string[]> { ["path"] = [invalid] });
        }

        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            if (!await scope.Devices(db).AnyAsync(d => d.Id == deviceId, cancellationToken))
            {
                throw new NotFoundException("No such device.");
            }
        }

        if (ForViewer(scope, deviceId, sessionId) is not { } session)
        {
            throw new NotFoundException("No open session of yours on this device has that id.");
        }

        var now = Time.GetUtcNow();
        var request = new DeviceFile(Guid.CreateVersion7(), path, now);
        string? refused;
        lock (session.Gate)
        {
            session.LastInputAt = now;
            refused = session.Record.Mode != RemoteModes.Control ? "files are asked of the device only in control sessions"
                : !session.FileTransferAllowed ? FileTransferOffReason
                : session.State != States.Streaming ? "the student has not accepted the session yet"
                : session.Fetching is not null ? "another file is being asked for; wait for it"
                : null;
            if (refused is null)
            {
                session.Fetching = request;
            }
        }

        refused ??= FileReadCapabilityMissing(live.Capabilities(deviceId));
        if (refused is null
            && (registry.Get(deviceId) is not { } connection
                || !await connection.SendAsync(new RemoteFileRequestFrame(session.Record.Id, request.TransferId, path, options.Value.MaxFileBytes))))
        {
            refused = "the device is offline";
        }

        if (refused is not null)
        {
            lock (session.Gate)
            {
                if (session.Fetching == request)
                {
                    session.Fetching = null;
                }
            }

            PostDeviceFile(session, "refused", path, refused, request.TransferId);
            throw new ConflictException($"The file was not asked for: {refused}.");
        }

        lock (session.Gate)
        {
            session.Fetched = null; // one file from the device is kept at a time
        }

        await using (var db = await dbFactory.CreateDbContextAsync(CancellationToken.None))
        {
            audit.Record(db, "remote.file.request", "device", deviceId.ToString(), $"asked for \"{path}\" in the signed-in user's home folder, session {session.Record.Id}", session.Record.SchoolId);
            await db.SaveChangesAsync(CancellationToken.None);
        }

        PostDeviceFile(session, "asked", path, null, request.TransferId);
        return new DeviceFileRequestDto(request.TransferId, path, "asked");
    }

    /// <summary>
    /// The device answered a file request before its chunks: <c>allowed</c> (the console hears it), or <c>denied</c> or
    /// <c>refused</c> (the request ends; audited; the console hears why). Taken only about the request under way in this
    /// device's own session.
    /// </summary>
    public async Task OnFileRequestStatusAsync(Guid deviceId, RemoteFileRequestStatusFrame frame)
    {
        if (!_byDevice.TryGetValue(deviceId, out var session) || session.Record.Id != frame.SessionId)
        {
            return; // another device's session, or an old one
        }

        DeviceFile? request;
        lock (session.Gate)
        {
            request = session.Fetching;
            if (request is null || request.TransferId != frame.TransferId || request.Content is not null)
            {
                return; // not the request under way, or its chunks already started
            }

            request.LastActivity = Time.GetUtcNow();
            if (frame.Status != RemoteFileRequestStatuses.Allowed)
            {
                session.Fetching = null;
            }
        }

        if (frame.Status == RemoteFileRequestStatuses.Allowed)
        {
            PostDeviceFile(session, "allowed", request.Path, null, request.TransferId);
            return;
        }

        var denied = frame.Status == RemoteFileRequestStatuses.Denied;
        await AuditFileRefusedAsync(session, request, $"{(denied ? "denied on the device" : "refused by the device")}{(frame.Reason is { Length: > 0 } r ? $": {r}" : "")}");
        PostDeviceFile(session, denied ? "denied" : "refused", request.Path, frame.Reason, request.TransferId);
    }

    /// <summary>
    /// A chunk of the file the device was asked for: taken only for the request under way in this device's own session, in
    /// order from offset 0, each naming the first's name, size and SHA-256, the size within <see cref="RemoteSupportOptions.MaxFileBytes"/>;
    /// held in memory. Whole, it is kept only when its SHA-256 is the announced one (audited with name, size and hash; the
    /// console hears it is ready to download); anything else drops it and the console hears why.
    /// </summary>
    public async Task OnFileUploadAsync(Guid deviceId, RemoteFileUploadFrame frame)
    {
        if (!_byDevice.TryGetValue(deviceId, out var session) || session.Record.Id != frame.SessionId)
        {
            return;
        }

        DeviceFile request;
        string? refused = null;
        var ready = false;
        lock (session.Gate)
        {
            if (session.Fetching is not { } fetching || fetching.TransferId != frame.TransferId)
            {
                return; // not the request under way (or one dropped already): ignored
            }

            request = fetching;
            request.LastActivity = Time.GetUtcNow();
            if (request.Content is null)
            {
                if (frame.Offset != 0)
                {
                    refused = "a chunk arrived out of order";
                }
                else if (frame.Size > options.Value.MaxFileBytes)
                {
                    refused = $"the file is larger than {options.Value.MaxFileBytes:N0} bytes";
                }
                else
                {
                    (request.Name, request.Size, request.Sha256, request.Content) = (frame.Name, frame.Size, frame.Sha256, new byte[frame.Size]);
                }
            }
            else if (frame.Name != request.Name || frame.Size != request.Size || frame.Sha256 != request.Sha256 || frame.Offset != request.Received)
            {
                refused = "a chunk arrived out of order or did not match the first";
            }

            if (refused is null)
            {
                frame.Data.CopyTo(request.Content!.AsSpan((int)request.Received));
                request.Received += frame.Data.Length;
                if (request.Received == request.Size)
                {
                    if (RemoteFileLimits.Sha256Hex(request.Content) == request.Sha256)
                    {
                        ready = true;
                        request.ReadyAt = Time.GetUtcNow();
                        session.Fetched = request;
                    }
                    else
                    {
                        refused = "the file's SHA-256 did not match what the device announced";
                    }

                    session.Fetching = null;
                }
            }
            else
            {
                session.Fetching = null;
            }

            if (refused is not null)
            {
                request.Content = null;
            }
        }

        if (refused is not null)
        {
            await AuditFileRefusedAsync(session, request, $"dropped by the server: {refused}");
            PostDeviceFile(session, "refused", request.Path, refused + "; nothing was kept", request.TransferId);
            return;
        }

        if (ready)
        {
            await using (var db = await dbFactory.CreateDbContextAsync())
            {
                audit.Record(db, "remote.file.received", "device", deviceId.ToString(),
                    $"received \"{request.Name}\" (asked for \"{request.Path}\"), {request.Size} bytes, SHA-256 {request.Sha256}, session {session.Record.Id}", session.Record.SchoolId);
                await db.SaveChangesAsync();
            }

            RemoteSupportLog.FileReceived(Logger, session.Record.Id, request.Name!, request.Size, request.Sha256!);
            session.Outgoing.Writer.TryWrite((false, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
                new RemoteViewerState("deviceFile", "ready", session.Record.Mode, null, request.Name, request.TransferId, Size: request.Size, Sha256: request.Sha256),
                RemoteSupportJsonContext.Default.RemoteViewerState)));
        }
    }

    /// <summary>
    /// The file <paramref name="transferId"/> that came from the device of the caller's own open session, whole and verified, for
    /// download (audited); null when there is none (another's session, an ended one, an expired or replaced file).
    /// </summary>
    public async Task<(string Name, byte[] Content)?> DownloadFileAsync(StaffScope scope, Guid deviceId, Guid sessionId, Guid transferId, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.RemoteSupport);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == deviceId, cancellationToken))
        {
            throw new NotFoundException("No such device.");
        }

        if (ForViewer(scope, deviceId, sessionId) is not { } session)
        {
            return null;
        }

        DeviceFile? file;
        lock (session.Gate)
        {
            file = session.Fetched is { } fetched && fetched.TransferId == transferId && fetched.Content is not null ? fetched : null;
            session.LastInputAt = Time.GetUtcNow();
        }

        if (file is null)
        {
            return null;
        }

        audit.Record(db, "remote.file.download", "device", deviceId.ToString(), $"downloaded \"{file.Name}\", {file.Size} bytes, SHA-256 {file.Sha256}, session {session.Record.Id}", session.Record.SchoolId);
        await db.SaveChangesAsync(CancellationToken.None);
        return (file.Name!, file.Content!);
    }

    private async Task AuditFileRefusedAsync(Live session, DeviceFile request, string why)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        audit.Record(db, "remote.file.request.refused", "device", session.Record.DeviceId.ToString(), $"\"{request.Path}\" not received: {why}, session {session.Record.Id}", session.Record.SchoolId);
        await db.SaveChangesAsync();
    }

    private void PostDeviceFile(Live session, string state, string name, string? reason, Guid transferId) =>
        session.Outgoing.Writer.TryWrite((false, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new RemoteViewerState("deviceFile", state, session.Record.Mode, reason, name, transferId), RemoteSupportJsonContext.Default.RemoteViewerState)));

    /// <summary>The console is watching (or stopped watching) a session.</summary>
    public bool Attach(Live session)
    {
        lock (session.Gate)
        {
            if (session.ViewerAttached || session.State == States.Ended)
            {
                return false;
            }

            session.ViewerAttached = true;
            session.LastInputAt = Time.GetUtcNow();
        }

        Post(session, session.State, null);
        return true;
    }

    /// <summary>The device's connection went away: its session ends.</summary>
    public async Task OnDisconnectedAsync(Guid deviceId)
    {
        if (_byDevice.TryGetValue(deviceId, out var session))
        {
            await EndAsync(session, "the device disconnected", notifyDevice: false);
        }
    }

    /// <summary>Ends a session once: the device is told (unless it ended it), the console is told and closed, the record stored, the end audited.</summary>
    public async Task EndAsync(Live session, string reason, bool notifyDevice)
    {
        lock (session.Gate)
        {
            if (session.State == States.Ended)
            {
                return;
            }

            session.State = States.Ended;
            // Files from the device go with the session: they were only ever in memory.
            session.Fetching = null;
            session.Fetched = null;
            session.Record.EndedAt = Time.GetUtcNow().UtcDateTime;
            session.Record.EndReason = reason.Length > 256 ? reason[..256] : reason;
            if (session.Record.Consent == "pending")
            {
                session.Record.Consent = "unanswered";
            }
        }

        _byDevice.TryRemove(new KeyValuePair<Guid, Live>(session.Record.DeviceId, session));
        if (notifyDevice && registry.Get(session.Record.DeviceId) is { } connection)
        {
            await connection.SendAsync(new RemoteSessionFrame(session.Record.Id, false, null, null, false, 0));
        }

        // Stored before the console hears of the end, so whoever sees the end reads the finished record.
        var seconds = (session.Record.EndedAt!.Value - session.Record.StartedAt).TotalSeconds;
        await SaveAsync(session, "remote.end",
            $"{reason}; {seconds:0} s, {session.Record.FramesSent} updates, {session.Record.BytesSent} bytes, {session.Record.InputEvents} input events, session {session.Record.Id}");
        Post(session, States.Ended, reason);
        session.Outgoing.Writer.TryComplete();
        RemoteSupportLog.Ended(Logger, session.Record.Id, session.Record.DeviceId, reason);
    }

    /// <summary>Deletes records of sessions that ended before the retention (run by the support retention job).</summary>
    public async Task<int> PurgeAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var before = Time.GetUtcNow().UtcDateTime - options.Value.Retention;
        return await db.Set<RemoteSessionRecord>().Where(r => r.EndedAt != null && r.EndedAt < before).ExecuteDeleteAsync(cancellationToken);
    }

    // Idle sessions, sessions past their maximum, and answers that never came end here.
    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var opt = options.Value;
        foreach (var session in _byDevice.Values.ToList())
        {
            string? reason;
            lock (session.Gate)
            {
                reason = now - session.Record.StartedAt >= opt.MaxDuration ? "the maximum session length was reached"
                    : session.State == States.Waiting && now - session.Record.StartedAt >= opt.ConsentTimeout ? "the device did not answer in time"
                    : session.State == States.Streaming && now - session.LastInputAt >= opt.IdleTimeout ? "idle: no input from the technician"
                    : null;
            }

            if (reason is not null)
            {
                await EndAsync(session, reason, notifyDevice: true);
                continue;
            }

            await ExpireFilesAsync(session, now, opt);
        }
    }

    // A file request the device stopped answering ends; a file kept past its lifetime goes. The console hears of either.
    private async Task ExpireFilesAsync(Live session, DateTimeOffset now, RemoteSupportOptions opt)
    {
        DeviceFile? stale = null, expired = null;
        lock (session.Gate)
        {
            if (session.Fetching is { } fetching && now - fetching.LastActivity >= FileRequestTimeout)
            {
                (stale, session.Fetching) = (fetching, null);
            }

            if (session.Fetched is { ReadyAt: { } readyAt } fetched && now - readyAt >= opt.DeviceFileLifetime)
            {
                (expired, session.Fetched) = (fetched, null);
            }
        }

        if (stale is not null)
        {
            await AuditFileRefusedAsync(session, stale, "the device did not answer in time");
            PostDeviceFile(session, "refused", stale.Path, "the device did not answer in time; nothing was kept", stale.TransferId);
        }

        if (expired is not null)
        {
            PostDeviceFile(session, "expired", expired.Name ?? expired.Path, $"kept for {opt.DeviceFileLifetime.TotalMinutes:0} minutes; ask for it again", expired.TransferId);
        }
    }

    /// <summary>Tells the console what became of its clipboard text: <c>{"type":"clipboard","state":"sent"}</c>, or <c>"refused"</c> with the reason.</summary>
    public void PostClipboard(Live session, string? refusedReason) =>
        session.Outgoing.Writer.TryWrite((false, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new RemoteViewerState("clipboard", refusedReason is null ? "sent" : "refused", session.Record.Mode, refusedReason), RemoteSupportJsonContext.Default.RemoteViewerState)));

    private void Post(Live session, string state, string? reason) =>
        session.Outgoing.Writer.TryWrite((false, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new RemoteViewerState("state", state, session.Record.Mode, reason), RemoteSupportJsonContext.Default.RemoteViewerState)));

    private async Task SaveAsync(Live session, string action, string details)
    {
        var record = session.Record;
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync();
            RemoteSessionRecord copy;
            lock (session.Gate)
            {
                copy = new RemoteSessionRecord
                {
                    Id = record.Id, DeviceId = record.DeviceId, SchoolId = record.SchoolId, AccountId = record.AccountId, TechnicianName = record.TechnicianName,
                    Mode = record.Mode, ConsentRequired = record.ConsentRequired, Consent = record.Consent, StartedAt = record.StartedAt,
                    AnsweredAt = record.AnsweredAt, EndedAt = record.EndedAt, EndReason = record.EndReason, BytesSent = record.BytesSent,
                    FramesSent = record.FramesSent, InputEvents = record.InputEvents,
                };
            }

            db.Update(copy);
            audit.Record(db, action, "device", record.DeviceId.ToString(), details, record.SchoolId);
            await db.SaveChangesAsync();
        }
        catch (DbUpdateException e)
        {
            // The device was deleted meanwhile (its sessions went with it).
            RemoteSupportLog.SaveFailed(Logger, record.Id, e.Message);
        }
    }

    private RemoteSessionDto ToDto(Live session)
    {
        lock (session.Gate)
        {
            return ToDto(session.Record, session.State);
        }
    }

    private static RemoteSessionDto ToDto(RemoteSessionRecord r, string state) => new(
        r.Id, r.DeviceId, r.TechnicianName, r.Mode, r.ConsentRequired, r.Consent, state, r.StartedAt, r.AnsweredAt, r.EndedAt, r.EndReason,
        r.BytesSent, r.FramesSent, r.InputEvents);
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(RemoteViewerState))]
[System.Text.Json.Serialization.JsonSerializable(typeof(RemoteViewerMessage))]
internal sealed partial class RemoteSupportJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>A message from the technician's console on the session socket: <c>input</c> with events, <c>clipboard</c> with text, <c>readClipboard</c>, or <c>end</c>.</summary>
public sealed record RemoteViewerMessage(string? Type, List<RemoteInputEvent>? Events, string? Text = null);
