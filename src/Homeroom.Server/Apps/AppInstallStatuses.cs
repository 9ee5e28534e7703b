using Homeroom.Rules.Apps;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apps;

/// <summary>One app's status on one device.</summary>
/// <param name="AppId">The catalog entry.</param>
/// <param name="Name">Its name.</param>
/// <param name="Intent">The intent the status follows (required or blocked).</param>
/// <param name="State">pending, installing, installed, failed, removing, removed, blocked, no-licence, not-applicable or missing.</param>
/// <param name="Reason">The platform's reason for a failure, or why nothing acts, or what to do.</param>
/// <param name="HoldsLicence">Whether the device holds one of the app's licences.</param>
/// <param name="Attempts">Failed attempts since the last success.</param>
/// <param name="NextAttemptAt">Not retried before this time.</param>
/// <param name="UpdatedAt">When the state or reason last changed.</param>
/// <param name="InstalledSha256">For a Mac package: the SHA-256 of the package the device confirmed installing (the catalog's may be newer while it updates).</param>
public sealed record AppInstallStatusDto(
    Guid AppId, string Name, AppIntent Intent, AppInstallState State, string? Reason, bool HoldsLicence, int Attempts, DateTime? NextAttemptAt, DateTime UpdatedAt,
    string? InstalledSha256 = null);

/// <summary>A catalog entry's devices by status, among the devices the caller may see; and its licences in use district-wide.</summary>
public sealed record AppStatusCounts(int Installed, int Pending, int Failed, int NoLicence, int Other, int LicensesInUse)
{
    public static readonly AppStatusCounts None = new(0, 0, 0, 0, 0, 0);
}

/// <summary>
/// Reads the per-device app status that <see cref="AppInstallReconciler"/> keeps: a device's list (the
/// scope must reach the device) and counts per catalog entry over the devices of the caller's scope, so a
/// school's administrator counts their school's devices only. Pending counts pending and installing;
/// failed counts failed and missing; other is removing, removed, blocked and not applicable.
/// </summary>
public sealed class AppInstallStatuses(IDbContextFactory<HomeroomDbContext> dbFactory)
{
    /// <summary>The device's app statuses by app name; null when the scope does not reach the device.</summary>
    public async Task<List<AppInstallStatusDto>?> ForDeviceAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == deviceId, cancellationToken))
        {
            return null;
        }

        var rows = await (
            from s in db.Set<AppDeviceStatus>().AsNoTracking()
            join a in db.Set<CatalogApp>().AsNoTracking() on s.AppId equals a.Id
            where s.DeviceId == deviceId
            select new { s, a.Name }).ToListAsync(cancellationToken);
        return rows
            .Select(r => new AppInstallStatusDto(r.s.AppId, r.Name, r.s.Intent, r.s.State, r.s.Reason, r.s.HoldsLicence, r.s.Attempts, r.s.NextAttemptAt, r.s.UpdatedAt, r.s.InstalledSha256))
            .OrderBy(r => r.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    /// <summary>Counts per app over the scope's devices (apps without rows are absent).</summary>
    public static async Task<Dictionary<Guid, AppStatusCounts>> CountsAsync(StaffScope scope, HomeroomDbContext db, IReadOnlyCollection<Guid> appIds, CancellationToken cancellationToken)
    {
        var devices = scope.Devices(db).Select(d => d.Id);
        var grouped = await db.Set<AppDeviceStatus>().AsNoTracking()
            .Where(s => appIds.Contains(s.AppId) && devices.Contains(s.DeviceId))
            .GroupBy(s => new { s.AppId, s.State })
            .Select(g => new { g.Key.AppId, g.Key.State, Count = g.Count() })
            .ToListAsync(cancellationToken);
        var inUse = await db.Set<CatalogApp>().AsNoTracking().Where(a => appIds.Contains(a.Id))
            .Select(a => new { a.Id, a.LicensesInUse }).ToDictionaryAsync(a => a.Id, a => a.LicensesInUse, cancellationToken);
        return appIds.ToDictionary(id => id, id =>
        {
            int Count(params AppInstallState[] states) => grouped.Where(g => g.AppId == id && states.Contains(g.State)).Sum(g => g.Count);
            return new AppStatusCounts(
                Count(AppInstallState.Installed),
                Count(AppInstallState.Pending, AppInstallState.Installing),
                Count(AppInstallState.Failed, AppInstallState.Missing),
                Count(AppInstallState.NoLicence),
                Count(AppInstallState.Removing, AppInstallState.Removed, AppInstallState.Blocked, AppInstallState.NotApplicable),
                inUse.GetValueOrDefault(id));
        });
    }
}
