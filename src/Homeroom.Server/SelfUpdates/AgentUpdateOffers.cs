using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Server.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.SelfUpdates;

/// <summary>
/// Tells desktop agents about the build they should run: for each runtime of the device's platform, the runtime's pilot
/// build when the device is in the pilot's group (<see cref="AgentPilot"/>, read again at every offer), else its current
/// build. When a device connects (or a build becomes current or starts a pilot while it is online) and its agent
/// reports an older version in its auth frame, it gets one <c>agentUpdate</c> command carrying the signed manifest of
/// each such build of its platform's runtimes (both Mac runtimes: the agent takes its own). A device is not offered the
/// same build again while an earlier offer is waiting or has succeeded, nor for <see cref="AgentUpdateOptions.RetryAfter"/>
/// after it refused or rolled it back. An offer still waiting for a build the device should no longer take (a withdrawn
/// pilot, a pilot group it left) expires, so it is not sent again when the device reconnects.
/// </summary>
public sealed class AgentUpdateOffers(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    IssueCommand issue,
    ConnectionRegistry registry,
    IOptions<AgentUpdateOptions> options,
    TimeProvider time,
    ILogger<AgentUpdateOffers> logger)
{
    // A device connecting while a build becomes current is offered from both paths at once; each check-then-issue
    // runs under its device's stripe so the second sees the first's command and does not issue another.
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    /// <summary>Offers the builds a device should run (its pilot's or the current ones) if its agent is older; the command, or null.</summary>
    public async Task<Guid?> OfferAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        var stripe = _stripes[(deviceId.GetHashCode() & int.MaxValue) % _stripes.Length];
        await stripe.WaitAsync(cancellationToken);
        try
        {
            return await OfferOnceAsync(deviceId, cancellationToken);
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>
    /// Expires the device's waiting offers of builds it should no longer take, before its waiting commands are sent again
    /// on connect (only when a pilot exists for its platform: without one, nothing changes what a device should run
    /// between connects but an administrator's action, which offers at once).
    /// </summary>
    public async Task ExpireStaleAsync(Guid deviceId, DevicePlatform platform, CancellationToken cancellationToken)
    {
        var rids = AgentUpdates.RuntimesOf(platform);
        if (rids.Count == 0)
        {
            return; // no desktop agent: no query at all
        }

        var stripe = _stripes[(deviceId.GetHashCode() & int.MaxValue) % _stripes.Length];
        await stripe.WaitAsync(cancellationToken);
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            if (!await db.Set<AgentPilot>().AnyAsync(x => rids.Contains(x.Rid), cancellationToken))
            {
                return;
            }

            var targets = await TargetsAsync(db, deviceId, platform, cancellationToken);
            await ExpireStaleAsync(db, deviceId, targets, await EarlierAsync(db, deviceId, cancellationToken), cancellationToken);
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>
    /// The builds a device of a platform should run, one per runtime: the runtime's pilot build when the device is in the
    /// pilot's group, else the runtime's current build.
    /// </summary>
    internal static async Task<List<AgentBuild>> TargetsAsync(HomeroomDbContext db, Guid deviceId, DevicePlatform platform, CancellationToken cancellationToken)
    {
        var rids = AgentUpdates.RuntimesOf(platform);
        var builds = await db.Set<AgentBuild>().AsNoTracking().Where(b => b.IsCurrent && rids.Contains(b.Rid)).ToListAsync(cancellationToken);
        var pilots = await db.Set<AgentPilot>().AsNoTracking().Where(p => rids.Contains(p.Rid)).ToListAsync(cancellationToken);
        foreach (var pilot in pilots)
        {
            if (await db.Devices.AsNoTracking().Where(d => d.Id == deviceId).InGroup(db, pilot.GroupId).AnyAsync(cancellationToken)
                && await db.Set<AgentBuild>().AsNoTracking().FirstOrDefaultAsync(b => b.Id == pilot.BuildId, cancellationToken) is { } build)
            {
                builds.RemoveAll(b => b.Rid == pilot.Rid);
                builds.Add(build);
            }
        }

        return builds;
    }

    private async Task<Guid?> OfferOnceAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await db.Devices.AsNoTracking().Where(d => d.Id == deviceId && d.RevokedAt == null)
            .Select(d => new { d.Platform, d.AgentVersion }).FirstOrDefaultAsync(cancellationToken);
        if (device is null || AgentUpdates.VersionOfAgent(device.AgentVersion) is not { } running)
        {
            return null; // not a desktop agent, or one too old to say its version
        }

        var targets = await TargetsAsync(db, deviceId, device.Platform, cancellationToken);
        var earlier = await EarlierAsync(db, deviceId, cancellationToken);
        earlier = await ExpireStaleAsync(db, deviceId, targets, earlier, cancellationToken);
        var builds = targets.Where(b => AgentUpdates.Compare(b.Version, running) > 0).ToList();
        if (builds.Count == 0)
        {
            return null;
        }

        var retryFrom = time.GetUtcNow().UtcDateTime - options.Value.RetryAfter;
        var shas = builds.Select(b => b.Sha256).ToHashSet(StringComparer.Ordinal);
        if (earlier.Any(e => Offers(e.ArgumentsJson, shas)
            && (e.Status is DeliveryStatus.Queued or DeliveryStatus.Sent or DeliveryStatus.Acknowledged or DeliveryStatus.Succeeded
                || (e.Status == DeliveryStatus.Failed && e.UpdatedAt > retryFrom))))
        {
            return null;
        }

        var arguments = AgentUpdates.Arguments(builds.Select(b =>
            new AgentUpdateManifest(b.Rid, b.Version, b.Sha256, b.Size, Convert.FromBase64String(b.Signature), AgentProtocol.UpdatePath(b.Sha256))));
        try
        {
            var issued = await issue.ExecuteAgentUpdateAsync(arguments, deviceId, device.Platform, options.Value.TimeToLive, cancellationToken);
            AgentUpdatesLog.Offered(logger, deviceId, running, string.Join(", ", builds.Select(b => $"{b.Rid} {b.Version}")), issued.Command.Id);
            return issued.Command.Id;
        }
        catch (RequestValidationException e)
        {
            AgentUpdatesLog.OfferFailed(logger, deviceId, string.Join(" ", e.Errors.Values.SelectMany(v => v)));
            return null;
        }
    }

    private sealed record Earlier(Guid CommandId, string ArgumentsJson, DeliveryStatus Status, DateTime UpdatedAt);

    private static async Task<List<Earlier>> EarlierAsync(HomeroomDbContext db, Guid deviceId, CancellationToken cancellationToken) =>
        await db.CommandDeliveries.AsNoTracking()
            .Where(d => d.DeviceId == deviceId)
            .Join(db.Commands.AsNoTracking().Where(c => c.Kind == CommandKinds.AgentUpdate), d => d.CommandId, c => c.Id,
                (d, c) => new Earlier(c.Id, c.ArgumentsJson, d.Status, d.UpdatedAt))
            .ToListAsync(cancellationToken);

    // A waiting offer that carries none of the builds the device should run is expired; the rest are returned.
    private async Task<List<Earlier>> ExpireStaleAsync(HomeroomDbContext db, Guid deviceId, List<AgentBuild> targets, List<Earlier> earlier, CancellationToken cancellationToken)
    {
        var wanted = targets.Select(b => b.Sha256).ToHashSet(StringComparer.Ordinal);
        var stale = earlier.Where(e => e.Status is DeliveryStatus.Queued or DeliveryStatus.Sent or DeliveryStatus.Acknowledged && !Offers(e.ArgumentsJson, wanted))
            .Select(e => e.CommandId).ToList();
        if (stale.Count == 0)
        {
            return earlier;
        }

        var now = time.GetUtcNow().UtcDateTime;
        await db.CommandDeliveries.Where(d => d.DeviceId == deviceId && stale.Contains(d.CommandId)
                && (d.Status == DeliveryStatus.Queued || d.Status == DeliveryStatus.Sent || d.Status == DeliveryStatus.Acknowledged))
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, DeliveryStatus.Expired).SetProperty(d => d.UpdatedAt, now)
                .SetProperty(d => d.Error, "withdrawn: the device should no longer take this build"), cancellationToken);
        AgentUpdatesLog.StaleExpired(logger, deviceId, stale.Count);
        return earlier.Where(e => !stale.Contains(e.CommandId)).ToList();
    }

    /// <summary>Offers what each online device of a platform should run (<see cref="OfferAsync"/>).</summary>
    public async Task OfferToOnlineAsync(DevicePlatform platform, CancellationToken cancellationToken)
    {
        var online = registry.OnlineDeviceIds.ToList();
        List<Guid> devices;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            devices = [];
            foreach (var chunk in online.Chunk(5_000))
            {
                devices.AddRange(await db.Devices.AsNoTracking().Where(d => chunk.Contains(d.Id) && d.Platform == platform).Select(d => d.Id).ToListAsync(cancellationToken));
            }
        }

        foreach (var device in devices)
        {
            await OfferAsync(device, cancellationToken);
        }
    }

    private static bool Offers(string argumentsJson, HashSet<string> shas)
    {
        var arguments = JsonSerializer.Deserialize(argumentsJson, CommandJsonContext.Default.DictionaryStringString);
        return arguments?.Values.Any(v => v.Split(' ') is { Length: 5 } parts && shas.Contains(parts[1])) == true;
    }
}
