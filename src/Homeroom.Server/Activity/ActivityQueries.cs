using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Activity;

/// <summary>One stored event; <c>PersonId</c> is the student signed in on a shared device when it arrived (null on a 1:1 device: its assigned student).</summary>
public sealed record ActivityEventDto(long Seq, Guid DeviceId, DateTime OccurredAt, DateTime ReceivedAt, string Kind, string? Url, string? Title, string? AppId, int? DurationSeconds, string? Detail, Guid? PersonId = null);

/// <summary>
/// A device's activity, newest first, for staff who may read activity and reach the device. A device
/// is required: activity is personal data and is read one student at a time, and each read is audited
/// (API and console alike).
/// </summary>
public sealed class ActivityQueries(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit)
{
    public const int MaxKindLength = 32;

    /// <summary>The device's events, with its browser extensions' (companions') newest first; null when the device is not in the scope.</summary>
    public async Task<PagedResult<ActivityEventDto>?> ListAsync(StaffScope scope, Guid deviceId, string? kind, PageQuery paging, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadActivity);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await scope.Devices(db).Where(d => d.Id == deviceId).Select(d => new { d.SchoolId }).FirstOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return null;
        }

        // A desktop's browser extensions (companions) keep their events under their own records and sequences: they are the desktop's too.
        var companions = await db.Devices.AsNoTracking().Where(d => d.CompanionOf == deviceId).Select(d => d.Id).ToListAsync(cancellationToken);
        var query = companions.Count == 0
            ? db.ActivityEvents.AsNoTracking().Where(e => e.DeviceId == deviceId)
            : db.ActivityEvents.AsNoTracking().Where(e => e.DeviceId == deviceId || companions.Contains(e.DeviceId));
        if (!string.IsNullOrEmpty(kind))
        {
            query = query.Where(e => e.Kind == kind);
        }

        var total = await query.CountAsync(cancellationToken);
        var ordered = companions.Count == 0
            ? query.OrderByDescending(e => e.Seq)
            : query.OrderByDescending(e => e.OccurredAt).ThenByDescending(e => e.Id);
        var items = await ordered.Skip(paging.Skip).Take(paging.Take)
            .Select(e => new ActivityEventDto(e.Seq, e.DeviceId, e.OccurredAt, e.ReceivedAt, e.Kind, e.Url, e.Title, e.AppId, e.DurationSeconds, e.Detail, e.PersonId))
            .ToListAsync(cancellationToken);
        audit.Record(db, "device.activity.read", "device", deviceId.ToString(), $"page {paging.Page ?? 1}, {items.Count} events{(string.IsNullOrEmpty(kind) ? "" : $" of kind {kind}")}", device.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return new PagedResult<ActivityEventDto>(items, total);
    }
}
