using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Policies;

/// <summary>
/// Reads what the resolver needs to know about devices: school, grade, groups not archived (direct or through the student). The
/// student is the one signed in on a shared device while there is one (<see cref="Devices.SharedDeviceSignIn"/>),
/// else the assigned person.
/// </summary>
public static class DeviceScopes
{
    /// <summary>Scopes of every active device, or of the given ones.</summary>
    public static async Task<List<(DeviceScope Scope, long AppliedVersion)>> LoadAsync(
        HomeroomDbContext db, IReadOnlyCollection<Guid>? deviceIds, Func<Guid, IReadOnlyCollection<Guid>> insideZones, CancellationToken cancellationToken)
    {
        var devices = db.Devices.AsNoTracking().Where(d => d.RevokedAt == null);
        if (deviceIds is not null)
        {
            devices = devices.Where(d => deviceIds.Contains(d.Id));
        }

        var rows = await (
            from d in devices
            join p in db.People on (d.SignedInPersonId ?? d.AssignedPersonId) equals p.Id into people
            from p in people.DefaultIfEmpty()
            select new { d.Id, d.SchoolId, Grade = p == null ? null : p.GradeLevel, d.PolicyVersionApplied })
            .ToListAsync(cancellationToken);

        // An archived group (last year's class, kept for history) no longer places anyone in it.
        var direct =
            from m in db.GroupDevices.AsNoTracking()
            join g in db.Groups on m.GroupId equals g.Id
            where g.ArchivedAt == null
            select new { m.DeviceId, m.GroupId };
        var throughStudent =
            from m in db.GroupMembers
            join g in db.Groups on m.GroupId equals g.Id
            join d in db.Devices on m.PersonId equals d.AssignedPersonId
            where d.SignedInPersonId == null && g.ArchivedAt == null
            select new { DeviceId = d.Id, m.GroupId };
        var throughSignedIn =
            from m in db.GroupMembers
            join g in db.Groups on m.GroupId equals g.Id
            join d in db.Devices on m.PersonId equals d.SignedInPersonId
            where g.ArchivedAt == null
            select new { DeviceId = d.Id, m.GroupId };
        if (deviceIds is not null)
        {
            direct = direct.Where(g => deviceIds.Contains(g.DeviceId));
            throughStudent = throughStudent.Where(g => deviceIds.Contains(g.DeviceId));
            throughSignedIn = throughSignedIn.Where(g => deviceIds.Contains(g.DeviceId));
        }

        var groups = (await direct.ToListAsync(cancellationToken)).Concat(await throughStudent.ToListAsync(cancellationToken))
            .Concat(await throughSignedIn.ToListAsync(cancellationToken))
            .GroupBy(g => g.DeviceId)
            .ToDictionary(g => g.Key, g => (IReadOnlyCollection<Guid>)g.Select(x => x.GroupId).Distinct().ToArray());

        return rows.Select(r => (
            new DeviceScope(r.Id, r.SchoolId, r.Grade, groups.GetValueOrDefault(r.Id, []), insideZones(r.Id)),
            r.PolicyVersionApplied)).ToList();
    }
}
