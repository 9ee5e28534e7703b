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
/// revoking cancels an approval not yet used. The browser extensions enrolled as its companions are revoked with it.
/// </summary>
public sealed class RevokeDevice(
    IDbContextFactory<HomeroomDbContext> dbFactory, ConnectionRegistry registry, PresenceTracker presence, AuditTrail audit, Enrollment.CompanionBrowsers companions, TimeProvider time)
{
    /// <summary>Revokes a device of the scope; false when there is none.</summary>
    public async Task<bool> ExecuteAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageDevices);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == deviceId, cancellationToken))
        {
            return false;
        }

        var device = await db.Devices.FirstAsync(d => d.Id == deviceId, cancellationToken);
        if (device.RevokedAt is null)
        {
            device.RevokedAt = time.GetUtcNow().UtcDateTime;
            device.CredentialHash = Secrets.Hash(Secrets.Create("revoked_"));
            device.ReenrollmentApprovedUntil = null;
            audit.Record(db, "device.revoke", "device", deviceId.ToString(), device.Name, device.SchoolId);
            await db.SaveChangesAsync(cancellationToken);
        }

        registry.Disconnect(deviceId, AgentCloseCodes.DeviceRevoked, "device revoked");
        presence.Forget(deviceId);
        // Its browser extensions belong to it: they go with it.
        await companions.RevokeAsync(deviceId, "the desktop was revoked", cancellationToken);
        return true;
    }
}
