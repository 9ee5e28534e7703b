using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Diagnostics;

/// <summary>A stored report as staff read it, with its checks.</summary>
public sealed record DiagnosticsReportDto(
    Guid Id, Guid DeviceId, Guid CommandId, string Source, string RequestedBy, DateTime RequestedAt, DateTime ReceivedAt,
    int FailedChecks, IReadOnlyList<DiagnosticsCheck> Checks, DiagnosticsReport Report);

/// <summary>The newest diagnose command of a device that has no report yet, and where it is.</summary>
public sealed record PendingDiagnosticsDto(Guid CommandId, string RequestedBy, DateTime RequestedAt, DeliveryStatus Status, string? Error);

/// <summary>A device's diagnostics: the newest report and a request still under way (or failed).</summary>
public sealed record DeviceDiagnosticsDto(Guid DeviceId, DiagnosticsReportDto? Latest, PendingDiagnosticsDto? Pending);

/// <summary>A device's newest report in brief, as a group's list shows it.</summary>
public sealed record DiagnosticsBriefDto(Guid Id, Guid CommandId, string Source, DateTime ReceivedAt, int FailedChecks);

/// <summary>One device of a group: its newest report in brief and a request still under way (or failed).</summary>
public sealed record GroupDeviceDiagnosticsDto(Guid DeviceId, string DeviceName, DiagnosticsBriefDto? Latest, PendingDiagnosticsDto? Pending);

/// <summary>
/// A device's newest report in brief, as the IT queue shows it beside a help request: when it was gathered and came,
/// OS and agent versions, uptime, storage, memory, batteries (with their health), the connection tests, how many
/// checks failed and those checks (<c>Problems</c>) with why.
/// </summary>
public sealed record DiagnosticsSummaryDto(
    Guid Id, Guid CommandId, string Source, string RequestedBy, DateTimeOffset GatheredAt, DateTime ReceivedAt,
    string? OsName, string? OsVersion, string? AgentVersion, long? UptimeSeconds,
    IReadOnlyList<DiskReport> Storage, MemoryReport? Memory, IReadOnlyList<BatteryReport> Batteries,
    IReadOnlyList<ConnectivityCheck> Connectivity, int FailedChecks, IReadOnlyList<DiagnosticsCheck> Problems);

/// <summary>
/// A device's newest report in brief and a request still under way or failed; <see cref="NewerOnItsWay"/> when a
/// request newer than the report is waiting for the device or being answered.
/// </summary>
public sealed record DeviceDiagnosticsSummaryDto(Guid DeviceId, DiagnosticsSummaryDto? Latest, PendingDiagnosticsDto? Pending, bool NewerOnItsWay);

