using System.Globalization;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>How many devices of a platform run one OS version.</summary>
public sealed record OsVersionCount(DevicePlatform Platform, string Version, int Devices, bool Behind);

/// <summary>One platform's health: its devices, the version they should run, and what needs attention.</summary>
public sealed record PlatformHealth(
    DevicePlatform Platform, int Devices, string? TargetVersion, bool TargetConfigured, int Behind, int UnknownVersion,
    int NotSeen7Days, int NotSeen30Days, int NeverSeen, int LowBattery, int StorageNearlyFull, int InRepair, int Lost, int Spare);

/// <summary>Policy compliance of the filtered devices: resolved and applied, still waiting, or refused by the device.</summary>
public sealed record ComplianceCounts(int WithPolicy, int Compliant, int Pending, int Rejected);

/// <summary>The fleet now (devices neither revoked nor retired), as <c>/api/insights/fleet-health</c> answers it.</summary>
public sealed record FleetHealthDto(
    DateTimeOffset At, int Devices, int Behind, int NotSeen7Days, int NotSeen30Days, int NeverSeen, int LowBattery, int StorageNearlyFull,
    int InRepair, int Lost, ComplianceCounts Compliance, IReadOnlyList<PlatformHealth> Platforms, IReadOnlyList<OsVersionCount> OsVersions);

/// <summary>
/// The fleet-health report: OS versions per platform and how many devices run an older one than the
/// newest seen (or the configured target), devices not seen for 7 and 30 days, low batteries, nearly
/// full storage, devices in repair and lost, and policy compliance. Aggregated in the database (GROUP
/// BY over the devices table, no device rows leave it), within the reader's scope.
/// </summary>
public sealed class FleetHealth(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<InsightsReportOptions> options, TimeProvider time)
{
    public const ReportFilterKinds Filters = ReportFilterKinds.School | ReportFilterKinds.Grade | ReportFilterKinds.Class | ReportFilterKinds.Platform;

