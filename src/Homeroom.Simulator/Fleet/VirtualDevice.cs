using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Filtering;
using Homeroom.Rules.Policies;

namespace Homeroom.Simulator.Fleet;

/// <summary>Everything the devices of one fleet share.</summary>
public sealed class FleetContext(FleetOptions options, SimulatedClock clock, CredentialStore credentials, FleetMetrics metrics, HttpClient http, TimeProvider time)
{
    public FleetPolicies Policies { get; } = new(http, options.Server);
    public FleetOptions Options { get; } = options;
    public SimulatedClock Clock { get; } = clock;
    public CredentialStore Credentials { get; } = credentials;
    public FleetMetrics Metrics { get; } = metrics;
    public HttpClient Http { get; } = http;
    public TimeProvider Time { get; } = time;
    public SemaphoreSlim ConnectGate { get; } = new(options.ConnectConcurrency);
    public Uri AgentUri { get; } = AgentProtocol.WebSocketUri(options.Server);
}

/// <summary>
/// One simulated device living a school day over the real protocol: it enrolls or resumes, keeps a
/// connection (reconnecting with back-off), sends heartbeats, inventory and sequenced activity,
/// answers every command exactly once however often it is delivered, sends thumbnails only
/// while a teacher watches, and (for the few students <see cref="SafetyScript"/> picks) safety
/// signals kept until acknowledged, with a screenshot when the server asks and the policy allows, and (for the few
/// <see cref="HelpScript"/> picks) a help request, sent again after a reconnect until acknowledged.
/// </summary>
public sealed class VirtualDevice(DeviceSpec spec, FleetContext fleet)
{
    private const int MaxUnacknowledgedEvents = 5_000;
    private const int MaxUnacknowledgedSignalBatches = 20;
    private const int SafetyScreenshotWidth = 640;
    private static readonly string[] StatusAcknowledgedThenSucceeded = [CommandStatusValues.Acknowledged, CommandStatusValues.Succeeded];

    private readonly Random _random = new(HashCode.Combine(fleet.Options.Seed, spec.Index));

    // Packages the server's installPackage commands installed (desktops), listed in the inventory.
    private readonly HashSet<string> _packages = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, string> _executed = [];
    private readonly Queue<Guid> _executedOrder = new();
    private int _sessions;
    private readonly List<ActivityEvent> _unacknowledged = [];
    private long _nextSeq = 1;
    private double _battery = 60;
    private DateTimeOffset _lastActivityAt;
    private DateTimeOffset? _appsSnapshotAt;
    private bool _inventorySent;
    private volatile SignedInUser? _signedInUser;
    private int _signInChanged;
    private CancellationTokenSource? _screenView;
    private Site _currentSite = Browsing.Sites[0];
    private long _policyVersion;
    private WebFilter _filter = WebFilter.AllowAll;
    private bool _curfew;
    private bool _reportLocation = true;
    private SavedCredential? _credential;
    private readonly IReadOnlyList<ScriptedSignal> _safetyScript = fleet.Options.SafetySignals ? SafetyScript.For(fleet.Options.Seed, spec) : [];
    private readonly List<SignalsFrame> _unacknowledgedSignals = [];
    private long _nextSignalBatch = 1;
    private DateTimeOffset? _signalsCheckedAt;
    private readonly IReadOnlyList<ScriptedHelp> _helpScript = fleet.Options.HelpRequests ? HelpScript.For(fleet.Options.Seed, spec) : [];
    private readonly List<HelpRequestFrame> _unacknowledgedHelp = [];
    private DateTimeOffset? _helpCheckedAt;
    private bool _safety;
    private bool _typedText;
    private bool _screenshots;

    public DeviceSpec Spec => spec;

    /// <summary>The OS version the device runs now (it moves to <see cref="FleetOptions.ChromeOsTarget"/> on a Chromebook).</summary>
    public string OsVersion { get; private set; } = spec.OsVersion;

    /// <summary>True once the device has gone quiet for good (its OS update plan says it never reports again).</summary>
    public bool Silent { get; private set; }
    public Guid? DeviceId { get; private set; }
    public bool Locked { get; private set; }

    /// <summary>The sites of the teacher's focus mode, while it is on.</summary>
    public IReadOnlyList<string>? FocusSites { get; private set; }

    /// <summary>The policy version last applied.</summary>
    public long PolicyVersion => Interlocked.Read(ref _policyVersion);

    /// <summary>When (simulated time) the first policy was applied; browsing before it is unfiltered.</summary>
    public DateTimeOffset? FirstPolicyAt { get; private set; }
    public string? LastMessage { get; private set; }
    public bool Connected { get; private set; }
    public int? LastCloseCode { get; private set; }

    /// <summary>How long the device waited (or waits) before its last try to connect again.</summary>
    public TimeSpan? ReconnectDelay { get; private set; }

    /// <summary>What this device's student sends for safety monitoring each school day (empty for most).</summary>
    public IReadOnlyList<ScriptedSignal> ScriptedSignals => _safetyScript;

    /// <summary>When this device's student asks for help each school day (empty for most).</summary>
    public IReadOnlyList<ScriptedHelp> ScriptedHelp => _helpScript;

    /// <summary>Commands carried out, by id (a repeat delivery is answered from here, not run again).</summary>
    public IReadOnlyCollection<Guid> ExecutedCommands => _executedOrder;