/// <summary>
/// Stores the reports devices answer to <c>diagnose</c> (an agent's <see cref="DiagnosticsFrame"/>, an Apple device's
/// DeviceInformation answer), only for a diagnose command sent to that device and once per command, keeping the newest
/// <see cref="DiagnosticsOptions.KeepPerDevice"/> (written in batches by <see cref="DiagnosticsWriter"/>); and reads them for staff within their scope.
/// </summary>
public sealed class DiagnosticsStore(
    IDbContextFactory<HomeroomDbContext> dbFactory, DiagnosticsWriter writer, IOptions<DiagnosticsOptions> options, TimeProvider time)
{
    public const string AgentSource = "agent";
    public const string AppleSource = "apple";

    /// <summary>Stores an agent's report; false when it answers no diagnose command sent to this device, or was stored already.</summary>
    public async Task<bool> AcceptAsync(Guid deviceId, DiagnosticsFrame frame, CancellationToken cancellationToken = default) =>
        await StoreAsync(deviceId, frame.CommandId, AgentSource, frame.Report, cancellationToken);

    /// <summary>Stores an Apple device's DeviceInformation answer to a diagnose command as a report.</summary>
    public Task<bool> AcceptAppleAsync(Guid deviceId, Guid commandId, IReadOnlyDictionary<string, object> responses, DevicePlatform platform, CancellationToken cancellationToken = default) =>
        StoreAsync(deviceId, commandId, AppleSource, AppleReport(responses, platform, time.GetUtcNow()), cancellationToken);

    // Through the batching writer: many devices answering a group's request share a transaction.
    private async Task<bool> StoreAsync(Guid deviceId, Guid commandId, string source, DiagnosticsReport report, CancellationToken cancellationToken)
    {
        var outcome = await writer.WriteAsync(new PendingDiagnostics(deviceId, commandId, source, report), cancellationToken);
        return outcome.IsAccepted;
    }

    /// <summary>The newest report of a device of the scope and a request under way; null when the device is not in the scope.</summary>
    public async Task<DeviceDiagnosticsDto?> LatestAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.RunDiagnostics);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == deviceId, cancellationToken))
        {
            return null;
        }

        var latest = await db.Set<DeviceDiagnosticsRecord>().AsNoTracking().Where(r => r.DeviceId == deviceId)
            .OrderByDescending(r => r.ReceivedAt).ThenByDescending(r => r.Id).FirstOrDefaultAsync(cancellationToken);
        var newest = await (
            from d in db.CommandDeliveries.AsNoTracking()
            join c in db.Commands.AsNoTracking() on d.CommandId equals c.Id
            where d.DeviceId == deviceId && c.Kind == CommandKinds.Diagnose
            orderby c.IssuedAt descending, c.Id descending
            select new PendingDiagnosticsDto(c.Id, c.IssuedBy, c.IssuedAt, d.Status, d.Error))
            .FirstOrDefaultAsync(cancellationToken);
        var pending = newest is not null && newest.CommandId != latest?.CommandId && (latest is null || newest.RequestedAt >= latest.RequestedAt) ? newest : null;
        return new DeviceDiagnosticsDto(deviceId, latest is null ? null : ToDto(latest), pending);
    }

    /// <summary>The newest report of a device of the scope in brief and a request under way; null when the device is not in the scope.</summary>
    public async Task<DeviceDiagnosticsSummaryDto?> SummaryAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        if (await LatestAsync(scope, deviceId, cancellationToken) is not { } state)
        {
            return null;
        }

        var summary = state.Latest is not { } latest ? null : new DiagnosticsSummaryDto(
            latest.Id, latest.CommandId, latest.Source, latest.RequestedBy, latest.Report.GatheredAt, latest.ReceivedAt,
            latest.Report.OsName, latest.Report.OsVersion, latest.Report.AgentVersion, latest.Report.UptimeSeconds,
            latest.Report.Disks ?? [], latest.Report.Memory, latest.Report.Batteries ?? [], latest.Report.Connectivity ?? [],
            latest.FailedChecks, latest.Checks.Where(c => !c.Ok).ToList());
        var onItsWay = state.Pending is { Status: DeliveryStatus.Queued or DeliveryStatus.Sent or DeliveryStatus.Acknowledged };
        return new DeviceDiagnosticsSummaryDto(deviceId, summary, state.Pending, onItsWay);
    }

    /// <summary>Every kept report of a device of the scope, newest first; null when the device is not in the scope.</summary>
    public async Task<List<DiagnosticsReportDto>?> HistoryAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.RunDiagnostics);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == deviceId, cancellationToken))
        {
            return null;
        }

        var rows = await db.Set<DeviceDiagnosticsRecord>().AsNoTracking().Where(r => r.DeviceId == deviceId)
            .OrderByDescending(r => r.ReceivedAt).ThenByDescending(r => r.Id).ToListAsync(cancellationToken);
        return rows.Select(ToDto).ToList();
    }

    /// <summary>
    /// Every device of a group of the scope with its newest report in brief and a newer request under way; null when the
    /// group is not in the scope. Reads a fixed number of queries whatever the group's size.
    /// </summary>
    public async Task<List<GroupDeviceDiagnosticsDto>?> GroupAsync(StaffScope scope, Guid groupId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.RunDiagnostics);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Groups(db).AnyAsync(g => g.Id == groupId, cancellationToken))
        {
            return null;
        }

        var devices = scope.Devices(db).InGroup(db, groupId);
        var members = await devices.OrderBy(d => d.Name).ThenBy(d => d.Id).Select(d => new { d.Id, d.Name }).ToListAsync(cancellationToken);
        var reports = await (
            from r in db.Set<DeviceDiagnosticsRecord>().AsNoTracking()
            join d in devices on r.DeviceId equals d.Id
            select new { r.DeviceId, Brief = new DiagnosticsBriefDto(r.Id, r.CommandId, r.Source, r.ReceivedAt, r.FailedChecks), r.RequestedAt })
            .ToListAsync(cancellationToken);
        // Only requests of the last hour can still be under way; older ones have a report, failed or expired.
        var since = time.GetUtcNow().UtcDateTime - DeviceDiagnostics.TimeToLive;
        var requests = await (
            from dl in db.CommandDeliveries.AsNoTracking()
            join c in db.Commands.AsNoTracking() on dl.CommandId equals c.Id
            join d in devices on dl.DeviceId equals d.Id
            where c.Kind == CommandKinds.Diagnose && c.IssuedAt >= since
            select new { dl.DeviceId, Pending = new PendingDiagnosticsDto(c.Id, c.IssuedBy, c.IssuedAt, dl.Status, dl.Error) })
            .ToListAsync(cancellationToken);
        var latest = reports.GroupBy(r => r.DeviceId)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(r => r.Brief.ReceivedAt).ThenByDescending(r => r.Brief.Id).First());
        var newest = requests.GroupBy(r => r.DeviceId)
            .ToDictionary(g => g.Key, g => g.Select(r => r.Pending).OrderByDescending(p => p.RequestedAt).ThenByDescending(p => p.CommandId).First());
        return members.Select(m =>
        {
            var report = latest.GetValueOrDefault(m.Id);
            var request = newest.GetValueOrDefault(m.Id);
            var pending = request is not null && request.CommandId != report?.Brief.CommandId && (report is null || request.RequestedAt >= report.RequestedAt) ? request : null;
            return new GroupDeviceDiagnosticsDto(m.Id, m.Name, report?.Brief, pending);
        }).ToList();
    }

    /// <summary>Deletes reports past the retention; the number deleted.</summary>
    public async Task<int> PurgeAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var before = time.GetUtcNow().UtcDateTime - options.Value.Retention;
        return await db.Set<DeviceDiagnosticsRecord>().Where(r => r.ReceivedAt < before).ExecuteDeleteAsync(cancellationToken);
    }

    private static DiagnosticsReportDto ToDto(DeviceDiagnosticsRecord r)
    {
        var report = JsonSerializer.Deserialize(r.ReportJson, AgentJsonContext.Default.DiagnosticsReport)!;
        var checks = DiagnosticsChecks.Evaluate(report);
        return new DiagnosticsReportDto(r.Id, r.DeviceId, r.CommandId, r.Source, r.RequestedBy, r.RequestedAt, r.ReceivedAt, checks.Count(c => !c.Ok), checks, report);
    }

    /// <summary>
    /// A report from a DeviceInformation answer (the keys of <see cref="Rules.Apple.MdmCommands.DiagnosticQueries"/>): system, storage,
    /// battery and other facts. What MDM cannot give (uptime, memory, interfaces' addresses, connection tests, logs) is named as unavailable.
    /// </summary>
    public static DiagnosticsReport AppleReport(IReadOnlyDictionary<string, object> responses, DevicePlatform platform, DateTimeOffset now)
    {
        string? Text(string key) => responses.GetValueOrDefault(key) is string s && s.Length is > 0 and <= ProtocolLimits.MaxShortText ? s : null;
        double? Number(string key) => responses.GetValueOrDefault(key) switch
        {
            double d when double.IsFinite(d) => d,
            long l => l,
            int i => i,
            _ => null,
        };

        var disks = new List<DiskReport>();
        if (Number("DeviceCapacity") is > 0 and var capacity && Number("AvailableDeviceCapacity") is >= 0 and var available)
        {
            // Apple answers in GB (10^9 bytes).
            var total = (long)(capacity * 1e9);
            disks.Add(new DiskReport("device storage", null, total, Math.Min((long)(available * 1e9), total)));
        }

        var batteries = new List<BatteryReport>();
        if (Number("BatteryLevel") is >= 0 and <= 1 and var level)
        {
            batteries.Add(new BatteryReport("battery", (int)Math.Round(level * 100), null, null, null));
        }

        var facts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in (string[])["DeviceName", "ModelName", "ProductName", "SerialNumber", "WiFiMAC", "BluetoothMAC"])
        {
            if (Text(key) is { } value)
            {
                facts[key] = value;
            }
        }

        foreach (var key in (string[])["IsSupervised", "IsActivationLockEnabled"])
        {
            if (responses.GetValueOrDefault(key) is bool flag)
            {
                facts[key] = flag ? "yes" : "no";
            }
        }

        var name = platform switch
        {
            DevicePlatform.MacOS => "macOS",
            DevicePlatform.IPadOS => "iPadOS",
            DevicePlatform.IOS => "iOS",
            _ => platform.ToString(),
        };
        return new DiagnosticsReport(
            now, name, Text("OSVersion"), Text("BuildVersion"), null, null, disks, null, batteries, null, null, null, null,
            [
                "uptime, memory, network addresses, connection tests and logs: Apple MDM's DeviceInformation does not give them",
                "pending updates and the OS update's state: the device page's declarative status and the osUpdateStatus command",
            ],
            facts);
    }
}
