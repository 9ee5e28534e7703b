using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Devices;

/// <summary>Re-enrollment approvals (configuration section <c>Homeroom:Reenrollment</c>).</summary>
public sealed class ReenrollmentOptions
{
    public const string Section = "Homeroom:Reenrollment";

    /// <summary>How long an administrator's approval lets the device enroll again without its current credential.</summary>
    public TimeSpan ApprovalWindow { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>What an approval allows: the device may enroll again until <paramref name="ApprovedUntil"/>.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="ApprovedUntil">The end of the window (UTC); the first enrollment within it spends the approval.</param>
/// <param name="Revoked">Whether the device is revoked now; that enrollment lifts the revocation.</param>
public sealed record ReenrollmentApprovalDto(Guid DeviceId, DateTime ApprovedUntil, bool Revoked);

/// <summary>
/// An administrator vouches that the next enrollment of a device is legitimate although it cannot
/// present the device's current credential: an agent that was wiped or reinstalled, or a revoked
/// device being restored. For <see cref="ReenrollmentOptions.ApprovalWindow"/>, one enrollment of
/// that platform and serial with a token of the device's school (or a district-wide token) succeeds
/// and spends the approval; a revoked device stays revoked until then. Nothing else changes now: the
/// credential, the school and a live connection stay as they are.
/// </summary>
public sealed class ApproveReenrollment(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, IOptions<ReenrollmentOptions> options, TimeProvider time)
{
    /// <summary>Approves the device's re-enrollment; null when there is no such device.</summary>
    public async Task<ReenrollmentApprovalDto?> ExecuteAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await db.Devices.AsTracking().FirstOrDefaultAsync(d => d.Id == deviceId, cancellationToken);
        if (device is null)
        {
            return null;
        }

        var until = time.GetUtcNow().UtcDateTime + options.Value.ApprovalWindow;
        device.ReenrollmentApprovedUntil = until;
        var revoked = device.RevokedAt is not null;
        audit.Record(db, "device.reenrollment.approve", "device", deviceId.ToString(),
            $"{device.Name} ({device.Platform} {device.Serial}) may enroll again until {until:u}{(revoked ? "; that enrollment lifts its revocation" : string.Empty)}");
        await db.SaveChangesAsync(cancellationToken);
        return new ReenrollmentApprovalDto(deviceId, until, revoked);
    }
}
