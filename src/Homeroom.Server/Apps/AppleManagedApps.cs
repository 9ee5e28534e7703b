using Homeroom.Rules.Apps;
using Homeroom.Rules.Commands;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Apps;

/// <summary>
/// Applies an iPad's or Mac's ManagedApplicationList answer to its app status rows (<see cref="AppleManagedAppStatus"/>):
/// records which catalog apps MDM manages there (<see cref="AppDeviceStatus.Managed"/>; an app the full list
/// leaves out is not managed), and moves a required app's row that waits on an install: still on its way stays
/// installing with Apple's status as the reason, <c>Managed</c> is installed, a refusal is failed with Apple's
/// status and its meaning and waits its back-off before the reconciler sends the install again. An installed
/// app the student deleted (<c>ManagedButUninstalled</c>) fails the same way and is installed again. A Mac package installed through
/// InstallEnterpriseApplication is matched by its app bundle's id; Managed confirms a package on its way (and records its SHA-256
/// as installed) only after the Mac acknowledged the install.
/// </summary>
public sealed class AppleManagedApps(IOptions<AppInstallOptions> options, TimeProvider time)
{
    /// <summary>Applies the answer; returns how many rows changed.</summary>
    public async Task<int> RecordAsync(HomeroomDbContext db, Guid deviceId, Dictionary<string, object> list, CancellationToken cancellationToken)
    {
        var rows = await (
            from s in db.Set<AppDeviceStatus>()
            join a in db.Set<CatalogApp>() on s.AppId equals a.Id // no AsNoTracking: it would untrack the rows too
            where s.DeviceId == deviceId && (a.AppleBundleId != null || (a.MacPackageId != null && a.MacAppBundleId != null))
            // An App Store app by its bundle id; an entry with only a Mac package (InstallEnterpriseApplication) by its app bundle's.
            select new { Row = s, BundleId = a.AppleBundleId ?? a.MacAppBundleId! }).ToListAsync(cancellationToken);
        if (rows.Count == 0)
        {
            return 0;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var settings = options.Value;
        foreach (var (row, bundleId) in rows.Select(r => (r.Row, r.BundleId)))
        {
            var status = list.GetValueOrDefault(bundleId) is Dictionary<string, object> item ? item.GetValueOrDefault("Status") as string : null;
            if (status is null)
            {
                // Homeroom asks for the whole list: an app it leaves out is not managed (any more).
                row.Managed = list.ContainsKey(bundleId) ? row.Managed : false;
                continue;
            }

            var verdict = AppleManagedAppStatus.Map(status);
            if (verdict.Managed is { } managed)
            {
                row.Managed = managed;
            }

            if (row.Intent != AppIntent.Required || verdict.State is not { } state)
            {
                continue;
            }

            switch (state)
            {
                case AppInstallState.Failed when row.State is AppInstallState.Installing or AppInstallState.Installed:
                    row.Attempts++;
                    row.NextAttemptAt = now + AppRetrySchedule.Delay(row.Attempts, settings.FirstRetry, settings.MaxRetry);
                    row.CommandId = null;
                    Set(row, AppInstallState.Failed, verdict.Reason, now);
                    break;
                case AppInstallState.Installed when row.PackageSha256 is not null && row.InstalledSha256 != row.PackageSha256:
                    // A package on its way (a first install or an update): Managed confirms it only once the Mac has acknowledged
                    // the install; before, it may be the version the package replaces. Then the package the command carried is installed.
                    if (row.State == AppInstallState.Installing && row.CommandId is { } command
                        && await db.CommandDeliveries.AnyAsync(d => d.CommandId == command && d.DeviceId == deviceId && d.Status == DeliveryStatus.Succeeded, cancellationToken))
                    {
                        row.InstalledSha256 = row.PackageSha256;
                        row.Attempts = 0;
                        row.NextAttemptAt = null;
                        row.CommandId = null;
                        Set(row, AppInstallState.Installed, verdict.Reason, now);
                    }

                    break;
                case AppInstallState.Installed when row.State is AppInstallState.Installing or AppInstallState.Installed:
                    row.Attempts = 0;
                    row.NextAttemptAt = null;
                    row.CommandId = null;
                    Set(row, AppInstallState.Installed, verdict.Reason, now);
                    break;
                case AppInstallState.Installing when row.State == AppInstallState.Installing:
                    Set(row, AppInstallState.Installing, verdict.Reason, now);
                    break;
            }
        }

        return await db.SaveChangesAsync(cancellationToken);
    }

    private static void Set(AppDeviceStatus row, AppInstallState state, string? reason, DateTime now)
    {
        if (row.State != state || row.Reason != reason)
        {
            row.State = state;
            row.Reason = reason;
            row.UpdatedAt = now;
        }
    }
}