    /// <summary>
    /// The ids of the last 1,000 commands carried out, oldest first, copied while no command runs: a command the
    /// device carried out twice (a broken de-duplication) would appear twice.
    /// </summary>
    public Guid[] ExecutedCommandsSnapshot()
    {
        lock (_executed)
        {
            return [.. _executedOrder];
        }
    }

    /// <summary>Connections the server welcomed so far (a device whose node died counts the one it made afterwards too).</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _battery = 40 + (_random.NextDouble() * 60);
        var backoff = new ReconnectBackoff(_random);
        while (!cancellationToken.IsCancellationRequested)
        {
            TakeOsUpdate();
            if (Silent)
            {
                return;
            }

            if (!fleet.Options.AlwaysOnline && IsAsleep())
            {
                await DelayAsync(TimeSpan.FromSeconds(5 + _random.Next(10)), cancellationToken);
                continue;
            }

            var credential = await EnsureCredentialAsync(cancellationToken);
            if (credential is null)
            {
                return; // refused for good (token expired, revoked or used up)
            }

            if (ReferenceEquals(credential, Retry))
            {
                await DelayAsync(TimeSpan.FromSeconds(2 + _random.Next(5)), cancellationToken);
                continue;
            }

            if (ReferenceEquals(credential, AwaitingApproval))
            {
                // Only an administrator's approval helps now; ask again now and then, not in a loop.
                await DelayAsync(TimeSpan.FromSeconds(60 + _random.Next(60)), cancellationToken);
                continue;
            }

            _credential = credential;
            var sessionsBefore = Sessions;
            var closeCode = await RunConnectionAsync(credential, cancellationToken);
            LastCloseCode = closeCode;
            switch (closeCode)
            {
                case AgentCloseCodes.DeviceRevoked:
                    return;
                case AgentCloseCodes.AuthenticationFailed:
                    // Enroll again, presenting this credential: if it is still the device's (the
                    // server refused the socket for another reason) it proves the device is the same.
                    fleet.Credentials.MarkStale(spec.Serial);
                    break;
                case AgentCloseCodes.Replaced:
                    break; // another connection of this device took over: do not fight it
                default:
                    if (Sessions > sessionsBefore)
                    {
                        backoff.Reset(); // a session that worked, however it ended, resets the back-off
                    }

                    break;
            }

            ReconnectDelay = backoff.Next();
            await DelayAsync(ReconnectDelay.Value, cancellationToken);
        }
    }

    // A Chromebook below Google Admin's pinned version moves to it when its plan says (simulated time); true when it just did.
    private bool TakeOsUpdate()
    {
        if (spec.Platform != DevicePlatform.ChromeOS || fleet.Options.ChromeOsTarget is not { } target)
        {
            return false;
        }

        var since = fleet.Options.ChromeOsTargetSince ?? fleet.Clock.Start;
        if (fleet.Options.ChromeOsTargetBySerial is { } bySerial && !bySerial.TryGetValue(spec.Serial, out since))
        {
            return false;
        }

        var plan = OsUpdates.For(fleet.Options.Seed, spec.Index);
        var now = fleet.Clock.Now;
        Silent = OsUpdates.IsSilent(plan, since, now);
        var version = OsUpdates.VersionAt(plan, OsVersion, target, since, now);
        if (version == OsVersion)
        {
            return false;
        }

        OsVersion = version;
        return true;
    }

    private bool IsAsleep()
    {
        var hour = fleet.Clock.LocalHour;
        return hour < 6.5 || hour >= 22;
    }

    private async Task<SavedCredential?> EnsureCredentialAsync(CancellationToken cancellationToken)
    {
        var known = fleet.Credentials.Get(spec.Serial);
        if (known is { Stale: false } saved)
        {
            if (DeviceId is null)
            {
                fleet.Metrics.OnResumed();
            }

            DeviceId = saved.DeviceId;
            return saved;
        }

        if (fleet.Options.EnrollToken is null)
        {
            fleet.Metrics.OnEnrollFailed();
            return null;
        }

        await fleet.ConnectGate.WaitAsync(cancellationToken);
        try
        {
            var request = new EnrollRequest(
                fleet.Options.EnrollToken, spec.Platform, spec.Serial, spec.Model, spec.Manufacturer, OsVersion, spec.Name, "homeroom-simulator/1", known?.Credential);
            using var response = await fleet.Http.PostAsJsonAsync(new Uri(fleet.Options.Server, AgentProtocol.EnrollPath), request, AgentJsonContext.Default.EnrollRequest, cancellationToken);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                fleet.Metrics.OnEnrollFailed();
                return null;
            }

            if (response.StatusCode == HttpStatusCode.Conflict)
            {
                // Already enrolled and not proved to be this device (or revoked): wait for an administrator's approval.
                fleet.Metrics.OnEnrollFailed();
                return AwaitingApproval;
            }

            response.EnsureSuccessStatusCode();
            var enrolled = (await response.Content.ReadFromJsonAsync(AgentJsonContext.Default.EnrollResponse, cancellationToken))!;
            var credential = new SavedCredential(enrolled.DeviceId, enrolled.Credential);
            fleet.Credentials.Set(spec.Serial, credential);
            DeviceId = enrolled.DeviceId;
            fleet.Metrics.OnEnrolled();
            return credential;
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // The server is unreachable, busy or too slow to answer (the request timed out): not a refusal, so try
            // again after a pause. A timeout once ended the device for good, which is how a PostgreSQL connect storm
            // left a few dozen devices of a 10,000-device fleet never connected.
            return Retry;
        }
        finally
        {
            fleet.ConnectGate.Release();
        }
    }

    private static readonly SavedCredential Retry = new(Guid.Empty, string.Empty);
    private static readonly SavedCredential AwaitingApproval = new(Guid.Empty, string.Empty);

    /// <summary>One connection from connect to close. Returns the server's close code, or 0 after a session that ended normally.</summary>
    private async Task<int> RunConnectionAsync(SavedCredential credential, CancellationToken cancellationToken)
    {
        AgentClient client;
        await fleet.ConnectGate.WaitAsync(cancellationToken);
        try
        {
            var sources = fleet.Options.SourceAddresses;
            var source = sources.Count == 0 ? null : sources[spec.Index % sources.Count];
            client = await AgentClient.ConnectAsync(fleet.AgentUri, source, cancellationToken);
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or IOException)
        {
            return -1;
        }
        finally
        {
            fleet.ConnectGate.Release();
        }

        await using var _ = client;
        var welcome = new TaskCompletionSource<WelcomeFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Start(frame => OnFrameAsync(client, frame, welcome));
        await client.SendAsync(new AuthFrame(credential.DeviceId, credential.Credential, AgentProtocol.Version, "homeroom-simulator/1"));
        var first = await Task.WhenAny(welcome.Task, client.Completion, Task.Delay(TimeSpan.FromSeconds(30), cancellationToken));
        if (first != welcome.Task)
        {
            client.Abort();
            return (int?)client.CloseStatus ?? -1;
        }

        var hello = await welcome.Task;
        Interlocked.Increment(ref _sessions);
        Connected = true;
        fleet.Metrics.OnConnected();
        try
        {
            lock (_unacknowledged)
            {
                _unacknowledged.RemoveAll(e => e.Seq <= hello.ActivityAckedSeq);
                _nextSeq = Math.Max(_nextSeq, hello.ActivityAckedSeq + 1);
            }

            if (!_inventorySent)
            {
                _inventorySent = await client.SendAsync(Inventory());
            }

            await ResendUnacknowledgedAsync(client);
            await ResendUnacknowledgedSignalsAsync(client);
            foreach (var help in UnacknowledgedHelp())
            {
                await client.SendAsync(help);
            }
            _lastActivityAt = fleet.Clock.Now;
            await LiveAsync(client, TimeSpan.FromSeconds(hello.HeartbeatIntervalSeconds), cancellationToken);
        }
        finally
        {
            Connected = false;
            fleet.Metrics.OnDisconnected();
            StopScreenView();
        }

        return client.CloseStatus is { } status && status != WebSocketCloseStatus.NormalClosure ? (int)status : 0;
    }

    private async Task LiveAsync(AgentClient client, TimeSpan heartbeatInterval, CancellationToken cancellationToken)
    {
        var tick = fleet.Options.FixedEventsPerSecond is not null ? TimeSpan.FromSeconds(1) : fleet.Options.ActivityInterval;
        var nextHeartbeat = fleet.Time.GetTimestamp();
        var firstDelay = TimeSpan.FromMilliseconds(_random.Next(0, (int)Math.Min(tick.TotalMilliseconds, heartbeatInterval.TotalMilliseconds)));
        await Task.WhenAny(client.Completion, Task.Delay(firstDelay, fleet.Time, cancellationToken));
        using var timer = new PeriodicTimer(tick, fleet.Time);
        while (client.State == WebSocketState.Open && !cancellationToken.IsCancellationRequested)
        {
            if (fleet.Time.GetElapsedTime(nextHeartbeat) >= TimeSpan.Zero)
            {
                if (!await client.SendAsync(Heartbeat()))
                {
                    break;
                }

                fleet.Metrics.OnHeartbeat();
                nextHeartbeat = fleet.Time.GetTimestamp() + (long)(heartbeatInterval.TotalSeconds * fleet.Time.TimestampFrequency);
            }

            var events = GenerateActivity(tick);
            if (events.Count > 0 && !await SendActivityAsync(client, events))
            {
                break;
            }

            var signals = DueSignals();
            if (signals.Count > 0 && !await SendSignalsAsync(client, signals))
            {
                break;
            }

            if (DueHelp() is { } help && !await client.SendAsync(help))
            {
                break;
            }

            if (Interlocked.Exchange(ref _signInChanged, 0) == 1 && !await client.SendAsync(Inventory()))
            {
                break;
            }

            if (TakeOsUpdate())
            {
                // A new version: report it, as the extension's inventory does after a restart.
                if (!await client.SendAsync(Inventory()))
                {
                    break;
                }
            }

            if (Silent)
            {
                await client.CloseAsync();
                break;
            }

            if (!fleet.Options.AlwaysOnline && (IsAsleep() || _random.NextDouble() < 0.0005))
            {
                await client.CloseAsync(); // lid closed, or out of Wi-Fi range for a while
                break;
            }

            var next = await Task.WhenAny(timer.WaitForNextTickAsync(cancellationToken).AsTask(), client.Completion);
            if (next == client.Completion)
            {
                break;
            }
        }
    }

    private HeartbeatFrame Heartbeat()
    {
        var hour = fleet.Clock.LocalHour;
        var atSchool = fleet.Clock.IsSchoolDay && hour is >= 7.5 and < 15;
        var charging = hour is >= 18 and < 22 || spec.IsSpare;
        _battery = Math.Clamp(_battery + (charging ? 3 : -0.4), 3, 100);
        var location = Locate(hour);
        var network = atSchool
            ? new NetworkState("wifi", "District-WiFi", $"10.{spec.Index / 65536 % 256}.{spec.Index / 256 % 256}.{spec.Index % 256}")
            : new NetworkState(spec.Index % 17 == 0 ? "cellular" : "wifi", spec.Index % 17 == 0 ? null : "Home-WiFi", "192.168.1." + ((spec.Index % 200) + 20));
        return new HeartbeatFrame(new BatteryState((int)_battery, charging), network,
            // Where the device is follows the simulated day; when the fix was taken is real time, as on a real
            // device (the server refuses fixes from the future or more than an hour old).
            _reportLocation ? new LocationFix(location.Latitude, location.Longitude, 10 + _random.Next(40), fleet.Time.GetUtcNow()) : null);
    }

    private GeoPoint Locate(double hour)
    {
        if (!fleet.Clock.IsSchoolDay || spec.IsSpare)
        {
            return spec.IsSpare ? spec.School : spec.Home;
        }

        return hour switch
        {
            >= 7 and < 7.5 => spec.Home.Toward(spec.School, (hour - 7) / 0.5),
            // One student in forty walks off campus over lunch: the out-of-bounds case the demo shows.
            >= 12 and < 12.75 when spec.Index % 40 == 3 => new GeoPoint(spec.School.Latitude + 0.0135, spec.School.Longitude),
            >= 7.5 and < 15 => spec.School,
            >= 15 and < 15.5 => spec.School.Toward(spec.Home, (hour - 15) / 0.5),
            _ => spec.Home,
        };
    }

    /// <summary>
    /// Signs a user in on this device (null: signs out), as on a shared cart device between periods: the
    /// next tick reports it in an <c>inventory</c> frame (docs/agent-protocol.md, signed-in user).
    /// </summary>
    public void SignIn(SignedInUser? user)
    {
        _signedInUser = user;
        Interlocked.Exchange(ref _signInChanged, 1);
    }

    /// <summary>Who this device reports signed in.</summary>
    public SignedInUser? SignedInUser => _signedInUser;

    private InventoryFrame Inventory()
    {
        var apps = spec.Platform == DevicePlatform.IPadOS
            ? Browsing.IPadApps.Select(a => new InstalledApp(a.AppId, a.Name, $"{1 + (spec.Index % 5)}.{spec.Index % 10}")).ToList()
            : [new InstalledApp("homeroom-agent", "Homeroom agent", "1.0"), new InstalledApp("docs", "Google Docs", "1.2"), new InstalledApp("classroom", "Google Classroom", "2.0")];
        lock (_packages)
        {
            // What the server's package commands installed on a desktop, as the agent's package list shows them.
            apps.AddRange(_packages.Order(StringComparer.Ordinal).Select(p => new InstalledApp(p, p, "1.0")));
        }

        var osName = spec.Platform switch
        {
            DevicePlatform.ChromeOS => "ChromeOS",
            DevicePlatform.IPadOS => "iPadOS",
            DevicePlatform.Windows => "Windows",
            DevicePlatform.MacOS => "macOS",
            DevicePlatform.Android => "Android",
            _ => spec.Platform.ToString(),
        };
        return new InventoryFrame(osName, OsVersion, spec.Model, spec.Manufacturer, 64L << 30, (16L + spec.Index % 32) << 30, apps, SignedInUser: _signedInUser);
    }

    private List<ActivityEvent> GenerateActivity(TimeSpan realElapsed)
    {
        var now = fleet.Clock.Now;
        int count;
        if (fleet.Options.FixedEventsPerSecond is { } rate)
        {
            var exact = rate * realElapsed.TotalSeconds;
            count = (int)exact + (_random.NextDouble() < exact - (int)exact ? 1 : 0);
        }
        else
        {
            // About one page or app every two simulated minutes while awake and not locked.
            var minutes = (now - _lastActivityAt).TotalMinutes;
            count = Locked || _curfew || IsAsleep() ? 0 : (int)Math.Min(200, minutes / 2);
            if (count > 0)
            {
                _lastActivityAt = now;
            }
        }

        var events = new List<ActivityEvent>(count);
        if (spec.Platform == DevicePlatform.ChromeOS && fleet.Options.FixedEventsPerSecond is null && (_appsSnapshotAt is not { } last || now - last >= TimeSpan.FromDays(1)))
        {
            // Like the extension: a snapshot of the installed extensions (itself included) at start, then daily here.
            _appsSnapshotAt = now;
            events.AddRange(ChromeSnapshot(now));
        }

        for (var i = 0; i < count; i++)
        {
            var at = now.AddSeconds(-i);
            if (spec.Platform == DevicePlatform.IPadOS && _random.NextDouble() < 0.6)
            {
                var (appId, name) = Browsing.IPadApps[_random.Next(Browsing.IPadApps.Count)];
                events.Add(new ActivityEvent(0, at, ActivityKinds.AppUsage, Title: name, AppId: appId, DurationSeconds: 30 + _random.Next(600)));
                continue;
            }

            var site = Browsing.Pick(_random);
            var decision = _filter.Explain(site.Url);
            if (decision.Blocked)
            {
                events.Add(new ActivityEvent(0, at, ActivityKinds.WebBlocked, site.Url, site.Title, Detail: decision.Category is { } category ? $"category:{category}" : $"rule:{decision.Rule ?? decision.Reason.ToString()}"));
                continue;
            }

            _currentSite = site;
            if (spec.Platform == DevicePlatform.ChromeOS && _random.NextDouble() < 0.5)
            {
                // The extension's time per site: the origin only, focused most of the time.
                var focused = _random.NextDouble() < 0.85 ? ActivityKinds.WebUsageFocused : ActivityKinds.WebUsageUnfocused;
                events.Add(new ActivityEvent(0, at, ActivityKinds.WebUsage, Browsing.Origin(site.Url), DurationSeconds: 10 + _random.Next(900), Detail: focused));
                continue;
            }

            events.Add(new ActivityEvent(0, at, ActivityKinds.WebVisit, site.Url, site.Title, DurationSeconds: 10 + _random.Next(300)));
        }

        return events;
    }

    private IEnumerable<ActivityEvent> ChromeSnapshot(DateTimeOffset at)
    {
        yield return new ActivityEvent(0, at, ActivityKinds.AppInventory, Title: "Homeroom", AppId: "homeroom-simulator-extension", Detail: "1.0.0 enabled");
        for (var i = 0; i < Browsing.ChromeExtensions.Count; i++)
        {
            // Each device has some of them: a stable pick by its index.
            if ((spec.Index + i) % 3 == 0 || i == 0)
            {
                var (id, name, version, enabled) = Browsing.ChromeExtensions[i];
                yield return new ActivityEvent(0, at, ActivityKinds.AppInventory, Title: name, AppId: id, Detail: $"{version} {(enabled ? "enabled" : "disabled")}");
            }
        }
    }

    private async Task<bool> SendActivityAsync(AgentClient client, List<ActivityEvent> fresh)
    {
        List<ActivityEvent> batch;
        lock (_unacknowledged)
        {
            foreach (var e in fresh.OrderBy(e => e.OccurredAt))
            {
                _unacknowledged.Add(e with { Seq = _nextSeq++ });
            }

            fleet.Metrics.OnEventsGenerated(fresh.Count);
            if (_unacknowledged.Count > MaxUnacknowledgedEvents)
            {
                // A bounded offline queue: the oldest events go first.
                var drop = _unacknowledged.Count - MaxUnacknowledgedEvents;
                _unacknowledged.RemoveRange(0, drop);
                fleet.Metrics.OnEventsDropped(drop);
            }

            batch = _unacknowledged.Skip(_unacknowledged.Count - fresh.Count).Take(ProtocolLimits.MaxActivityEventsPerFrame).ToList();
        }

        return await client.SendAsync(new ActivityFrame(batch));
    }

    private async Task ResendUnacknowledgedAsync(AgentClient client)
    {
        List<ActivityEvent[]> chunks;
        lock (_unacknowledged)
        {
            chunks = _unacknowledged.Chunk(ProtocolLimits.MaxActivityEventsPerFrame).ToList();
        }

        foreach (var chunk in chunks)
        {
            await client.SendAsync(new ActivityFrame(chunk));
        }
    }

    private async Task OnFrameAsync(AgentClient client, AgentFrame frame, TaskCompletionSource<WelcomeFrame> welcome)
    {
        switch (frame)
        {
            case WelcomeFrame hello:
                welcome.TrySetResult(hello);
                break;
            case ActivityAckFrame ack:
                lock (_unacknowledged)
                {
                    var removed = _unacknowledged.RemoveAll(e => e.Seq <= ack.ThroughSeq);
                    fleet.Metrics.OnEventsAcknowledged(removed);
                }

                break;
            case CommandFrame command:
                await OnCommandAsync(client, command);
                break;
            case ScreenViewFrame view:
                OnScreenView(client, view);
                break;
            case PolicyFrame policy:
                await OnPolicyAsync(client, policy);
                break;
            case SignalsAckFrame ack:
                lock (_unacknowledgedSignals)
                {
                    var index = _unacknowledgedSignals.FindIndex(b => b.Batch == ack.Batch);
                    if (index >= 0)
                    {
                        fleet.Metrics.OnSignalsAcknowledged(_unacknowledgedSignals[index].Signals.Count);
                        _unacknowledgedSignals.RemoveAt(index);
                    }
                }

                break;
            case SafetyCaptureFrame capture:
                await OnSafetyCaptureAsync(client, capture);
                break;
            case HelpRequestAckFrame ack:
                lock (_unacknowledgedHelp)
                {
                    _unacknowledgedHelp.RemoveAll(h => h.RequestId == ack.RequestId);
                }

                break;
        }
    }

    /// <summary>
    /// The scripted signals whose time of the simulated school day came since the last look, while the
    /// policy's monitoring.safety is on (typed text only with safety.typedText) and the device is not
    /// locked. The first look, once the device knows its policy, takes what the script gave the day so
    /// far, as if the agent had been watching since midnight: a fleet started mid-morning (the demo's)
    /// shows the morning's alerts at once instead of hours later. They carry the real time they are
    /// sent at, as a real agent's would.
    /// </summary>
    private List<SafetySignal> DueSignals()
    {
        if (FirstPolicyAt is null)
        {
            return []; // an agent collects nothing before it knows what its policy allows
        }

        var now = fleet.Clock.Now;
        var since = _signalsCheckedAt ?? StartOfLocalDay(now);
        _signalsCheckedAt = now;
        if (_safetyScript.Count == 0 || !_safety || Locked || _curfew || now <= since)
        {
            return [];
        }

        return [.. DueOnSchoolDays(_safetyScript, s => s.TimeOfDay, since, now)
            .Where(d => d.Item.Source != SignalSources.Typed || _typedText)
            .Select(d => new SafetySignal(fleet.Time.GetUtcNow(), d.Item.Source, d.Item.Text, d.Item.Url))];
    }

    /// <summary>
    /// The student's help request when its time of a school day came since the last look (the first look, once the
    /// policy is known, takes the day so far, as for safety signals), kept until the server acknowledges it. Its id is
    /// fixed by the device and the day, so a resend is the same request. Not while the device is locked.
    /// </summary>
    private HelpRequestFrame? DueHelp()
    {
        if (FirstPolicyAt is null || _helpScript.Count == 0)
        {
            return null;
        }

        var now = fleet.Clock.Now;
        var since = _helpCheckedAt ?? StartOfLocalDay(now);
        _helpCheckedAt = now;
        if (Locked || _curfew || now <= since)
        {
            return null;
        }

        // One a look is plenty: a student asks once a day.
        foreach (var (scripted, day) in DueOnSchoolDays(_helpScript, h => h.TimeOfDay, since, now).Take(1))
        {
            var id = new Random(unchecked((fleet.Options.Seed * 31) + (spec.Index * 7_919) + day.DayOfYear + (day.Year * 366)));
            var bytes = new byte[16];
            id.NextBytes(bytes);
            var frame = new HelpRequestFrame(new Guid(bytes), fleet.Time.GetUtcNow(), scripted.Note);
            lock (_unacknowledgedHelp)
            {
                _unacknowledgedHelp.Add(frame);
                if (_unacknowledgedHelp.Count > 5)
                {
                    _unacknowledgedHelp.RemoveAt(0);
                }
            }

            return frame;
        }

        return null;
    }

    /// <summary>The scripted items whose time of a school day (Monday to Friday in the fleet's zone) falls after <paramref name="since"/> and at or before <paramref name="now"/>, with their local day.</summary>
    private IEnumerable<(T Item, DateTime Day)> DueOnSchoolDays<T>(IReadOnlyList<T> script, Func<T, TimeSpan> timeOfDay, DateTimeOffset since, DateTimeOffset now)
    {
        var zone = fleet.Clock.Zone;
        var to = TimeZoneInfo.ConvertTime(now, zone);
        for (var day = TimeZoneInfo.ConvertTime(since, zone).Date; day <= to.Date; day = day.AddDays(1))
        {
            if (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            {
                continue;
            }

            foreach (var item in script)
            {
                var local = day + timeOfDay(item);
                var at = new DateTimeOffset(local, zone.GetUtcOffset(local));
                if (at > since && at <= now)
                {
                    yield return (item, day);
                }
            }
        }
    }

    private List<HelpRequestFrame> UnacknowledgedHelp()
    {
        lock (_unacknowledgedHelp)
        {
            return [.. _unacknowledgedHelp];
        }
    }

    private DateTimeOffset StartOfLocalDay(DateTimeOffset now)
    {
        var midnight = TimeZoneInfo.ConvertTime(now, fleet.Clock.Zone).Date;
        // Just before midnight, so a signal scripted at 00:00 is taken too (the window is (since, now]).
        return new DateTimeOffset(midnight, fleet.Clock.Zone.GetUtcOffset(midnight)).AddTicks(-1);
    }

    private async Task<bool> SendSignalsAsync(AgentClient client, List<SafetySignal> signals)
    {
        var batches = new List<SignalsFrame>();
        lock (_unacknowledgedSignals)
        {
            foreach (var chunk in signals.Chunk(ProtocolLimits.MaxSignalsPerFrame))
            {
                var batch = new SignalsFrame(_nextSignalBatch++, chunk);
                _unacknowledgedSignals.Add(batch);
                batches.Add(batch);
            }

            // Bounded like the extension's queue: beyond 20 batches the oldest goes.
            if (_unacknowledgedSignals.Count > MaxUnacknowledgedSignalBatches)
            {
                _unacknowledgedSignals.RemoveRange(0, _unacknowledgedSignals.Count - MaxUnacknowledgedSignalBatches);
            }
        }

        fleet.Metrics.OnSignalsSent(signals.Count);
        foreach (var batch in batches)
        {
            if (!await client.SendAsync(batch))
            {
                return false; // kept: sent again after reconnecting
            }
        }

        return true;
    }

    private async Task ResendUnacknowledgedSignalsAsync(AgentClient client)
    {
        List<SignalsFrame> batches;
        lock (_unacknowledgedSignals)
        {
            batches = [.. _unacknowledgedSignals];
        }

        foreach (var batch in batches)
        {
            await client.SendAsync(batch);
        }
    }

    /// <summary>A screenshot for a safety alert: a painted picture of the current page, only while the policy allows screenshots.</summary>
    private async Task OnSafetyCaptureAsync(AgentClient client, SafetyCaptureFrame capture)
    {
        if (!_safety || !_screenshots)
        {
            return;
        }

        var png = ThumbnailPainter.Paint(SafetyScreenshotWidth, SafetyScreenshotWidth * 10 / 16, _currentSite.Url.GetHashCode(StringComparison.Ordinal), 0, Locked || _curfew);
        var frame = SafetyScreenshotFrame.Encode(ThumbnailFormat.Png, fleet.Time.GetUtcNow(), capture.CaptureId, png);
        if (await client.SendAsync(frame, WebSocketMessageType.Binary))
        {
            fleet.Metrics.OnSafetyScreenshot();
        }
    }

    /// <summary>
    /// Applies a policy once per version, as a real agent would: the web filter (downloading the
    /// categories it names), the curfew lock and whether to report location; then reports the outcome.
    /// </summary>
    private async Task OnPolicyAsync(AgentClient client, PolicyFrame frame)
    {
        if (frame.Version <= PolicyVersion)
        {
            await client.SendAsync(new PolicyStatusFrame(frame.Version, true, null));
            return;
        }

        var policy = PolicyDocument.Read(frame.Document);
        try
        {
            _filter = await fleet.Policies.FilterForAsync(policy, DeviceId!.Value, _credential!.Credential, CancellationToken.None);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            await client.SendAsync(new PolicyStatusFrame(frame.Version, false, [$"webFilter: the filter list could not be downloaded ({e.Message})"]));
            return;
        }

        FirstPolicyAt ??= fleet.Clock.Now;
        _curfew = policy.Boolean("device", "locked");
        _reportLocation = policy.Boolean("monitoring", "location");
        _safety = policy.Boolean("monitoring", "safety");
        _typedText = _safety && policy.Boolean("safety", "typedText");
        _screenshots = _safety && policy.Boolean("safety", "screenshots");
        lock (_unacknowledgedSignals)
        {
            // What was collected under a setting now off never leaves the device.
            if (!_safety)
            {
                _unacknowledgedSignals.Clear();
            }
            else if (!_typedText)
            {
                for (var i = _unacknowledgedSignals.Count - 1; i >= 0; i--)
                {
                    var kept = _unacknowledgedSignals[i].Signals.Where(s => s.Source != SignalSources.Typed).ToList();
                    if (kept.Count == 0)
                    {
                        _unacknowledgedSignals.RemoveAt(i);
                    }
                    else if (kept.Count != _unacknowledgedSignals[i].Signals.Count)
                    {
                        _unacknowledgedSignals[i] = _unacknowledgedSignals[i] with { Signals = kept };
                    }
                }
            }
        }

        Interlocked.Exchange(ref _policyVersion, frame.Version);
        await client.SendAsync(new PolicyStatusFrame(frame.Version, true, null));
        fleet.Metrics.OnPolicyApplied(frame.Version, spec.Index, fleet.Time.GetTimestamp());
    }

    private async Task OnCommandAsync(AgentClient client, CommandFrame command)
    {
        string? earlier;
        lock (_executed)
        {
            _executed.TryGetValue(command.CommandId, out earlier);
        }

        fleet.Metrics.OnCommand(repeat: earlier is not null);
        if (earlier is not null)
        {
            await client.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Succeeded, Result: earlier));
            return;
        }

        if (command.ExpiresAt < fleet.Time.GetUtcNow())
        {
            await client.SendAsync(new CommandStatusFrame(command.CommandId, CommandStatusValues.Failed, Error: "expired before it arrived"));
            return;
        }

        await client.SendAsync(new CommandStatusFrame(command.CommandId, StatusAcknowledgedThenSucceeded[0]));
        fleet.Metrics.OnCommandAcknowledged(command.CommandId, spec.Index, fleet.Time.GetTimestamp());
        if (_random.NextDouble() < fleet.Options.SlowAnswerChance)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200 + _random.Next(1500)), fleet.Time);
        }

        var (ok, result) = command.Kind is CommandKinds.InstallPackage or CommandKinds.RemovePackage
            ? await PackageAsync(client, command)
            : Execute(command);
        if (ok && command.Kind == CommandKinds.Diagnose)
        {
            // Like the agent: the report first, then the command's final status.
            var report = await SimulatedDiagnostics.GatherAsync(
                spec, OsVersion, PolicyVersion, _battery, command.CommandId, command.Arguments, fleet.Http, fleet.Options.Server, fleet.Options.Seed, fleet.Time, CancellationToken.None);
            await client.SendAsync(report);
            var failed = report.Report.Connectivity?.Count(c => !c.Ok) ?? 0;
            result = failed == 0 ? "report sent" : $"report sent; {failed} connection test(s) failed";
        }
        else if (ok && command.Kind == CommandKinds.RunScript)
        {
            // Like the agent: the result first. Nothing runs: the output is made up from the script's name and the device.
            var name = command.Arguments?.GetValueOrDefault("name") ?? "script";
            await client.SendAsync(new ScriptResultFrame(command.CommandId, 0, false, 40 + (spec.Index % 50),
                $"{spec.Name}: ran '{name}' (simulated)\n", "", false));
        }

        Remember(command.CommandId, result);
        await client.SendAsync(ok
            ? new CommandStatusFrame(command.CommandId, StatusAcknowledgedThenSucceeded[1], Result: result)
            : new CommandStatusFrame(command.CommandId, CommandStatusValues.Failed, Error: result));
        if (ok && command.Kind == CommandKinds.Restart)
        {
            await client.CloseAsync();
        }
    }

    /// <summary>
    /// A desktop's package command, as the desktop agent carries it out: the package tool's time, sometimes its failure in
    /// the platform's words, and a fresh inventory listing the packages before the final status (docs/agent-protocol.md).
    /// </summary>
    private async Task<(bool Ok, string Result)> PackageAsync(AgentClient client, CommandFrame command)
    {
        if (spec.Platform is not (DevicePlatform.Windows or DevicePlatform.Linux or DevicePlatform.MacOS))
        {
            return (false, $"unsupported command '{command.Kind}'");
        }

        var package = command.Arguments?.GetValueOrDefault("package");
        if (string.IsNullOrEmpty(package) || package.Length > 255)
        {
            return (false, "the command names no package");
        }

        var install = command.Kind == CommandKinds.InstallPackage;
        bool present;
        lock (_packages)
        {
            present = _packages.Contains(package);
        }

        if (present == install && (!install || spec.Platform != DevicePlatform.MacOS))
        {
            return (true, install ? "already installed" : "not installed");
        }

        await Task.Delay(TimeSpan.FromMilliseconds(_random.NextDouble() * fleet.Options.PackageWork.TotalMilliseconds), fleet.Time);
        if (_random.NextDouble() < fleet.Options.PackageFailureChance)
        {
            return (false, (spec.Platform, install) switch
            {
                (DevicePlatform.Windows, true) => $"winget install failed (0x8A150107: no network connection) for {package}",
                (DevicePlatform.Windows, false) => $"winget uninstall failed (0x8A150029: {package} is in use)",
                (DevicePlatform.Linux, true) => $"apt-get install exited with 100: E: Failed to fetch {package}: Temporary failure resolving 'deb.debian.org'",
                (DevicePlatform.Linux, false) => $"dpkg -r exited with 2: dpkg: dependency problems prevent removal of {package}",
                (_, true) => $"the package for {package} could not be downloaded (the request timed out)",
                _ => $"the app bundle of {package} is in use and was left in place",
            });
        }

        lock (_packages)
        {
            if (install)
            {
                _packages.Add(package);
            }
            else
            {
                _packages.Remove(package);
            }
        }

        await client.SendAsync(Inventory());
        return (true, (spec.Platform, install) switch
        {
            (DevicePlatform.Windows, true) => "installed with winget",
            (DevicePlatform.Linux, true) => $"installed {package} with apt-get",
            (_, true) => "installed with installer",
            _ => "removed",
        });
    }

    private (bool Ok, string Result) Execute(CommandFrame command)
    {
        string Argument(string name) => command.Arguments?.GetValueOrDefault(name) ?? string.Empty;
        switch (command.Kind)
        {
            case CommandKinds.Lock:
                Locked = true;
                return (true, "locked");
            case CommandKinds.Unlock:
                Locked = false;
                return (true, "unlocked");
            case CommandKinds.Message:
                LastMessage = Argument("text");
                return (true, "shown");
            case CommandKinds.OpenUrl:
                _currentSite = new Site(Argument("url"), Argument("url"), 0);
                return (true, "opened");
            case CommandKinds.CloseTab:
                return (true, "closed 1 tab");
            case CommandKinds.Restart:
                return (true, "restarting");
            case CommandKinds.Locate:
                var here = Locate(fleet.Clock.LocalHour);
                return (true, FormattableString.Invariant($"{here.Latitude:F5},{here.Longitude:F5}"));
            case CommandKinds.Ping:
                return (true, "pong");
            case CommandKinds.Focus:
                FocusSites = Homeroom.Rules.Commands.FocusSites.Parse(Argument("sites"), out _);
                return (true, "focused");
            case CommandKinds.EndFocus:
                FocusSites = null;
                return (true, "unfocused");
            case CommandKinds.Diagnose:
                return (true, "report sent");
            case CommandKinds.RunScript:
                return (true, "exit code 0");
            default:
                return (false, $"unsupported command '{command.Kind}'");
        }
    }

    private void Remember(Guid commandId, string result)
    {
        lock (_executed)
        {
            _executed[commandId] = result;
            _executedOrder.Enqueue(commandId);
            if (_executedOrder.Count > 1000)
            {
                _executed.Remove(_executedOrder.Dequeue());
            }
        }
    }

    private void OnScreenView(AgentClient client, ScreenViewFrame view)
    {
        StopScreenView();
        if (!view.Active)
        {
            return;
        }

        var cts = new CancellationTokenSource();
        _screenView = cts;
        var width = Math.Clamp(view.MaxWidth, 64, 400);
        var height = width * 10 / 16;
        var interval = TimeSpan.FromMilliseconds(Math.Clamp(view.IntervalMilliseconds, 250, 10_000));
        _ = Task.Run(async () =>
        {
            long frame = 0;
            using var timer = new PeriodicTimer(interval, fleet.Time);
            while (!cts.IsCancellationRequested && client.State == WebSocketState.Open)
            {
                var png = ThumbnailPainter.Paint(width, height, _currentSite.Url.GetHashCode(StringComparison.Ordinal), frame++, Locked || _curfew);
                var thumbnail = ThumbnailFrame.Encode(ThumbnailFormat.Png, fleet.Time.GetUtcNow(), png);
                if (!await client.SendAsync(thumbnail, WebSocketMessageType.Binary))
                {
                    break;
                }

                fleet.Metrics.OnThumbnail(thumbnail.Length);
                try
                {
                    await timer.WaitForNextTickAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
    }

    private void StopScreenView()
    {
        _screenView?.Cancel();
        _screenView?.Dispose();
        _screenView = null;
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, fleet.Time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
