using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.Agents;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Devices;

/// <summary>
/// Withdraws a device's credential. Its stored hash is replaced, so the old credential stops working
/// at once, and a live connection is closed with 4403 there and then. The device stays revoked, and
/// cannot enroll again, until an administrator approves its re-enrollment (<see cref="ApproveReenrollment"/>);
/// revoking cancels an approval not yet used.
/// </summary>
public sealed class RevokeDevice(IDbContextFactory<HomeroomDbContext> dbFactory, ConnectionRegistry registry, PresenceTracker presence, AuditTrail audit, TimeProvider time)
{
    public async Task<bool> ExecuteAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await db.Devices.FirstOrDefaultAsync(d => d.Id == deviceId, cancellationToken);
        if (device is null)
        {
            return false;
        }

        if (device.RevokedAt is null)
        {
            device.RevokedAt = time.GetUtcNow().UtcDateTime;
            device.CredentialHash = Secrets.Hash(Secrets.Create("revoked_"));
            device.ReenrollmentApprovedUntil = null;
            audit.Record(db, "device.revoke", "device", deviceId.ToString(), device.Name);
            await db.SaveChangesAsync(cancellationToken);
        }

        registry.Disconnect(deviceId, AgentCloseCodes.DeviceRevoked, "device revoked");
        presence.Forget(deviceId);
        return true;
    }
}
