using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Enrollment;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apple;

/// <summary>An <c>Authenticate</c> check-in: the UDID, the identity that signed it, and the message.</summary>
public sealed record AppleAuthentication(string Udid, string Thumbprint, Dictionary<string, object> Body);

/// <summary>The device the check-in enrolled (or confirmed), or why it was refused (a 4xx status and the reason).</summary>
public sealed record AppleAuthenticationOutcome(Guid? DeviceId, int Status, string? Detail)
{
    public static AppleAuthenticationOutcome Enrolled(Guid deviceId) => new(deviceId, StatusCodes.Status200OK, null);

    public static AppleAuthenticationOutcome Refused(int status, string detail) => new(null, status, detail);
}

/// <summary>
/// Enrolls an Apple device from its <c>Authenticate</c> check-in. A serial number or UDID is not a
/// secret, so an existing device is taken over only when the request proves it is that device or an
/// administrator approved the re-enrollment (<see cref="ReenrollmentRules"/>). For MDM the proof is
/// the identity: the same UDID signing with the identity it is bound to is the same device (after a
/// CheckOut, say); a reinstalled profile brings a new identity and needs the approval. A re-enrollment
/// never crosses schools, a revoked device stays revoked until approved, and every refusal is decided
/// before anything is written.
/// </summary>
public sealed class AuthenticateAppleDevice(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    EnrollDevice enrollDevice,
    AuditTrail audit,
    PolicyDistributor policies,
    TimeProvider time)
{
    public async Task<AppleAuthenticationOutcome> ExecuteAsync(AppleAuthentication message, string? enrollToken, string? remoteAddress, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var bound = await db.AppleDevices.FirstOrDefaultAsync(a => a.Udid == message.Udid, cancellationToken);
        var boundDevice = bound is null ? null : await db.Devices.AsNoTracking().FirstOrDefaultAsync(d => d.Id == bound.DeviceId, cancellationToken);
        if (bound is not null && bound.IdentityThumbprint == message.Thumbprint && bound.CheckedOutAt is null && boundDevice?.RevokedAt is null)
        {
            // The enrolled device itself, authenticating again with its own identity.
            bound.LastCheckinAt = now;
            await db.SaveChangesAsync(cancellationToken);
            return AppleAuthenticationOutcome.Enrolled(bound.DeviceId);
        }

        if (string.IsNullOrEmpty(enrollToken) || enrollToken.Length > 256)
        {
            return AppleAuthenticationOutcome.Refused(StatusCodes.Status403Forbidden, "Enrolling needs an enrollment token (the check-in URL's enroll parameter).");
        }

        var tokenHash = Secrets.Hash(enrollToken);
        var token = await db.EnrollmentTokens.AsNoTracking().FirstOrDefaultAsync(t => t.SecretHash == tokenHash, cancellationToken);
        if (token is null)
        {
            return AppleAuthenticationOutcome.Refused(StatusCodes.Status401Unauthorized, "The enrollment token is not valid.");
        }

        var serial = (message.Body.GetValueOrDefault("SerialNumber") as string ?? message.Udid).Trim();
        var product = message.Body.GetValueOrDefault("ProductName") as string ?? "";
        var platform = product.StartsWith("Mac", StringComparison.Ordinal) ? DevicePlatform.MacOS
            : product.StartsWith("iPhone", StringComparison.Ordinal) ? DevicePlatform.IOS
            : DevicePlatform.IPadOS;
        if (serial.Length is 0 or > EnrollDevice.MaxSerialLength)
        {
            return AppleAuthenticationOutcome.Refused(StatusCodes.Status400BadRequest, "SerialNumber is missing or too long.");
        }

        var existing = await db.Devices.FirstOrDefaultAsync(d => d.Platform == platform && d.Serial == serial, cancellationToken);
        if (boundDevice is not null && boundDevice.Id != existing?.Id)
        {
            // The UDID is bound to one device and the message names another (or a new) serial: moving
            // the binding would take the enrolled device's management away from it.
            return AppleAuthenticationOutcome.Refused(StatusCodes.Status409Conflict, "This UDID is enrolled as another device; an administrator must remove that enrollment first.");
        }

        var tokenSchool = token.SchoolId ?? (token.GroupId is { } groupId ? await db.Groups.Where(g => g.Id == groupId).Select(g => g.SchoolId).FirstOrDefaultAsync(cancellationToken) : null);
        var existingApple = existing is null ? null : bound?.DeviceId == existing.Id ? bound : await db.AppleDevices.FirstOrDefaultAsync(a => a.DeviceId == existing.Id, cancellationToken);
        var proved = existingApple is not null && existingApple.Udid == message.Udid && existingApple.IdentityThumbprint == message.Thumbprint;
        var verdict = ReenrollmentRules.Check(
            existing is null ? null : new ExistingDevice(existing.SchoolId, existing.RevokedAt is not null, existing.ReenrollmentApprovedUntil), tokenSchool, proved, now);
        switch (verdict)
        {
            case ReenrollmentVerdict.OtherSchool:
                return AppleAuthenticationOutcome.Refused(StatusCodes.Status403Forbidden, "This device belongs to another school than the enrollment token; a re-enrollment never moves a device between schools.");
            case ReenrollmentVerdict.Revoked:
                return AppleAuthenticationOutcome.Refused(StatusCodes.Status403Forbidden, "This device was revoked; it can enroll again only after an administrator approves its re-enrollment.");
            case ReenrollmentVerdict.NeedsProof:
                return AppleAuthenticationOutcome.Refused(StatusCodes.Status403Forbidden,
                    "This device is already enrolled with another identity. Re-enrolling it (a reinstalled profile, an erased device) needs an administrator to approve its re-enrollment first.");
            case ReenrollmentVerdict.SameDevice:
            {
                // Its own identity after a CheckOut: the same device coming back. The token must still be usable.
                if (EnrollmentTokenRules.Check(new TokenState(token.ExpiresAt, token.MaxUses, token.UseCount, token.RevokedAt), now, isReenrollment: true) != TokenVerdict.Usable)
                {
                    return AppleAuthenticationOutcome.Refused(StatusCodes.Status403Forbidden, "The enrollment token is no longer usable.");
                }

                existingApple!.CheckedOutAt = null;
                existingApple.EnrolledAt = now;
                existingApple.LastCheckinAt = now;
                existingApple.Topic = Topic(message) ?? existingApple.Topic;
                audit.Record(db, "mdm.authenticate", "device", existing!.Id.ToString(), $"UDID {message.Udid}, same identity");
                await db.SaveChangesAsync(cancellationToken);
                policies.RequestDevice(existing.Id);
                return AppleAuthenticationOutcome.Enrolled(existing.Id);
            }
        }

        // NewDevice or Approved: the shared enrollment use case checks and spends the token and writes the device record.
        EnrollResponse enrolled;
        try
        {
            enrolled = await enrollDevice.ExecuteAsync(
                new EnrollRequest(enrollToken, platform, serial, message.Body.GetValueOrDefault("Model") as string ?? product, "Apple",
                    message.Body.GetValueOrDefault("OSVersion") as string, Name: Clip(message.Body.GetValueOrDefault("DeviceName") as string), AgentVersion: "mdm"),
                remoteAddress, cancellationToken);
        }
        catch (EnrollmentRefusedException refused)
        {
            return AppleAuthenticationOutcome.Refused(refused.StatusCode, $"Enrollment refused: {refused.Message}");
        }
        catch (Hosting.RequestValidationException invalid)
        {
            return AppleAuthenticationOutcome.Refused(StatusCodes.Status400BadRequest, $"Enrollment refused: {string.Join(" ", invalid.Errors.SelectMany(e => e.Value))}");
        }

        var apple = existingApple ?? await db.AppleDevices.FirstOrDefaultAsync(a => a.DeviceId == enrolled.DeviceId, cancellationToken);
        if (apple is null)
        {
            apple = new AppleDevice { DeviceId = enrolled.DeviceId, Udid = message.Udid, IdentityThumbprint = message.Thumbprint, EnrolledAt = now };
            db.AppleDevices.Add(apple);
        }

        // Approved (or new): bind this UDID and identity; the old push token belonged to the old enrollment.
        apple.Udid = message.Udid;
        apple.IdentityThumbprint = message.Thumbprint;
        apple.PushToken = null;
        apple.PushMagic = null;
        apple.CheckedOutAt = null;
        apple.EnrolledAt = now;
        apple.Topic = Topic(message);
        apple.LastCheckinAt = now;
        // Automated device enrollment makes a supervised device; its token is the district's ADE one.
        apple.Supervised |= await AppleSchoolManager.AdeEnrollment.IsAutomatedEnrollmentTokenAsync(db, token.Id, cancellationToken);
        if (verdict == ReenrollmentVerdict.Approved)
        {
            // One approval, one re-enrollment (only this column is written; the enrollment above wrote the rest).
            existing!.ReenrollmentApprovedUntil = null;
        }

        audit.Record(db, "mdm.authenticate", "device", enrolled.DeviceId.ToString(), verdict == ReenrollmentVerdict.Approved ? $"UDID {message.Udid}, re-enrollment approved by an administrator" : $"UDID {message.Udid}");
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another Authenticate for the same UDID or device won a race; this one changes nothing more.
            return AppleAuthenticationOutcome.Refused(StatusCodes.Status409Conflict, "Another enrollment of this device is in progress; try again.");
        }

        policies.RequestDevice(enrolled.DeviceId); // its policy, as a profile, is queued for its first poll
        return AppleAuthenticationOutcome.Enrolled(enrolled.DeviceId);
    }

    private static string? Topic(AppleAuthentication message) => message.Body.GetValueOrDefault("Topic") as string is { Length: <= 255 } topic ? topic : null;

    // The name the device gives itself, within what a device name may be; none makes one from the platform and serial.
    private static string? Clip(string? name) => string.IsNullOrWhiteSpace(name) ? null : name.Length > 200 ? name[..200] : name;
}
