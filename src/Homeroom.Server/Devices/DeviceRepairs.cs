using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Devices;

/// <summary>A device in repair with its latest repair note (none when it was set to repair by hand).</summary>
public sealed record RepairDto(
    Guid DeviceId, string DeviceName, DevicePlatform Platform, string? Model, string Serial, string? AssetTag, Guid? SchoolId, string? SchoolName,
    string? Reason, string? ReportedBy, DateTime? ReportedAt, string? PersonName, Guid? ReplacementDeviceId, string? ReplacementName);

/// <summary>A spare pool a repaired device can return to.</summary>
public sealed record SparePoolDto(Guid Id, string Name, Guid? SchoolId);

/// <summary>Where a repaired device goes: a spare pool of its school (the first by name when none is named).</summary>
public sealed record ReturnToPoolRequest(Guid? GroupId);

/// <summary>
/// The repair list: devices in repair with their note, and the way back: a repaired device returns to
/// a spare pool of its own school as a spare, and its open repair note is closed. Scoped and audited.
/// </summary>
public sealed class DeviceRepairs(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor policies, TimeProvider time)
{
    /// <summary>The scope's devices in repair, by name.</summary>
    public async Task<PagedResult<RepairDto>> ListAsync(StaffScope scope, PageQuery paging, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadDevices);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var devices = scope.Devices(db).Where(d => d.State == DeviceState.InRepair);
        var total = await devices.CountAsync(cancellationToken);
        var rows = await (
            from d in devices
            let note = db.DeviceRepairs.Where(r => r.DeviceId == d.Id && r.ReturnedAt == null).OrderByDescending(r => r.ReportedAt).FirstOrDefault()
            orderby d.Name, d.Id
            select new
            {
                d.Id, d.Name, d.Platform, d.Model, d.Serial, d.AssetTag, d.SchoolId,
                SchoolName = db.Schools.Where(s => s.Id == d.SchoolId).Select(s => s.Name).FirstOrDefault(),
                Reason = note == null ? null : note.Reason,
                ReportedBy = note == null ? null : note.ReportedBy,
                ReportedAt = note == null ? (DateTime?)null : note.ReportedAt,
                PersonName = note == null ? null : db.People.Where(p => p.Id == note.PersonId).Select(p => p.GivenName + " " + p.FamilyName).FirstOrDefault(),
                ReplacementId = note == null ? null : note.ReplacementDeviceId,
                ReplacementName = note == null ? null : db.Devices.Where(x => x.Id == note.ReplacementDeviceId).Select(x => x.Name).FirstOrDefault(),
            })
            .Skip(paging.Skip).Take(paging.Take).ToListAsync(cancellationToken);
        return new PagedResult<RepairDto>(
            rows.Select(r => new RepairDto(r.Id, r.Name, r.Platform, r.Model, r.Serial, r.AssetTag, r.SchoolId, r.SchoolName, r.Reason, r.ReportedBy, r.ReportedAt, r.PersonName, r.ReplacementId, r.ReplacementName)).ToList(),
            total);
    }

    /// <summary>The spare pools of the scope's schools.</summary>
    public async Task<IReadOnlyList<SparePoolDto>> SparePoolsAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.Groups(db).Where(g => g.Kind == GroupKind.SparePool).OrderBy(g => g.Name).ThenBy(g => g.Id)
            .Select(g => new SparePoolDto(g.Id, g.Name, g.SchoolId)).Take(500).ToListAsync(cancellationToken);
    }

    /// <summary>Returns a repaired device to a spare pool of its school; false when the device is not in the scope.</summary>
    public async Task<bool> ReturnToPoolAsync(StaffScope scope, Guid deviceId, ReturnToPoolRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageDevices);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await scope.Devices(db).FirstOrDefaultAsync(d => d.Id == deviceId, cancellationToken);
        if (device is null)
        {
            return false;
        }

        var pools = db.Groups.AsNoTracking().Where(g => g.Kind == GroupKind.SparePool && g.SchoolId == device.SchoolId);
        var pool = request.GroupId is { } groupId
            ? await pools.FirstOrDefaultAsync(g => g.Id == groupId, cancellationToken)
            : await pools.OrderBy(g => g.Name).ThenBy(g => g.Id).FirstOrDefaultAsync(cancellationToken);
        if (pool is null)
        {
            if (request.GroupId is not null)
            {
                throw new RequestValidationException(new Dictionary<string, string[]> { ["groupId"] = ["Choose a spare pool of the device's school."] });
            }

            throw new ConflictException("The device's school has no spare pool; create one first.");
        }

        if (device.State != DeviceState.InRepair)
        {
            throw new ConflictException($"{device.Name} is not in repair; only a device in repair returns to a spare pool.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            var changed = await db.Devices.Where(d => d.Id == deviceId && d.State == DeviceState.InRepair)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.State, DeviceState.Spare).SetProperty(d => d.AssignedPersonId, (Guid?)null), cancellationToken);
            if (changed == 0)
            {
                throw new ConflictException($"{device.Name} was changed meanwhile; nothing was changed.");
            }

            await db.DeviceRepairs.Where(r => r.DeviceId == deviceId && r.ReturnedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.ReturnedAt, now).SetProperty(r => r.ReturnedBy, scope.DisplayName), cancellationToken);
            if (!await db.GroupDevices.AnyAsync(m => m.GroupId == pool.Id && m.DeviceId == deviceId, cancellationToken))
            {
                db.GroupDevices.Add(new GroupDevice { GroupId = pool.Id, DeviceId = deviceId });
            }

            audit.Record(db, "device.return-to-pool", "device", deviceId.ToString(), $"{device.Name} -> {pool.Name} ({pool.Id})", device.SchoolId);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        policies.RequestDevice(deviceId);
        return true;
    }
}
