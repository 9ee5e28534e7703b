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

        var all = await (
            from d in devices
            join p in db.People on (d.SignedInPersonId ?? d.AssignedPersonId) equals p.Id into people
            from p in people.DefaultIfEmpty()
            select new { d.Id, d.SchoolId, Grade = p == null ? null : p.GradeLevel, d.PolicyVersionApplied, d.CompanionOf })
            .ToListAsync(cancellationToken);

        // A desktop's browser extension (a companion) is the desktop as far as policy goes: its scope is the desktop's.
        var companionRows = all.Where(r => r.CompanionOf is not null)
            .Select(r => new { r.Id, Desktop = r.CompanionOf!.Value, r.PolicyVersionApplied }).ToList();
        var rows = companionRows.Count == 0 ? all : all.Where(r => r.CompanionOf is null).ToList();

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

        var scopes = rows.Select(r => (
            Scope: new DeviceScope(r.Id, r.SchoolId, r.Grade, groups.GetValueOrDefault(r.Id, []), insideZones(r.Id)),
            AppliedVersion: r.PolicyVersionApplied)).ToList();
        if (companionRows.Count == 0)
        {
            return scopes;
        }

        var desktops = scopes.ToDictionary(s => s.Scope.DeviceId, s => s.Scope);
        var missing = companionRows.Select(c => c.Desktop).Where(id => !desktops.ContainsKey(id)).Distinct().ToList();
        if (missing.Count > 0)
        {
            foreach (var (scope, _) in await LoadAsync(db, missing, insideZones, cancellationToken))
            {
                desktops[scope.DeviceId] = scope;
            }
        }

        // A companion whose desktop is revoked (or gone) has no scope of its own and gets no policy; one whose desktop has a
        // profile assigned to it (device level) gets that profile too.
        scopes.AddRange(companionRows.Where(c => desktops.ContainsKey(c.Desktop))
            .Select(c => (desktops[c.Desktop] with { DeviceId = c.Id, AssignedAs = c.Desktop }, c.PolicyVersionApplied)));
        return scopes;
    }

    /// <summary><paramref name="deviceIds"/> and the browser extensions enrolled as their companions, which share their policy.</summary>
    public static async Task<List<Guid>> WithCompanionsAsync(HomeroomDbContext db, List<Guid> deviceIds, CancellationToken cancellationToken)
    {
        var companions = await db.Devices.AsNoTracking()
            .Where(d => d.CompanionOf != null && deviceIds.Contains(d.CompanionOf.Value) && d.RevokedAt == null)
            .Select(d => d.Id).ToListAsync(cancellationToken);
        return companions.Count == 0 ? deviceIds : [.. deviceIds.Union(companions)];
    }
}
