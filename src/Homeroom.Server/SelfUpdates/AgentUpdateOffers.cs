using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Commands;
using Homeroom.Server.Agents;
using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.SelfUpdates;

/// <summary>
/// Tells desktop agents about the current build of their platform: when a device connects (or a build becomes
/// current while it is online) and its agent reports an older version in its auth frame, it gets one
/// <c>agentUpdate</c> command carrying the signed manifest of each current build of its platform's runtimes (both
/// Mac runtimes: the agent takes its own). A device is not offered the same build again while an earlier offer is
/// waiting or has succeeded, nor for <see cref="AgentUpdateOptions.RetryAfter"/> after it refused or rolled it back.
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

    /// <summary>Offers the current builds to one device if its agent is older; the command, or null.</summary>
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

    private async Task<Guid?> OfferOnceAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await db.Devices.AsNoTracking().Where(d => d.Id == deviceId && d.RevokedAt == null)
            .Select(d => new { d.Platform, d.AgentVersion }).FirstOrDefaultAsync(cancellationToken);
        if (device is null || AgentUpdates.VersionOfAgent(device.AgentVersion) is not { } running)
        {
            return null; // not a desktop agent, or one too old to say its version
        }

        var rids = AgentUpdates.RuntimesOf(device.Platform);
        var builds = (await db.Set<AgentBuild>().AsNoTracking().Where(b => b.IsCurrent && rids.Contains(b.Rid)).ToListAsync(cancellationToken))
            .Where(b => AgentUpdates.Compare(b.Version, running) > 0)
            .ToList();
        if (builds.Count == 0)
        {
            return null;
        }

        var retryFrom = time.GetUtcNow().UtcDateTime - options.Value.RetryAfter;
        var earlier = await db.CommandDeliveries.AsNoTracking()
            .Where(d => d.DeviceId == deviceId)
            .Join(db.Commands.AsNoTracking().Where(c => c.Kind == CommandKinds.AgentUpdate), d => d.CommandId, c => c.Id,
                (d, c) => new { c.ArgumentsJson, d.Status, d.UpdatedAt })
            .ToListAsync(cancellationToken);
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

    /// <summary>Offers the current builds to every online device of a platform.</summary>
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
