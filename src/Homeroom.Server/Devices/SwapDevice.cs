using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Policies;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Devices;

/// <summary>A swap: the spare to hand out (the best candidate when none is named) and what is wrong with the broken device.</summary>
public sealed record SwapRequest(Guid? SpareId, string? Reason);

/// <summary>A spare that could replace a device, best first (<see cref="SwapDevice.CandidatesAsync"/>).</summary>
public sealed record SwapCandidateDto(
    Guid Id, string Name, DevicePlatform Platform, string? Model, string Serial, string? AssetTag, bool Online, int? BatteryLevel, Guid PoolId, string PoolName, bool SameModel);

/// <summary>What a swap did.</summary>
public sealed record SwapResultDto(Guid BrokenDeviceId, Guid SpareDeviceId, string SpareName, Guid PersonId, Guid RepairId);

/// <summary>
/// Swaps a student's broken device for a spare from a spare pool of the same school, in one
/// transaction: the spare takes over the person, the broken device's own group memberships (classes,
/// carts; not its spare pools) and its device-level policy assignments, leaves its spare pool and
/// becomes active; the broken device goes to repair with a note (why, who, when) and leaves the
/// person; the broken device's browser extensions (companions) are revoked. Both devices' policies are resolved again
/// at once, and the swap is one audit entry.
/// Two swaps racing for one spare: the first to claim it wins, the other changes nothing (409).
/// </summary>
public sealed class SwapDevice(
    IDbContextFactory<HomeroomDbContext> dbFactory, PresenceTracker presence, AuditTrail audit, PolicyDistributor policies, Enrollment.CompanionBrowsers companions, TimeProvider time)
{
    public const int MaxReasonLength = 500;
    public const int MaxCandidates = 50;

    /// <summary>The spares that could replace a device: same platform and model first, then online, then the most charged. Null when the device is not in the scope.</summary>
    public async Task<IReadOnlyList<SwapCandidateDto>?> CandidatesAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageDevices);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var broken = await scope.Devices(db).FirstOrDefaultAsync(d => d.Id == deviceId, cancellationToken);
        return broken is null ? null : await RankCandidatesAsync(scope, db, broken, cancellationToken);
    }

    private async Task<IReadOnlyList<SwapCandidateDto>> RankCandidatesAsync(StaffScope scope, HomeroomDbContext db, Device broken, CancellationToken cancellationToken)
    {
        var school = broken.SchoolId;
        var rows = await (
            from d in scope.Devices(db)
            join m in db.GroupDevices on d.Id equals m.DeviceId
            join g in db.Groups on m.GroupId equals g.Id
            where g.Kind == GroupKind.SparePool && g.SchoolId == school && d.SchoolId == school
                && d.State == DeviceState.Spare && d.RevokedAt == null && d.Id != broken.Id
            // The same model first, as the ranking below prefers it, so a pool of thousands keeps its best candidates.
            orderby d.Model == broken.Model descending, d.Platform == broken.Platform descending, d.Id, g.Name
            select new { d.Id, d.Name, d.Platform, d.Model, d.Serial, d.AssetTag, d.BatteryLevel, PoolId = g.Id, PoolName = g.Name })
            .Take(2_000)
            .ToListAsync(cancellationToken);
        return rows
            .GroupBy(r => r.Id)
            .Select(g => g.OrderBy(r => r.PoolName, StringComparer.Ordinal).First())
            .Select(r => new SwapCandidateDto(
                r.Id, r.Name, r.Platform, r.Model, r.Serial, r.AssetTag, presence.IsOnline(r.Id), presence.Get(r.Id)?.Battery?.Level ?? r.BatteryLevel, r.PoolId, r.PoolName,
                r.Platform == broken.Platform && r.Model == broken.Model))
            .OrderByDescending(c => c.SameModel)
            .ThenByDescending(c => c.Platform == broken.Platform)
            .ThenByDescending(c => c.Online)
            .ThenByDescending(c => c.BatteryLevel ?? -1)
            .ThenBy(c => c.Name, StringComparer.OrdinalIgnoreCase)
            .ThenBy(c => c.Id)
            .Take(MaxCandidates)
            .ToList();
    }

    /// <summary>Swaps the device for a spare; null when the device is not in the scope. Refusals change nothing.</summary>
    public async Task<SwapResultDto?> ExecuteAsync(StaffScope scope, Guid deviceId, SwapRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageDevices);
        var reason = request.Reason?.Trim();
        var validation = new Validation().Required("reason", reason, MaxReasonLength);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var broken = await scope.Devices(db).FirstOrDefaultAsync(d => d.Id == deviceId, cancellationToken);
        if (broken is null)
        {
            return null;
        }

        if (broken.AssignedPersonId is not { } personId)
        {
            throw new ConflictException($"{broken.Name} is not assigned to anyone, so there is nothing to swap; assign it or change its state instead.");
        }

        if (broken.State == DeviceState.InRepair)
        {
            throw new ConflictException($"{broken.Name} is already in repair.");
        }

        var spare = await ChooseSpareAsync(scope, db, broken, request.SpareId, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var repair = new DeviceRepair
        {
            Id = Guid.NewGuid(), DeviceId = broken.Id, PersonId = personId, ReplacementDeviceId = spare.Id, Reason = reason!,
            ReportedById = scope.AccountId == Guid.Empty ? null : scope.AccountId, ReportedBy = scope.DisplayName, ReportedAt = now,
        };

        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            // Claim the spare first: the conditional update is what decides a race for one spare (on
            // SQLite it is also the statement that takes the write lock, before anything is read).
            var claimed = await db.Devices
                .Where(d => d.Id == spare.Id && d.State == DeviceState.Spare && d.RevokedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.State, DeviceState.Active).SetProperty(d => d.AssignedPersonId, personId), cancellationToken);
            if (claimed == 0)
            {
                throw new ConflictException($"{spare.Name} was handed out meanwhile; nothing was changed. Choose another spare.");
            }

            var released = await db.Devices
                .Where(d => d.Id == broken.Id && d.AssignedPersonId == personId && d.State != DeviceState.InRepair)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.State, DeviceState.InRepair).SetProperty(d => d.AssignedPersonId, (Guid?)null), cancellationToken);
            if (released == 0)
            {
                throw new ConflictException($"{broken.Name} was changed meanwhile; nothing was changed.");
            }

            var pools = db.Groups.Where(g => g.Kind == GroupKind.SparePool).Select(g => g.Id);
            var carried = await db.GroupDevices.Where(m => m.DeviceId == broken.Id && !pools.Contains(m.GroupId)).Select(m => m.GroupId).ToListAsync(cancellationToken);
            var spareHas = await db.GroupDevices.Where(m => m.DeviceId == spare.Id).Select(m => m.GroupId).ToListAsync(cancellationToken);
            await db.GroupDevices.Where(m => m.DeviceId == spare.Id && pools.Contains(m.GroupId)).ExecuteDeleteAsync(cancellationToken);
            await db.GroupDevices.Where(m => m.DeviceId == broken.Id && !pools.Contains(m.GroupId)).ExecuteDeleteAsync(cancellationToken);
            db.GroupDevices.AddRange(carried.Except(spareHas).Select(g => new GroupDevice { GroupId = g, DeviceId = spare.Id }));

            string brokenKey = broken.Id.ToString(), spareKey = spare.Id.ToString();
            var assignments = await db.PolicyAssignments
                .Where(a => a.Level == ScopeLevel.Device && a.ScopeKey == brokenKey)
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.ScopeKey, spareKey), cancellationToken);

            db.DeviceRepairs.Add(repair);
            audit.Record(db, "device.swap", "device", broken.Id.ToString(),
                $"{broken.Name} -> {spare.Name} ({spare.Id}) for person {personId}; {carried.Count} group(s), {assignments} device assignment(s) moved; reason: {reason}",
                broken.SchoolId);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        // The broken desktop's browser extensions (companions) are that computer's: the spare's agent enrolls its own.
        await companions.RevokeAsync(broken.Id, "the desktop was swapped", cancellationToken);
        policies.RequestDevice(spare.Id);
        policies.RequestDevice(broken.Id);
        return new SwapResultDto(broken.Id, spare.Id, spare.Name, personId, repair.Id);
    }

    private async Task<Device> ChooseSpareAsync(StaffScope scope, HomeroomDbContext db, Device broken, Guid? spareId, CancellationToken cancellationToken)
    {
        if (spareId is not { } id)
        {
            var best = (await RankCandidatesAsync(scope, db, broken, cancellationToken)).FirstOrDefault();
            if (best is null)
            {
                var school = await db.Schools.Where(s => s.Id == broken.SchoolId).Select(s => s.Name).FirstOrDefaultAsync(cancellationToken);
                throw new ConflictException($"No spare is available in the spare pools of {school ?? "this device's school"}; nothing was changed.");
            }

            return await db.Devices.AsNoTracking().FirstAsync(d => d.Id == best.Id, cancellationToken);
        }

        var spare = await scope.Devices(db).FirstOrDefaultAsync(d => d.Id == id, cancellationToken)
            ?? throw new NotFoundException("There is no such spare device in your scope.");
        if (spare.Id != broken.Id && spare.SchoolId == broken.SchoolId && (spare.State != DeviceState.Spare || spare.RevokedAt is not null))
        {
            // Also what the loser of a race for one spare sees once the winner has committed: a conflict, as when it loses the claim.
            throw new ConflictException($"{spare.Name} is not a spare (anymore); nothing was changed. Choose another spare.");
        }

        var refusal = spare.Id == broken.Id ? "A device cannot replace itself."
            : spare.SchoolId != broken.SchoolId ? "That spare belongs to another school; choose a spare of this device's school."
            : !await db.GroupDevices.AnyAsync(m => m.DeviceId == spare.Id && db.Groups.Any(g => g.Id == m.GroupId && g.Kind == GroupKind.SparePool && g.SchoolId == broken.SchoolId), cancellationToken)
                ? "That device is not in a spare pool of this device's school."
            : null;
        if (refusal is not null)
        {
            throw new RequestValidationException(new Dictionary<string, string[]> { ["spareId"] = [refusal] });
        }

        return spare;
    }
}
