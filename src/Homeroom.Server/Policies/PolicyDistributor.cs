using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Policies;
using Homeroom.Server.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Filtering;
using Homeroom.Server.Hosting.Cluster;
using Homeroom.Server.Locations;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Policies;

/// <summary>
/// Keeps every device's policy current. After any change (profiles, assignments, zones, filter
/// lists, roster, a device's school or assignee), at every schedule boundary, when a device changes
/// zones, when it connects, and in a sweep every <see cref="PolicyOptions.SweepInterval"/>, it
/// resolves the affected devices' effective policies; a device whose policy document changed
/// gets the next version, stored first, then sent if it is online. Offline devices get theirs when
/// they connect. Versions only grow and a device applies each once, so sending twice is harmless.
/// On several nodes (PostgreSQL), a pass tells the other nodes through the backplane which devices it stored a new
/// version for that are not connected here, and the node holding each sends it. The sweep runs on one node at a time,
/// under the <see cref="ScheduleJob"/> lease; a schedule boundary's pass on the first node due at it that claims
/// <see cref="BoundaryJob"/> (any node that resolved the fleet knows the boundary: the sweep's holder, or the node that
/// took the change that made it). Passes a change starts run on the node that took the change, passes for connecting
/// devices on the node they connect to.
/// </summary>
public sealed class PolicyDistributor(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    BulkSql bulk,
    ConnectionRegistry registry,
    ZoneMembership zones,
    BoundsRules bounds,
    FilterListStore filterLists,
    IssueCommand issueCommand,
    BackplanePublisher backplane,
    JobLeases leases,
    Microsoft.Extensions.Options.IOptions<PolicyOptions> options,
    TimeProvider time,
    ILogger<PolicyDistributor> logger) : BackgroundService
{
    /// <summary>Largest policy document sent to a device.</summary>
    public const int MaxDocumentBytes = 256 * 1024;

    public const string TooLargeFailure = "The effective policy is larger than 256 KB; the previous policy stays in force.";

    /// <summary>The lease (in <c>job_leases</c>) of the passes a clock starts: schedule boundaries and the sweep.</summary>
    public const string ScheduleJob = "PolicySchedule";

    /// <summary>How often the node holding <see cref="ScheduleJob"/> renews it and the others try to take it; it lasts a few of these.</summary>
    public static readonly TimeSpan ScheduleLeaseTick = TimeSpan.FromMinutes(1);

    /// <summary>The claim (in <c>job_leases</c>) on the pass at a schedule boundary: the first node due takes it, the others skip that boundary.</summary>
    public const string BoundaryJob = "PolicyBoundary";

    /// <summary>How long a boundary claim lasts: shorter than the gap between two boundaries (whole minutes).</summary>
    public static readonly TimeSpan BoundaryClaim = TimeSpan.FromSeconds(30);

    private const string UpsertSql = """
        INSERT INTO device_policies (device_id, version, hash, computed_at) VALUES (@d, @v, @h, @t)
        ON CONFLICT (device_id) DO UPDATE SET version = excluded.version, hash = excluded.hash, computed_at = excluded.computed_at
        """;

    private const string ReportSql = """
        UPDATE device_policies SET reported_version = @v, reported_applied = @a, reported_failures = @f, reported_at = @t
        WHERE device_id = @d AND reported_version <= @v
        """;

    private readonly SemaphoreSlim _wake = new(0);
    private readonly ConcurrentQueue<(Guid Id, long? Applied)> _devices = new();
    private readonly ConcurrentQueue<(Guid Id, PolicyStatusFrame Status, DateTime At)> _reports = new();
    private int _allRequested = 1;
    private DateTimeOffset? _nextBoundary;

    /// <summary>Raised after each pass with the devices resolved and the versions sent.</summary>
    public event Action<PolicyPass>? PassCompleted;

    /// <summary>
    /// Raised for each device a pass resolved, changed or not, before its version is stored, so caches that read
    /// settings from the effective policy take the fresh answer instead of loading the device again.
    /// </summary>
    public event Action<DeviceResolution>? DeviceResolved;

    /// <summary>Re-resolve every device (after a change to profiles, assignments, zones, lists or the roster).</summary>
    public void RequestAll()
    {
        Interlocked.Exchange(ref _allRequested, 1);
        Wake();
    }

    /// <summary>Re-resolve one device (it changed zones).</summary>
    public void RequestDevice(Guid deviceId)
    {
        _devices.Enqueue((deviceId, null));
        Wake();
    }

    /// <summary>A device connected having applied <paramref name="appliedVersion"/>; it gets the current policy if that is newer.</summary>
    public void DeviceConnected(Guid deviceId, long appliedVersion)
    {
        _devices.Enqueue((deviceId, appliedVersion));
        Wake();
    }

    /// <summary>
    /// An Apple device acknowledged the profile for <paramref name="appliedVersion"/>; when the current version is newer
    /// (it was stored while that profile was being fetched), its profile is queued again.
    /// </summary>
    public void ProfileApplied(Guid deviceId, long appliedVersion) => DeviceConnected(deviceId, appliedVersion);

    /// <summary>
    /// Another node stored a new policy version for this device, which is connected here: it gets its current version
    /// (from a backplane notice or the backplane's sweep, which passes the version the device last reported).
    /// </summary>
    public void PolicyStoredElsewhere(Guid deviceId, long reportedVersion = 0) => DeviceConnected(deviceId, reportedVersion);

    /// <summary>A device reported applying (or failing to apply) a version.</summary>
    public void Report(Guid deviceId, PolicyStatusFrame status)
    {
        _reports.Enqueue((deviceId, status, time.GetUtcNow().UtcDateTime));
        Wake();
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        filterLists.Changed += RequestAll;
        var sweep = options.Value.SweepInterval;
        var nextSweep = time.GetUtcNow() + sweep;
        var nextLeaseTick = time.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var until = _nextBoundary is { } boundary && boundary < nextSweep ? boundary : nextSweep;
            until = nextLeaseTick < until ? nextLeaseTick : until;
            var wait = TimeSpan.FromMilliseconds(Math.Clamp((until - now).TotalMilliseconds, 0, sweep.TotalMilliseconds));
            await _wake.WaitAsync(wait, stoppingToken);
            Dictionary<Guid, long?>? batch = null;
            try
            {
                now = time.GetUtcNow();
                if (_nextBoundary is { } due && now >= due)
                {
                    // Every node that knows the boundary is due at once; the first to claim it resolves the fleet.
                    var claimed = await leases.TryTakeAsync(BoundaryJob, BoundaryClaim, stoppingToken);
                    leases.Count(BoundaryJob, claimed);
                    if (claimed)
                    {
                        Interlocked.Exchange(ref _allRequested, 1);
                    }
                    else
                    {
                        _nextBoundary = null; // the node that ran it knows the next one
                    }
                }

                var sweepDue = now >= nextSweep;
                if (sweepDue || now >= nextLeaseTick)
                {
                    // One node sweeps; the others keep trying for the lease, so one takes over when it stops.
                    nextLeaseTick = now + ScheduleLeaseTick;
                    var held = await leases.TryTakeAsync(ScheduleJob, leases.LeaseFor(ScheduleLeaseTick), stoppingToken);
                    leases.Count(ScheduleJob, held);
                    if (sweepDue && held)
                    {
                        Interlocked.Exchange(ref _allRequested, 1);
                    }
                    else if (sweepDue)
                    {
                        nextSweep = now + sweep;
                    }
                }

                if (Volatile.Read(ref _allRequested) == 1)
                {
                    nextSweep = now + sweep;
                }

                await WriteReportsAsync(stoppingToken);
                if (Interlocked.Exchange(ref _allRequested, 0) == 1)
                {
                    // A full pass resolves these devices too, but still owes the ones that just connected their current version.
                    batch = DrainDevices();
                    await PassAsync(null, batch, stoppingToken);
                }
                else if (!_devices.IsEmpty)
                {
                    batch = DrainDevices();
                    await PassAsync(batch.Keys.ToList(), batch, stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                PoliciesLog.PassFailed(logger, e);
                foreach (var (id, applied) in batch ?? [])
                {
                    _devices.Enqueue((id, applied)); // the retry still owes them their version
                }

                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
                Interlocked.Exchange(ref _allRequested, 1);
            }
        }
    }

    /// <summary>The devices queued since the last pass, each with the version it said it applied when it connected (null when it only moved).</summary>
    private Dictionary<Guid, long?> DrainDevices()
    {
        var batch = new Dictionary<Guid, long?>();
        while (_devices.TryDequeue(out var item))
        {
            batch[item.Id] = item.Applied ?? batch.GetValueOrDefault(item.Id);
        }

        return batch;
    }

    /// <summary>
    /// Resolves devices (all when <paramref name="ids"/> is null), stores new versions and sends them: to
    /// every online device whose version changed, and to each device in <paramref name="connected"/> that
    /// applied an older version than its current one.
    /// </summary>
    private async Task PassAsync(List<Guid>? ids, Dictionary<Guid, long?> connected, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var now = time.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var model = await PolicyModel.LoadAsync(db, cancellationToken);
        if (ids is not null)
        {
            ids = await DeviceScopes.WithCompanionsAsync(db, ids, cancellationToken);
        }

        var scopes = await DeviceScopes.LoadAsync(db, ids, zones.InsideZones, cancellationToken);
        var catalog = await Apps.CatalogDocument.LoadAsync(db, ids, cancellationToken);
        var stored = await (ids is null ? db.DevicePolicies.AsNoTracking() : db.DevicePolicies.AsNoTracking().Where(p => ids.Contains(p.DeviceId)))
            .Select(p => new { p.DeviceId, p.Version, p.Hash })
            .ToDictionaryAsync(p => p.DeviceId, cancellationToken);

        var listVersion = filterLists.Version;
        var changed = new List<(Guid Id, long Version, string Hash)>();
        var sends = new List<(AgentConnection Connection, PolicyFrame Frame)>();
        var tooLarge = new List<(Guid Id, long Version)>();
        var behind = new List<Guid>();
        DateTimeOffset? nextBoundary = ids is null ? null : _nextBoundary;
        foreach (var (scope, applied) in scopes)
        {
            var effective = PolicyResolver.Resolve(model.Assignments, model.Profiles, scope, now, model.TimeZoneOf(scope.SchoolId));
            if (effective.ValidUntil is { } until && (nextBoundary is null || until < nextBoundary))
            {
                nextBoundary = until;
            }

            DeviceResolved?.Invoke(new DeviceResolution(scope.DeviceId, effective, model.TimeZoneOf(scope.SchoolId), now));
            var values = effective.Values;
            bounds.Set(scope.DeviceId, new DeviceBounds(
                PolicySettings.Strings(values, "location.allowedZones").Select(Guid.Parse).ToList(),
                values["location.outOfBoundsMessage"].GetValue<string>()));

            var document = Document(effective, listVersion, LocationContext(effective, model.TimeZoneOf(scope.SchoolId), zones));
            if (catalog.For(scope) is { } apps)
            {
                document["catalog"] = apps;
            }

            var bytes = JsonSerializer.SerializeToUtf8Bytes(document);
            var previous = stored.GetValueOrDefault(scope.DeviceId);
            if (bytes.Length > MaxDocumentBytes)
            {
                // Nothing is sent or stored: the device keeps its current version, and the reason shows in compliance.
                tooLarge.Add((scope.DeviceId, previous?.Version ?? 0));
                if (previous is null)
                {
                    changed.Add((scope.DeviceId, 0, "none")); // a row for the failure to be recorded on
                }

                continue;
            }

            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..32];
            var version = previous?.Version ?? 0;
            var isNew = previous?.Hash != hash;
            if (isNew)
            {
                version++;
                changed.Add((scope.DeviceId, version, hash));
            }

            // A device that connected (or was named by another node) is owed its version when neither what it said it had
            // applied nor what this connection was already sent is as new.
            var connection = registry.Get(scope.DeviceId);
            var reconnectBehind = connected.GetValueOrDefault(scope.DeviceId) is { } appliedNow
                && Math.Max(appliedNow, connection?.PolicyVersion ?? 0) < version;
            if ((isNew || reconnectBehind) && connection is not null)
            {
                using var element = JsonDocument.Parse(bytes);
                sends.Add((connection, new PolicyFrame(version, element.RootElement.Clone())));
            }
            else if (reconnectBehind && !isNew)
            {
                behind.Add(scope.DeviceId); // an Apple device that acknowledged an older profile (no agent connection)
            }
        }

        if (ids is null)
        {
            _nextBoundary = nextBoundary;
        }
        else if (nextBoundary is { } candidate && (_nextBoundary is null || candidate < _nextBoundary))
        {
            _nextBoundary = candidate;
        }

        await StoreAsync(changed, now.UtcDateTime, cancellationToken);
        foreach (var (id, version) in tooLarge)
        {
            _reports.Enqueue((id, new PolicyStatusFrame(version, false, [TooLargeFailure]), now.UtcDateTime));
            PoliciesLog.TooLarge(logger, id);
        }

        if (tooLarge.Count > 0)
        {
            Wake();
        }

        await Parallel.ForEachAsync(sends, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
            async (send, _) =>
            {
                if (await send.Connection.SendAsync(send.Frame))
                {
                    send.Connection.PolicySent(send.Frame.Version);
                }
            });
        if (backplane.Enabled)
        {
            // Devices connected to other nodes get their new versions from the node that holds them.
            backplane.DevicesHavePolicy(changed.Where(c => c.Version > 0 && registry.Get(c.Id) is null).Select(c => c.Id));
        }

        await QueueAppleProfilesAsync(db, [.. changed.Where(c => c.Version > 0).Select(c => c.Id), .. behind], cancellationToken);

        var pass = new PolicyPass(scopes.Count, changed.Count, sends.Count, time.GetElapsedTime(started), ids is null, now);
        if (pass.Full)
        {
            PoliciesLog.Pass(logger, pass.Devices, pass.Changed, pass.Sent, pass.Elapsed.TotalMilliseconds);
        }
        else
        {
            PoliciesLog.DevicePass(logger, pass.Devices, pass.Changed, pass.Sent, pass.Elapsed.TotalMilliseconds);
        }
        PassCompleted?.Invoke(pass);
    }

    // Apple devices take a policy as a configuration profile through MDM: queue one install per changed
    // device, unless one is already waiting (it is built from the policy as it is when the device fetches it).
    private async Task QueueAppleProfilesAsync(HomeroomDbContext db, List<Guid> changed, CancellationToken cancellationToken)
    {
        if (changed.Count == 0)
        {
            return;
        }

        var apple = new List<Guid>();
        foreach (var chunk in changed.Chunk(5_000))
        {
            apple.AddRange(await db.AppleDevices.Where(a => chunk.Contains(a.DeviceId) && a.CheckedOutAt == null)
                .Where(a => !db.CommandDeliveries.Any(d => d.DeviceId == a.DeviceId && d.Status == Rules.Commands.DeliveryStatus.Queued
                    && db.Commands.Any(c => c.Id == d.CommandId && c.Kind == CommandKinds.ApplyPolicy)))
                .Select(a => a.DeviceId)
                .ToListAsync(cancellationToken));
        }

        if (apple.Count > 0)
        {
            await issueCommand.ExecuteAsync(Accounts.StaffScope.System, CommandKinds.ApplyPolicy, null, new CommandTarget(apple, null, null), TimeSpan.FromDays(14), cancellationToken);
        }
    }

    /// <summary>Most zone vertices (and circles) sent in one document; beyond it <c>geo.zones</c> is left out.</summary>
    public const int MaxZonePoints = 5_000;

    /// <summary>
    /// The document a device receives: its settings plus the filter-list version to download and,
    /// when <paramref name="location"/> is given, <c>geo</c>: the school's time zone (IANA id, in which
    /// <c>location.reportingHours</c> is read) and the shapes of the allowed zones, so the agent can
    /// tell how far it is from a boundary (docs/agent-protocol.md).
    /// </summary>
    public static JsonObject Document(EffectivePolicy effective, string listVersion, DeviceLocationContext? location = null)
    {
        var document = effective.ToDocument();
        document["filter"] = new JsonObject { ["listVersion"] = listVersion };
        if (location is not null)
        {
            var geo = new JsonObject { ["timeZone"] = IanaId(location.TimeZone) };
            if (ZoneGeometry(location.Zones) is { } shapes)
            {
                geo["zones"] = shapes;
            }

            document["geo"] = geo;
        }

        return document;
    }

    /// <summary>What a device's document needs besides its settings: its school's time zone and its allowed zones' shapes.</summary>
    public static DeviceLocationContext LocationContext(EffectivePolicy effective, TimeZoneInfo timeZone, ZoneMembership zones) => new(
        timeZone,
        PolicySettings.Strings(effective.Values, "location.allowedZones")
            .Select(id => Guid.TryParse(id, out var zoneId) ? zones.Find(zoneId)?.Shape : null)
            .OfType<Rules.Zones.ZoneShape>()
            .ToList());

    private static string IanaId(TimeZoneInfo zone) =>
        zone.HasIanaId ? zone.Id : TimeZoneInfo.TryConvertWindowsIdToIanaId(zone.Id, out var iana) ? iana : "UTC";

    // Circles as centre and radius, polygons as rings of flat [lon, lat, lon, lat, ...] (the outer ring
    // first, then holes), rounded to about 10 cm: all an agent needs to measure a distance to the boundary.
    private static JsonArray? ZoneGeometry(IReadOnlyList<Rules.Zones.ZoneShape> shapes)
    {
        var points = 0;
        var result = new JsonArray();
        foreach (var shape in shapes)
        {
            switch (shape)
            {
                case Rules.Zones.CircleZone circle:
                    points++;
                    result.Add(new JsonObject
                    {
                        ["circle"] = new JsonArray(Round(circle.Center.Longitude), Round(circle.Center.Latitude), Math.Round(circle.RadiusMeters, 1)),
                    });
                    break;
                case Rules.Zones.PolygonZone polygon:
                    foreach (var part in polygon.Polygons)
                    {
                        var rings = new JsonArray();
                        foreach (var ring in part.Holes.Prepend(part.Outer))
                        {
                            points += ring.Count;
                            rings.Add(new JsonArray([.. ring.SelectMany(p => new[] { Round(p.Longitude), Round(p.Latitude) }).Select(v => (JsonNode)JsonValue.Create(v))]));
                        }

                        result.Add(new JsonObject { ["rings"] = rings });
                    }

                    break;
            }
        }

        return points is 0 or > MaxZonePoints ? null : result;
    }

    private static double Round(double degrees) => Math.Round(degrees, 6);

    private async Task StoreAsync(List<(Guid Id, long Version, string Hash)> changed, DateTime now, CancellationToken cancellationToken)
    {
        foreach (var slice in changed.Chunk(2_000))
        {
            await using var connection = await bulk.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await bulk.ExecuteManyAsync(connection, transaction, UpsertSql, ["@d", "@v", "@h", "@t"], slice, (c, v) =>
            {
                v[0] = bulk.Id(c.Id);
                v[1] = c.Version;
                v[2] = c.Hash;
                v[3] = now;
            }, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
    }

    private async Task WriteReportsAsync(CancellationToken cancellationToken)
    {
        var reports = new List<(Guid Id, PolicyStatusFrame Status, DateTime At)>();
        while (reports.Count < 10_000 && _reports.TryDequeue(out var report))
        {
            reports.Add(report);
        }

        if (reports.Count == 0)
        {
            return;
        }

        await using var connection = await bulk.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await bulk.ExecuteManyAsync(connection, transaction, ReportSql, ["@v", "@a", "@f", "@t", "@d"], reports, (r, v) =>
        {
            v[0] = r.Status.Version;
            v[1] = r.Status.Applied;
            v[2] = r.Status.Failures is { Count: > 0 } failures ? string.Join('\n', failures.Take(20)) : null;
            v[3] = r.At;
            v[4] = bulk.Id(r.Id);
        }, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}

/// <summary>The location part of a device's document: the time zone its reporting hours are read in, and its allowed zones.</summary>
public sealed record DeviceLocationContext(TimeZoneInfo TimeZone, IReadOnlyList<Rules.Zones.ZoneShape> Zones);

/// <summary>One distribution pass: devices resolved, versions changed, frames sent, time taken, and the time it resolved at.</summary>
public sealed record PolicyPass(int Devices, int Changed, int Sent, TimeSpan Elapsed, bool Full, DateTimeOffset ResolvedAt);

/// <summary>One device's effective policy as a pass resolved it at <paramref name="ResolvedAt"/>, in its school's time zone.</summary>
public sealed record DeviceResolution(Guid DeviceId, EffectivePolicy Effective, TimeZoneInfo TimeZone, DateTimeOffset ResolvedAt);

internal static partial class PoliciesLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Policy pass: {Devices} devices resolved, {Changed} new versions, {Sent} sent in {Milliseconds:F0} ms")]
    public static partial void Pass(ILogger logger, int devices, int changed, int sent, double milliseconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Policy pass for connecting or moving devices: {Devices} resolved, {Changed} new versions, {Sent} sent in {Milliseconds:F0} ms")]
    public static partial void DevicePass(ILogger logger, int devices, int changed, int sent, double milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "A policy pass failed; retrying")]
    public static partial void PassFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "The effective policy of device {DeviceId} is too large to send; its previous policy stays in force")]
    public static partial void TooLarge(ILogger logger, Guid deviceId);
}
