using Homeroom.Server.Commands;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apple;

/// <summary>
/// After a command is stored, pushes each targeted Apple device that has a push token, so it checks
/// the command endpoint now rather than at its next routine check-in. A token APNs reports as
/// unregistered is cleared.
/// </summary>
public sealed class MdmWaker(ApnsClient apns, PushCertificateStore certificates, IDbContextFactory<HomeroomDbContext> dbFactory, ILogger<MdmWaker> logger) : ICommandWaker
{
    public async Task WakeAsync(IReadOnlyList<Guid> deviceIds, CancellationToken cancellationToken)
    {
        if (!apns.Configured || deviceIds.Count == 0)
        {
            return;
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var targets = new List<(Guid DeviceId, string Token, string Magic, string Topic)>();
        foreach (var chunk in deviceIds.Chunk(5_000))
        {
            targets.AddRange((await db.AppleDevices.AsNoTracking()
                .Where(a => chunk.Contains(a.DeviceId) && a.PushToken != null && a.PushMagic != null && a.CheckedOutAt == null)
                .Select(a => new { a.DeviceId, a.PushToken, a.PushMagic, a.Topic })
                .ToListAsync(cancellationToken))
                .Select(a => (a.DeviceId, a.PushToken!, a.PushMagic!, a.Topic ?? certificates.Topic)));
        }

        var unregistered = new List<Guid>();
        await Parallel.ForEachAsync(targets, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = cancellationToken }, async (target, token) =>
        {
            var outcome = await apns.PushAsync(target.Token, target.Topic, target.Magic, token);
            if (outcome == PushOutcome.Unregistered)
            {
                lock (unregistered)
                {
                    unregistered.Add(target.DeviceId);
                }
            }
            else if (outcome == PushOutcome.Failed)
            {
                AppleLog.PushFailed(logger, target.DeviceId);
            }
        });

        if (unregistered.Count > 0)
        {
            await db.AppleDevices.Where(a => unregistered.Contains(a.DeviceId)).ExecuteUpdateAsync(s => s.SetProperty(a => a.PushToken, (string?)null), cancellationToken);
        }
    }
}
