using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apps;

/// <summary>What became of a request for a licence.</summary>
public enum LicenceTake
{
    /// <summary>The device took one now.</summary>
    Taken,

    /// <summary>The device held one already.</summary>
    AlreadyHeld,

    /// <summary>Every purchased licence is in use (or the app has none to give): nothing changed.</summary>
    NoLicence,

    /// <summary>The device has no status row for the app (nothing wants it there).</summary>
    NotWanted,
}

/// <summary>
/// The district's count of licences in use per app (<c>apps.licenses_in_use</c>), moved together with
/// the device's <c>holds_licence</c> flag in one transaction. Taking raises the count in one conditional
/// statement (<c>WHERE licenses_in_use &lt; licenses_purchased</c>): PostgreSQL re-checks that condition
/// against the newest row after waiting for a concurrent writer, and SQLite runs one writer at a time,
/// so concurrent takes on any number of servers never count past the purchase. Giving back lowers it
/// only when the device's flag was set (and never below zero, which a CHECK constraint also refuses).
/// </summary>
public sealed class AppLicenceLedger(IDbContextFactory<HomeroomDbContext> dbFactory)
{
    /// <summary>Gives the device one of the app's licences if one is free.</summary>
    public async Task<LicenceTake> TakeAsync(Guid deviceId, Guid appId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // The device's row first, then the app's: every take and release locks in this order.
        var claimed = await db.Set<AppDeviceStatus>().Where(s => s.DeviceId == deviceId && s.AppId == appId && !s.HoldsLicence)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.HoldsLicence, true), cancellationToken);
        if (claimed == 0)
        {
            return await db.Set<AppDeviceStatus>().AnyAsync(s => s.DeviceId == deviceId && s.AppId == appId, cancellationToken)
                ? LicenceTake.AlreadyHeld
                : LicenceTake.NotWanted;
        }

        var counted = await db.Set<CatalogApp>()
            .Where(a => a.Id == appId && a.LicensesPurchased != null && a.LicensesInUse < a.LicensesPurchased)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.LicensesInUse, a => a.LicensesInUse + 1), cancellationToken);
        if (counted == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return LicenceTake.NoLicence;
        }

        await transaction.CommitAsync(cancellationToken);
        return LicenceTake.Taken;
    }

    /// <summary>Gives the device's licence of the app back; false when it held none.</summary>
    public async Task<bool> ReleaseAsync(Guid deviceId, Guid appId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var released = await db.Set<AppDeviceStatus>().Where(s => s.DeviceId == deviceId && s.AppId == appId && s.HoldsLicence)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.HoldsLicence, false), cancellationToken);
        if (released == 0)
        {
            return false;
        }

        await db.Set<CatalogApp>().Where(a => a.Id == appId && a.LicensesInUse > 0)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.LicensesInUse, a => a.LicensesInUse - 1), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }
}
