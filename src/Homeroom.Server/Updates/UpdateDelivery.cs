using Homeroom.Rules.Apple;
using Homeroom.Rules.Updates;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Updates;

/// <summary>
/// What an Apple device is told to install: the target of the newest rollout (active, paused or done, not
/// stopped) with a started ring that holds the device, by that ring's deadline in the device's school's
/// time zone (UTC without a school). A paused rollout keeps what it already asked of started rings;
/// nothing reaches a ring that has not started. Read by <c>DeclarativeManagement</c> for
/// <see cref="Declarations.For(Homeroom.Rules.Policies.PolicyDocument, SoftwareUpdateTarget?)"/>.
/// </summary>
public static class UpdateDelivery
{
    public static async Task<SoftwareUpdateTarget?> TargetForAsync(HomeroomDbContext db, Guid deviceId, CancellationToken cancellationToken)
    {
        var device = await db.Devices.AsNoTracking().Where(d => d.Id == deviceId)
            .Select(d => new { d.Id, d.Platform, d.SchoolId, d.AssignedPersonId }).FirstOrDefaultAsync(cancellationToken);
        if (device is null)
        {
            return null;
        }

        var groups = db.GroupDevices.Where(m => m.DeviceId == device.Id).Select(m => m.GroupId)
            .Concat(db.GroupMembers.Where(m => device.AssignedPersonId != null && m.PersonId == device.AssignedPersonId).Select(m => m.GroupId));
        var candidates = await db.UpdateRings.AsNoTracking()
            .Where(r => groups.Contains(r.GroupId) && r.Phase != RingPhase.Waiting && r.Deadline != null)
            .Join(db.UpdateRollouts.AsNoTracking().Where(o => o.State != RolloutState.Stopped), r => r.RolloutId, o => o.Id,
                (r, o) => new { o.Platform, o.TargetVersion, o.CreatedAt, r.Position, r.Deadline })
            .ToListAsync(cancellationToken);
        var ring = candidates.Where(c => UpdateRollouts.DevicePlatforms(c.Platform).Contains(device.Platform))
            .OrderByDescending(c => c.CreatedAt).ThenBy(c => c.Position).FirstOrDefault();
        if (ring is null)
        {
            return null;
        }

        var zoneId = device.SchoolId is { } school ? await db.Schools.Where(s => s.Id == school).Select(s => s.TimeZone).FirstOrDefaultAsync(cancellationToken) : null;
        var zone = zoneId is not null && TimeZoneInfo.TryFindSystemTimeZoneById(zoneId, out var z) ? z : TimeZoneInfo.Utc;
        return new SoftwareUpdateTarget(ring.TargetVersion, TimeZoneInfo.ConvertTimeFromUtc(ring.Deadline!.Value, zone));
    }
}