    public async Task<FleetHealthDto> ReportAsync(StaffScope scope, ReportRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadInsights);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var filter = await ReportFilters.ResolveAsync(db, scope, request, Filters, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), 1, cancellationToken);
        return await ReportAsync(db, scope, filter, cancellationToken);
    }

    internal async Task<FleetHealthDto> ReportAsync(HomeroomDbContext db, StaffScope scope, InsightFilter filter, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var config = options.Value;
        var seen7 = now.UtcDateTime.AddDays(-7);
        var seen30 = now.UtcDateTime.AddDays(-30);
        var lowBattery = config.LowBatteryPercent;
        var storagePercent = config.StorageNearlyFullPercent;
        var devices = scope.Devices(db).Where(d => d.RevokedAt == null && d.State != DeviceState.Retired).Apply(db, filter);

        // One pass over the devices: counts per platform and OS version, summed per platform below.
        var groups = await devices
            .GroupBy(d => new { d.Platform, d.OsVersion })
            .Select(g => new
            {
                g.Key.Platform,
                g.Key.OsVersion,
                Devices = g.Count(),
                NotSeen7 = g.Count(d => d.LastSeenAt != null && d.LastSeenAt < seen7),
                NotSeen30 = g.Count(d => d.LastSeenAt != null && d.LastSeenAt < seen30),
                NeverSeen = g.Count(d => d.LastSeenAt == null),
                LowBattery = g.Count(d => d.BatteryLevel != null && d.BatteryLevel < lowBattery && d.BatteryCharging != true),
                StorageFull = g.Count(d => d.StorageTotalBytes != null && d.StorageFreeBytes != null && d.StorageTotalBytes > 0
                    && d.StorageFreeBytes * 100 < d.StorageTotalBytes * storagePercent),
                InRepair = g.Count(d => d.State == DeviceState.InRepair),
                Lost = g.Count(d => d.State == DeviceState.Lost),
                Spare = g.Count(d => d.State == DeviceState.Spare),
            })
            .ToListAsync(cancellationToken);
        var byPlatform = groups.GroupBy(g => g.Platform).Select(p => new
        {
            Platform = p.Key,
            Devices = p.Sum(g => g.Devices),
            NotSeen7 = p.Sum(g => g.NotSeen7),
            NotSeen30 = p.Sum(g => g.NotSeen30),
            NeverSeen = p.Sum(g => g.NeverSeen),
            LowBattery = p.Sum(g => g.LowBattery),
            StorageFull = p.Sum(g => g.StorageFull),
            InRepair = p.Sum(g => g.InRepair),
            Lost = p.Sum(g => g.Lost),
            Spare = p.Sum(g => g.Spare),
        }).ToList();
        var versions = groups.Select(g => new { g.Platform, g.OsVersion, g.Devices }).ToList();

        var compliance = (await (
                from p in db.DevicePolicies.AsNoTracking()
                join d in devices on p.DeviceId equals d.Id
                group new { p, d } by 1 into g
                select new
                {
                    WithPolicy = g.Count(),
                    Rejected = g.Count(x => x.p.ReportedApplied == false),
                    Pending = g.Count(x => x.p.ReportedApplied != false && x.p.ReportedVersion < x.p.Version && x.d.PolicyVersionApplied < x.p.Version),
                })
            .ToListAsync(cancellationToken)).FirstOrDefault(); // one group, or none without policies

        // The target of each platform: the configured one, else the newest version any device of the scope reports.
        var targets = new Dictionary<DevicePlatform, (string Version, bool Configured)>();
        foreach (var platform in versions.Select(v => v.Platform).Distinct())
        {
            if (config.TargetOsVersions.TryGetValue(platform.ToString().ToLowerInvariant(), out var configured) && !string.IsNullOrWhiteSpace(configured))
            {
                targets[platform] = (configured, true);
            }
            else if (versions.Where(v => v.Platform == platform && !string.IsNullOrWhiteSpace(v.OsVersion)).Select(v => v.OsVersion!)
                .OrderByDescending(v => v, OsVersions.Comparer).FirstOrDefault() is { } newest)
            {
                targets[platform] = (newest, false);
            }
        }

        var osRows = versions
            .Select(v => new OsVersionCount(v.Platform, v.OsVersion ?? "", v.Devices,
                v.OsVersion is { Length: > 0 } version && targets.TryGetValue(v.Platform, out var target) && OsVersions.Compare(version, target.Version) < 0))
            .OrderBy(v => v.Platform).ThenByDescending(v => v.Version, OsVersions.Comparer)
            .ToList();

        var platforms = byPlatform.OrderBy(p => p.Platform).Select(p =>
        {
            var target = targets.TryGetValue(p.Platform, out var t) ? t : ((string Version, bool Configured)?)null;
            return new PlatformHealth(
                p.Platform, p.Devices, target?.Version, target?.Configured ?? false,
                osRows.Where(v => v.Platform == p.Platform && v.Behind).Sum(v => v.Devices),
                osRows.Where(v => v.Platform == p.Platform && v.Version.Length == 0).Sum(v => v.Devices),
                p.NotSeen7, p.NotSeen30, p.NeverSeen, p.LowBattery, p.StorageFull, p.InRepair, p.Lost, p.Spare);
        }).ToList();

        var counts = new ComplianceCounts(
            compliance?.WithPolicy ?? 0,
            (compliance?.WithPolicy ?? 0) - (compliance?.Rejected ?? 0) - (compliance?.Pending ?? 0),
            compliance?.Pending ?? 0,
            compliance?.Rejected ?? 0);
        return new FleetHealthDto(
            now, platforms.Sum(p => p.Devices), platforms.Sum(p => p.Behind), platforms.Sum(p => p.NotSeen7Days), platforms.Sum(p => p.NotSeen30Days),
            platforms.Sum(p => p.NeverSeen), platforms.Sum(p => p.LowBattery), platforms.Sum(p => p.StorageNearlyFull), platforms.Sum(p => p.InRepair),
            platforms.Sum(p => p.Lost), counts, platforms, osRows);
    }

    /// <summary>The report as CSV rows: one per platform and OS version, with the platform's health beside it.</summary>
    public static readonly IReadOnlyList<string> CsvHeader =
    [
        "platform", "os_version", "devices_on_version", "behind_target", "target_version", "platform_devices", "platform_behind",
        "not_seen_7_days", "not_seen_30_days", "never_seen", "low_battery", "storage_nearly_full", "in_repair", "lost",
    ];

    public static async IAsyncEnumerable<IReadOnlyList<string?>> CsvRows(FleetHealthDto report)
    {
        foreach (var version in report.OsVersions)
        {
            var p = report.Platforms.First(x => x.Platform == version.Platform);
            yield return
            [
                version.Platform.ToString().ToLowerInvariant(), version.Version, N(version.Devices), version.Behind ? "yes" : "no", p.TargetVersion,
                N(p.Devices), N(p.Behind), N(p.NotSeen7Days), N(p.NotSeen30Days), N(p.NeverSeen), N(p.LowBattery), N(p.StorageNearlyFull), N(p.InRepair), N(p.Lost),
            ];
        }

        await Task.CompletedTask;
    }

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Orders OS versions by their numeric parts ("16.10" after "16.9"); a part that is not a number compares as text.</summary>
public static class OsVersions
{
    public static readonly IComparer<string> Comparer = Comparer<string>.Create(Compare);

    public static int Compare(string? a, string? b)
    {
        var left = (a ?? "").Split(['.', ' ', '-', '_'], StringSplitOptions.RemoveEmptyEntries);
        var right = (b ?? "").Split(['.', ' ', '-', '_'], StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < Math.Max(left.Length, right.Length); i++)
        {
            var x = i < left.Length ? left[i] : "0";
            var y = i < right.Length ? right[i] : "0";
            var order = long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var nx) && long.TryParse(y, NumberStyles.None, CultureInfo.InvariantCulture, out var ny)
                ? nx.CompareTo(ny)
                : string.CompareOrdinal(x, y);
            if (order != 0)
            {
                return order;
            }
        }

        return 0;
    }
}
