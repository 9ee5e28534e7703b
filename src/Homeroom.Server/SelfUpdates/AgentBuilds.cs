using System.Buffers.Binary;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Scripts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.SelfUpdates;

/// <summary>One stored build, how many devices of its platform report its version, and its pilot when it is piloting.</summary>
public sealed record AgentBuildDto(
    Guid Id, string Rid, string Version, string Sha256, long Size, bool Current, string UploadedBy, DateTime UploadedAt, int Devices, AgentPilotDto? Pilot = null);

/// <summary>
/// A build's pilot and its results so far, over the group's devices of the runtime's platform (not revoked): offered
/// (sent an <c>agentUpdate</c> carrying this build since the pilot started), updated (reporting this version or a newer
/// one), failed (their last offer of it failed: refused or rolled back, and not updated), on an older version (the rest).
/// <c>held</c>: more than <c>holdPercent</c> of those offered failed, so promoting asks for confirmation.
/// </summary>
public sealed record AgentPilotDto(
    Guid GroupId, string GroupName, string StartedBy, DateTime StartedAt, int Devices, int Offered, int Updated, int Failed, int OnOlder, int HoldPercent, bool Held);

/// <summary>Starts a pilot: the group whose devices are offered the build first.</summary>
public sealed record AgentPilotRequest(Guid? GroupId);

/// <summary>How many desktop agents of a platform report a version (every version in use, uploaded here or not).</summary>
public sealed record AgentVersionCountDto(DevicePlatform Platform, string Version, int Devices);

/// <summary>The builds, newest first, and the versions the district's desktop agents run.</summary>
public sealed record AgentUpdatesDto(List<AgentBuildDto> Builds, List<AgentVersionCountDto> Running);

