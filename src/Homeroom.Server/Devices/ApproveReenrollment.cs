using Homeroom.Server.Accounts;
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
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:05:00", "30.00:00:00")]
    public TimeSpan ApprovalWindow { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>Validates <see cref="ReenrollmentOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class ReenrollmentOptionsValidator : IValidateOptions<ReenrollmentOptions>;

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
    /// <summary>Approves the re-enrollment of a device of the scope; null when there is no such device.</summary>
    public async Task<ReenrollmentApprovalDto?> ExecuteAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageDevices);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.Devices(db).AnyAsync(d => d.Id == deviceId, cancellationToken))
        {
            return null;
        }

        var device = await db.Devices.AsTracking().FirstAsync(d => d.Id == deviceId, cancellationToken);

        var until = time.GetUtcNow().UtcDateTime + options.Value.ApprovalWindow;
        device.ReenrollmentApprovedUntil = until;
        var revoked = device.RevokedAt is not null;
        audit.Record(db, "device.reenrollment.approve", "device", deviceId.ToString(),
            $"{device.Name} ({device.Platform} {device.Serial}) may enroll again until {until:u}{(revoked ? "; that enrollment lifts its revocation" : string.Empty)}",
            device.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return new ReenrollmentApprovalDto(deviceId, until, revoked);
    }
}