/// <summary>
/// The district's agent builds (district administrators: an agent build runs as the device's administrator on every
/// device of its platform). Upload checks the runtime, the version and that the file is an executable of that runtime
/// (ELF, PE or Mach-O for the right processor), stores it by SHA-256 (<see cref="AgentBuildContent"/>: files under
/// <c>data/agent-updates</c> on SQLite, rows every node reads on PostgreSQL) and signs its
/// manifest with the server's signing key (<see cref="ScriptSigningKey"/>: the key agents pin). Marking a build current
/// offers it to the runtime's devices that run an older version (<see cref="AgentUpdateOffers"/>), district-wide. A build
/// may first be piloted: offered only to one group's devices (<see cref="AgentPilot"/>), then promoted (made current) or
/// withdrawn (the group's devices are offered the current build again). Everything is audited.
/// </summary>
public sealed class AgentBuilds(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AgentBuildContent content,
    ScriptSigningKey signingKey,
    AgentUpdateOffers offers,
    AuditTrail audit,
    IOptions<AgentUpdateOptions> options,
    TimeProvider time,
    ILogger<AgentBuilds> logger)
{
    /// <summary>The largest upload accepted.</summary>
    public long MaxPackageBytes => options.Value.MaxPackageBytes;

    public async Task<AgentUpdatesDto> ListAsync(StaffScope scope, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var desktops = new[] { DevicePlatform.Windows, DevicePlatform.MacOS, DevicePlatform.Linux };
        var running = (await scope.Devices(db)
                .Where(d => d.RevokedAt == null && desktops.Contains(d.Platform) && d.AgentVersion != null)
                .GroupBy(d => new { d.Platform, d.AgentVersion })
                .Select(g => new { g.Key.Platform, g.Key.AgentVersion, Count = g.Count() })
                .ToListAsync(cancellationToken))
            .Select(r => new AgentVersionCountDto(r.Platform, AgentUpdates.VersionOfAgent(r.AgentVersion) ?? r.AgentVersion!, r.Count))
            .OrderBy(r => r.Platform).ThenByDescending(r => r.Version, StringComparer.Ordinal)
            .ToList();
        var builds = await db.Set<AgentBuild>().AsNoTracking().ToListAsync(cancellationToken);
        var pilots = new Dictionary<Guid, AgentPilotDto>();
        foreach (var pilot in await db.Set<AgentPilot>().AsNoTracking().ToListAsync(cancellationToken))
        {
            if (builds.FirstOrDefault(b => b.Id == pilot.BuildId) is { } piloted)
            {
                pilots[piloted.Id] = await ResultsAsync(db, pilot, piloted, cancellationToken);
            }
        }

        return new AgentUpdatesDto(
            builds.OrderByDescending(b => b.UploadedAt).Select(b => ToDto(b, running) with { Pilot = pilots.GetValueOrDefault(b.Id) }).ToList(),
            running);
    }

    /// <summary>
    /// Stores a build read from <paramref name="body"/>: refused with a validation problem for an unknown runtime, a
    /// version that is not MAJOR.MINOR.PATCH, a file that is not an executable of the runtime, and with
    /// <see cref="PayloadTooLargeException"/> beyond <see cref="MaxPackageBytes"/>; 409 when the runtime has the version already.
    /// </summary>
    public async Task<AgentBuildDto> UploadAsync(StaffScope scope, string? rid, string? version, Stream body, long? length, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (rid is null || !AgentUpdates.Runtimes.Contains(rid))
        {
            errors["rid"] = [$"One of {string.Join(", ", AgentUpdates.Runtimes)}."];
        }

        if (!AgentUpdates.IsVersion(version))
        {
            errors["version"] = ["A version MAJOR.MINOR.PATCH (each 0 to 65535, no leading zeros), such as 1.4.0."];
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        if (length > MaxPackageBytes)
        {
            throw new PayloadTooLargeException($"An agent build is at most {MaxPackageBytes} bytes; this one is {length}.");
        }

        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            if (await db.Set<AgentBuild>().AnyAsync(b => b.Rid == rid && b.Version == version, cancellationToken))
            {
                throw new ConflictException($"{rid} already has a build of version {version}; delete it first to replace it.");
            }
        }

        var (sha256, size) = await content.StoreAsync(body, rid!, MaxPackageBytes, cancellationToken);
        var build = new AgentBuild
        {
            Id = Guid.CreateVersion7(),
            Rid = rid!,
            Version = version!,
            Sha256 = sha256,
            Size = size,
            Signature = Convert.ToBase64String(signingKey.Sign(AgentUpdates.Payload(rid!, version!, sha256, size))),
            UploadedBy = scope.Username,
            UploadedAt = time.GetUtcNow().UtcDateTime,
        };
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            db.Add(build);
            audit.Record(db, "agentUpdate.upload", "agentBuild", build.Id.ToString(), $"{rid} {version}, {size} bytes, SHA-256 {sha256}");
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (DatabaseErrors.IsUniqueViolation(e))
        {
            // The same runtime and version stored by another upload meanwhile: its file is kept only if a build is that file.
            await DeleteUnusedContentAsync(sha256, CancellationToken.None);
            throw new ConflictException($"{rid} already has a build of version {version}; delete it first to replace it.");
        }

        AgentUpdatesLog.Stored(logger, build.Rid, build.Version, size, sha256);
        return ToDto(build, []);
    }

    /// <summary>Makes a build its runtime's current one and offers it to the online devices that run an older version; null when there is no such build.</summary>
    public async Task<AgentBuildDto?> SetCurrentAsync(StaffScope scope, Guid id, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        AgentBuild? build;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            build = await db.Set<AgentBuild>().FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
            if (build is null)
            {
                return null;
            }

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var rid = build.Rid;
            await db.Set<AgentBuild>().Where(b => b.Rid == rid && b.Id != id && b.IsCurrent)
                .ExecuteUpdateAsync(s => s.SetProperty(b => b.IsCurrent, false), cancellationToken);
            build.IsCurrent = true;
            // Made current while piloting: the pilot is over (as when promoted, without the hold).
            var piloting = await db.Set<AgentPilot>().Where(p => p.BuildId == id).ExecuteDeleteAsync(cancellationToken) > 0;
            audit.Record(db, "agentUpdate.current", "agentBuild", build.Id.ToString(), $"{build.Rid} {build.Version} is current{(piloting ? " (its pilot ends)" : "")}");
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await offers.OfferToOnlineAsync(AgentUpdates.PlatformOf(build.Rid), cancellationToken);
        return (await ListAsync(scope, cancellationToken)).Builds.First(b => b.Id == id);
    }

    /// <summary>
    /// Starts a pilot of a build: only the devices of <paramref name="request"/>'s group (read through the caller's scope)
    /// are offered it, the others keep the current build. Null when there is no such build; a validation problem for a
    /// missing or unknown group; 409 when the build is current, not newer than the current build, or its runtime has a
    /// pilot already.
    /// </summary>
    public async Task<AgentBuildDto?> StartPilotAsync(StaffScope scope, Guid id, AgentPilotRequest request, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        if (request.GroupId is not { } groupId)
        {
            throw new RequestValidationException(new() { ["groupId"] = ["The group whose devices take the build first."] });
        }

        AgentBuild? build;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            build = await db.Set<AgentBuild>().AsNoTracking().FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
            if (build is null)
            {
                return null;
            }

            var group = await scope.Groups(db).Where(g => g.Id == groupId).Select(g => new { g.Name, g.SchoolId }).FirstOrDefaultAsync(cancellationToken)
                ?? throw new RequestValidationException(new() { ["groupId"] = ["No such group."] });
            scope.EnsureIncludesSchool(group.SchoolId, "groupId");
            if (build.IsCurrent)
            {
                throw new ConflictException($"{build.Rid} {build.Version} is the current build already: every device of the runtime is offered it.");
            }

            var rid = build.Rid;
            if (await db.Set<AgentBuild>().AsNoTracking().FirstOrDefaultAsync(b => b.Rid == rid && b.IsCurrent, cancellationToken) is { } current
                && AgentUpdates.Compare(build.Version, current.Version) <= 0)
            {
                throw new ConflictException($"{build.Rid} {build.Version} is not newer than the current build {current.Version}: no device would take it.");
            }

            if (await db.Set<AgentPilot>().AsNoTracking().FirstOrDefaultAsync(p => p.Rid == rid, cancellationToken) is { } running)
            {
                var other = await db.Set<AgentBuild>().AsNoTracking().Where(b => b.Id == running.BuildId).Select(b => b.Version).FirstOrDefaultAsync(cancellationToken);
                throw new ConflictException($"{rid} {other} is piloting with {running.GroupName}: promote or withdraw it first.");
            }

            db.Add(new AgentPilot
            {
                Rid = rid, BuildId = build.Id, GroupId = groupId, GroupName = group.Name, StartedBy = scope.Username, StartedAt = time.GetUtcNow().UtcDateTime,
            });
            audit.Record(db, "agentUpdate.pilot", "agentBuild", build.Id.ToString(), $"{rid} {build.Version} offered first to the devices of {group.Name} ({groupId})");
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                throw new ConflictException($"{rid} has a pilot already: promote or withdraw it first.");
            }

            AgentUpdatesLog.Pilot(logger, rid, build.Version, "started", group.Name);
        }

        await offers.OfferToOnlineAsync(AgentUpdates.PlatformOf(build.Rid), cancellationToken);
        return (await ListAsync(scope, cancellationToken)).Builds.First(b => b.Id == id);
    }

    /// <summary>
    /// Promotes a piloting build: it becomes its runtime's current build, offered district-wide. When more than
    /// <see cref="AgentUpdateOptions.PilotHoldPercent"/> of the devices offered it failed, 409 with the figures unless
    /// <paramref name="confirm"/>. Null when there is no such build; 409 when it is not piloting.
    /// </summary>
    public async Task<AgentBuildDto?> PromoteAsync(StaffScope scope, Guid id, bool confirm, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        AgentBuild? build;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            build = await db.Set<AgentBuild>().FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
            if (build is null)
            {
                return null;
            }

            var pilot = await db.Set<AgentPilot>().FirstOrDefaultAsync(p => p.BuildId == id, cancellationToken)
                ?? throw new ConflictException($"{build.Rid} {build.Version} is not piloting: start a pilot first, or make it current.");
            var results = await ResultsAsync(db, pilot, build, cancellationToken);
            if (results.Held && !confirm)
            {
                throw new ConflictException(
                    $"{Figures(results)} That is more than the {results.HoldPercent} % hold: confirm to promote {build.Rid} {build.Version} to every device anyway.");
            }

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var rid = build.Rid;
            await db.Set<AgentBuild>().Where(b => b.Rid == rid && b.Id != id && b.IsCurrent)
                .ExecuteUpdateAsync(s => s.SetProperty(b => b.IsCurrent, false), cancellationToken);
            build.IsCurrent = true;
            db.Remove(pilot);
            audit.Record(db, "agentUpdate.promote", "agentBuild", build.Id.ToString(),
                $"{rid} {build.Version} promoted from the pilot {pilot.GroupName} to every device{(results.Held ? " (confirmed past the hold)" : "")}. {Figures(results)}");
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            AgentUpdatesLog.Pilot(logger, rid, build.Version, "promoted", pilot.GroupName);
        }

        await offers.OfferToOnlineAsync(AgentUpdates.PlatformOf(build.Rid), cancellationToken);
        return (await ListAsync(scope, cancellationToken)).Builds.First(b => b.Id == id);
    }

    /// <summary>
    /// Withdraws a piloting build: the pilot ends, its offers still waiting expire, and the group's devices are offered
    /// the current build again (those that already run the pilot's version keep it: an agent takes only newer versions).
    /// Null when there is no such build; 409 when it is not piloting.
    /// </summary>
    public async Task<AgentBuildDto?> WithdrawAsync(StaffScope scope, Guid id, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        AgentBuild? build;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            build = await db.Set<AgentBuild>().AsNoTracking().FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
            if (build is null)
            {
                return null;
            }

            var pilot = await db.Set<AgentPilot>().FirstOrDefaultAsync(p => p.BuildId == id, cancellationToken)
                ?? throw new ConflictException($"{build.Rid} {build.Version} is not piloting: there is nothing to withdraw.");
            var results = await ResultsAsync(db, pilot, build, cancellationToken);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var now = time.GetUtcNow().UtcDateTime;
            var sha = build.Sha256;
            var since = pilot.StartedAt;
            var offered = db.Commands.Where(c => c.Kind == CommandKinds.AgentUpdate && c.IssuedAt >= since && c.ArgumentsJson.Contains(sha)).Select(c => c.Id);
            await db.CommandDeliveries.Where(d => offered.Contains(d.CommandId)
                    && (d.Status == DeliveryStatus.Queued || d.Status == DeliveryStatus.Sent || d.Status == DeliveryStatus.Acknowledged))
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, DeliveryStatus.Expired).SetProperty(d => d.UpdatedAt, now)
                    .SetProperty(d => d.Error, "withdrawn: the pilot of this build was withdrawn"), cancellationToken);
            db.Remove(pilot);
            audit.Record(db, "agentUpdate.withdraw", "agentBuild", build.Id.ToString(),
                $"{build.Rid} {build.Version} withdrawn from the pilot {pilot.GroupName}: its devices are offered the current build again. {Figures(results)}");
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            AgentUpdatesLog.Pilot(logger, build.Rid, build.Version, "withdrawn", pilot.GroupName);
        }

        await offers.OfferToOnlineAsync(AgentUpdates.PlatformOf(build.Rid), cancellationToken);
        return (await ListAsync(scope, cancellationToken)).Builds.First(b => b.Id == id);
    }

    private static string Figures(AgentPilotDto r) =>
        $"Pilot {r.GroupName}: {r.Devices} device(s), {r.Offered} offered, {r.Updated} updated, {r.Failed} failed or rolled back, {r.OnOlder} on an older version.";

    // The pilot's figures over its group's devices of the runtime's platform (read again each time: joining the group joins the pilot).
    private async Task<AgentPilotDto> ResultsAsync(HomeroomDbContext db, AgentPilot pilot, AgentBuild build, CancellationToken cancellationToken)
    {
        var platform = AgentUpdates.PlatformOf(build.Rid);
        var members = await db.Devices.AsNoTracking().InGroup(db, pilot.GroupId).Where(d => d.RevokedAt == null && d.Platform == platform)
            .Select(d => new { d.Id, d.AgentVersion }).ToListAsync(cancellationToken);
        var updated = members.Where(m => AgentUpdates.VersionOfAgent(m.AgentVersion) is { } v && AgentUpdates.Compare(v, build.Version) >= 0).Select(m => m.Id).ToHashSet();
        var sha = build.Sha256;
        var since = pilot.StartedAt;
        var deliveries = await db.CommandDeliveries.AsNoTracking()
            .Join(db.Commands.AsNoTracking().Where(c => c.Kind == CommandKinds.AgentUpdate && c.IssuedAt >= since && c.ArgumentsJson.Contains(sha)),
                d => d.CommandId, c => c.Id, (d, c) => new { d.DeviceId, d.Status, d.UpdatedAt, c.IssuedAt })
            .ToListAsync(cancellationToken);
        var ids = members.Select(m => m.Id).ToHashSet();
        var last = deliveries.Where(d => ids.Contains(d.DeviceId)).GroupBy(d => d.DeviceId)
            .Select(g => g.OrderByDescending(d => d.IssuedAt).First()).ToList();
        var failed = last.Count(d => d.Status == DeliveryStatus.Failed && !updated.Contains(d.DeviceId));
        var hold = options.Value.PilotHoldPercent;
        return new AgentPilotDto(pilot.GroupId, pilot.GroupName, pilot.StartedBy, pilot.StartedAt, members.Count, last.Count, updated.Count, failed,
            members.Count - updated.Count, hold, last.Count > 0 && failed * 100 > hold * last.Count);
    }

    /// <summary>Deletes a build (its file too, unless another build is the same file); false when there is no such build.</summary>
    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageAgentUpdates);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var build = await db.Set<AgentBuild>().FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
        if (build is null)
        {
            return false;
        }

        db.Remove(build);
        audit.Record(db, "agentUpdate.delete", "agentBuild", build.Id.ToString(), $"{build.Rid} {build.Version}{(build.IsCurrent ? " (was current)" : "")}");
        await db.SaveChangesAsync(cancellationToken);
        await DeleteUnusedContentAsync(build.Sha256, cancellationToken);
        return true;
    }

    private async Task DeleteUnusedContentAsync(string sha256, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await db.Set<AgentBuild>().AnyAsync(b => b.Sha256 == sha256, cancellationToken))
        {
            await content.DeleteAsync(sha256, cancellationToken);
        }
    }

    /// <summary>The stored file of the build with this SHA-256, for a device's download; null when there is none.</summary>
    public async Task<AgentBuildDownload?> DownloadOfAsync(string sha256, CancellationToken cancellationToken)
    {
        if (!AgentUpdates.IsSha256(sha256))
        {
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var size = await db.Set<AgentBuild>().Where(b => b.Sha256 == sha256).Select(b => (long?)b.Size).FirstOrDefaultAsync(cancellationToken);
        return size is { } known ? await content.OpenAsync(sha256, known, cancellationToken) : null;
    }

    private static AgentBuildDto ToDto(AgentBuild b, List<AgentVersionCountDto> running) => new(
        b.Id, b.Rid, b.Version, b.Sha256, b.Size, b.IsCurrent, b.UploadedBy, b.UploadedAt,
        running.Where(r => r.Platform == AgentUpdates.PlatformOf(b.Rid) && r.Version == b.Version).Sum(r => r.Devices));

    /// <summary>Null when the header is an executable of the runtime: ELF x86-64, PE (MZ), or Mach-O 64-bit for its processor (or universal).</summary>
    internal static string? ExecutableProblem(ReadOnlySpan<byte> header, string rid)
    {
        switch (rid)
        {
            case "linux-x64":
                return header.Length >= 20 && header[..4].SequenceEqual("\u007fELF"u8) && header[4] == 2 && BinaryPrimitives.ReadUInt16LittleEndian(header[18..]) == 0x3E
                    ? null
                    : "Not an x86-64 ELF executable (a linux-x64 build is the single file scripts/package-agent.sh writes).";
            case "win-x64":
                return header.Length >= 2 && header[0] == (byte)'M' && header[1] == (byte)'Z' ? null : "Not a Windows executable (no MZ header).";
            default:
                if (header.Length >= 8 && BinaryPrimitives.ReadUInt32BigEndian(header) == 0xCAFEBABE)
                {
                    return null; // universal binary
                }

                var cpu = rid == "osx-arm64" ? 0x0100000Cu : 0x01000007u;
                return header.Length >= 8 && BinaryPrimitives.ReadUInt32LittleEndian(header) == 0xFEEDFACF && BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) == cpu
                    ? null
                    : $"Not a 64-bit Mach-O executable for {rid}.";
        }
    }
}
