using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Agents;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Enrollment;

/// <summary>
/// The Homeroom browser extension on a Windows, Linux or Mac computer belongs to the computer (docs/agent-protocol.md,
/// "Companion credential"). The desktop agent asks for a companion credential (<see cref="IssueAsync"/>) and writes it
/// into the extension's managed configuration in place of a district enrollment token. The extension enrolling with it
/// (<see cref="EnrollAsync"/>) becomes a companion of that device: a record of its own (its own credential, connection
/// and activity sequence) that names the desktop in <see cref="Device.CompanionOf"/>, takes its school, student and
/// policy, and is never listed or counted (<see cref="StaffScope.Devices"/>). The credential enrolls browser extensions
/// (platform <c>chromeos</c>) of that one device only, until it expires or a new one replaces it; only its hash is kept.
/// Removing the browser policy (<see cref="RevokeAsync"/>, asked by the agent) or revoking the desktop revokes them all.
/// </summary>
public sealed class CompanionBrowsers(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    ConnectionRegistry registry,
    PresenceTracker presence,
    AuditTrail audit,
    IOptions<AgentOptions> options,
    TimeProvider time,
    ILogger<CompanionBrowsers> logger)
{
    /// <summary>Whether an enrollment's token is a companion credential rather than a district enrollment token.</summary>
    public static bool IsCompanionCredential(string? token) =>
        token is not null && token.StartsWith(AgentProtocol.CompanionCredentialPrefix, StringComparison.Ordinal);

    /// <summary>
    /// A new companion credential for the authenticated device <paramref name="deviceId"/>, replacing any earlier one
    /// (extensions already enrolled keep their own credentials). Only a desktop agent's device may have one.
    /// </summary>
    public async Task<CompanionCredentialResponse> IssueAsync(Guid deviceId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var device = await db.Devices.FirstAsync(d => d.Id == deviceId, cancellationToken);
        if (device.CompanionOf is not null || device.Platform is not (DevicePlatform.Windows or DevicePlatform.Linux or DevicePlatform.MacOS))
        {
            throw new EnrollmentRefusedException(
                "Only a desktop agent's device (Windows, Linux, macOS) has a companion credential.", StatusCodes.Status403Forbidden);
        }

        var credential = Secrets.Create(AgentProtocol.CompanionCredentialPrefix);
        var expiresAt = time.GetUtcNow().UtcDateTime.AddDays(options.Value.CompanionCredentialDays);
        device.CompanionCredentialHash = Secrets.Hash(credential);
        device.CompanionCredentialExpiresAt = expiresAt;
        using (AuditTrail.ActAs(new AuditActor(null, $"device {device.Name}", null, device.SchoolId)))
        {
            audit.Record(db, "device.companion.credential", "device", deviceId.ToString(), $"valid until {expiresAt:u}", device.SchoolId);
        }

        await db.SaveChangesAsync(cancellationToken);
        CompanionLog.Issued(logger, deviceId, expiresAt);
        return new CompanionCredentialResponse(credential, new DateTimeOffset(expiresAt, TimeSpan.Zero));
    }

    /// <summary>
    /// Withdraws the companion credential of <paramref name="deviceId"/> and revokes every browser extension enrolled
    /// with it (their connections closed with 4403). Returns how many companions were revoked.
    /// </summary>
    public async Task<int> RevokeAsync(Guid deviceId, string why, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var device = await db.Devices.FirstOrDefaultAsync(d => d.Id == deviceId, cancellationToken);
        if (device is null)
        {
            return 0;
        }

        var companions = await db.Devices.Where(d => d.CompanionOf == deviceId && d.RevokedAt == null).ToListAsync(cancellationToken);
        if (device.CompanionCredentialHash is null && companions.Count == 0)
        {
            return 0;
        }

        device.CompanionCredentialHash = null;
        device.CompanionCredentialExpiresAt = null;
        foreach (var companion in companions)
        {
            companion.RevokedAt = now;
            companion.CredentialHash = Secrets.Hash(Secrets.Create("revoked_"));
        }

        audit.Record(db, "device.companion.revoke", "device", deviceId.ToString(), $"{why}: {companions.Count} browser extension(s)", device.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        foreach (var companion in companions)
        {
            registry.Disconnect(companion.Id, AgentCloseCodes.DeviceRevoked, "desktop's browser policy removed or desktop revoked");
            presence.Forget(companion.Id);
        }

        CompanionLog.Revoked(logger, deviceId, companions.Count, why);
        return companions.Count;
    }

    /// <summary>
    /// Enrolls the browser extension that presents a companion credential as a companion of the credential's device. A
    /// credential that is unknown (never issued, replaced, revoked) is refused with 401, an expired one with 403, a
    /// platform other than the extension's with 403; a browser already enrolled as another device, or a companion that
    /// does not prove itself with its own credential, with 409. A refusal changes nothing.
    /// </summary>
    public async Task<EnrollResponse> EnrollAsync(EnrollRequest request, string? remoteAddress, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var hash = Secrets.Hash(request.Token);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var desktop = await db.Devices.AsNoTracking()
            .FirstOrDefaultAsync(d => d.CompanionCredentialHash == hash && d.CompanionOf == null, cancellationToken);
        if (desktop is null || desktop.RevokedAt is not null || desktop.State == DeviceState.Retired)
        {
            AgentsLog.EnrollmentRefused(logger, remoteAddress, "unknown companion credential");
            throw new EnrollmentRefusedException("The companion credential is not valid.", StatusCodes.Status401Unauthorized);
        }

        if (desktop.CompanionCredentialExpiresAt is not { } expires || expires <= now)
        {
            AgentsLog.EnrollmentRefused(logger, remoteAddress, "expired companion credential");
            throw new EnrollmentRefusedException(
                "The companion credential has expired; the desktop agent writes a new one into the browser policy.", StatusCodes.Status403Forbidden);
        }

        if (request.Platform != DevicePlatform.ChromeOS)
        {
            AgentsLog.EnrollmentRefused(logger, remoteAddress, $"companion credential for platform {request.Platform}");
            throw new EnrollmentRefusedException(
                "A companion credential enrolls only the Homeroom browser extension (platform chromeos) of its own computer.", StatusCodes.Status403Forbidden);
        }

        var serial = request.Serial.Trim();
        var existing = await db.Devices.AsNoTracking().FirstOrDefaultAsync(d => d.Platform == request.Platform && d.Serial == serial, cancellationToken);
        if (existing is not null && existing.CompanionOf != desktop.Id)
        {
            throw new EnrollmentRefusedException(
                "This browser is already enrolled as another device; a companion credential never takes over another device.", StatusCodes.Status409Conflict);
        }

        // A companion of this desktop enrolls again with its own credential, or after its revocation (the desktop's
        // policy was removed and given again) with the new companion credential; anyone else knowing its serial may not.
        var proved = existing is not null && request.Credential is { Length: > 0 } presented && Secrets.Matches(presented, existing.CredentialHash);
        if (existing is { RevokedAt: null } && !proved)
        {
            throw new EnrollmentRefusedException(
                "This browser is already enrolled; enroll again with its current credential.", StatusCodes.Status409Conflict);
        }

        var max = options.Value.MaxCompanionsPerDevice;
        if (existing is null && await db.Devices.CountAsync(d => d.CompanionOf == desktop.Id && d.RevokedAt == null, cancellationToken) >= max)
        {
            throw new EnrollmentRefusedException(
                $"The computer has {max} browser extensions enrolled already, the most allowed.", StatusCodes.Status403Forbidden);
        }

        var credential = Secrets.Create("hrd_");
        var id = existing?.Id ?? Guid.CreateVersion7();
        if (existing is null)
        {
            db.Devices.Add(new Device
            {
                Id = id,
                Name = string.IsNullOrWhiteSpace(request.Name) ? $"{desktop.Name} browser" : request.Name.Trim(),
                Platform = request.Platform,
                Serial = serial,
                State = DeviceState.Active,
                CredentialHash = Secrets.Hash(credential),
                EnrolledAt = now,
                SchoolId = desktop.SchoolId,
                AssignedPersonId = desktop.AssignedPersonId,
                CompanionOf = desktop.Id,
                Model = request.Model,
                Manufacturer = request.Manufacturer,
                OsVersion = request.OsVersion,
                AgentVersion = request.AgentVersion,
            });
        }
        else
        {
            var oldHash = existing.CredentialHash;
            var updated = await db.Devices
                .Where(d => d.Id == id && d.CredentialHash == oldHash)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(d => d.CredentialHash, Secrets.Hash(credential))
                    .SetProperty(d => d.RevokedAt, (DateTime?)null)
                    .SetProperty(d => d.EnrolledAt, now)
                    .SetProperty(d => d.SchoolId, desktop.SchoolId)
                    .SetProperty(d => d.AssignedPersonId, desktop.AssignedPersonId)
                    .SetProperty(d => d.OsVersion, d => request.OsVersion ?? d.OsVersion)
                    .SetProperty(d => d.AgentVersion, d => request.AgentVersion ?? d.AgentVersion), cancellationToken);
            if (updated == 0)
            {
                throw new EnrollmentRefusedException("The browser changed while it was enrolling; try again.", StatusCodes.Status409Conflict);
            }
        }

        using (AuditTrail.ActAs(new AuditActor(null, $"device {desktop.Name}", null, desktop.SchoolId)))
        {
            audit.Record(db, existing is null ? "device.companion.enroll" : "device.companion.reenroll", "device", desktop.Id.ToString(),
                $"browser extension {id} ({serial})", desktop.SchoolId);
        }

        await db.SaveChangesAsync(cancellationToken);
        if (existing is not null)
        {
            registry.Disconnect(id, AgentCloseCodes.AuthenticationFailed, "device re-enrolled");
        }

        CompanionLog.Enrolled(logger, id, desktop.Id);
        return new EnrollResponse(id, credential, AgentProtocol.WebSocketPath);
    }
}

internal static partial class CompanionLog
{
    [LoggerMessage(EventId = 1750, Level = LogLevel.Information, Message = "Device {DeviceId} was given a companion credential valid until {ExpiresAt}")]
    public static partial void Issued(ILogger logger, Guid deviceId, DateTime expiresAt);

    [LoggerMessage(EventId = 1751, Level = LogLevel.Information, Message = "Browser extension {CompanionId} enrolled as a companion of device {DeviceId}")]
    public static partial void Enrolled(ILogger logger, Guid companionId, Guid deviceId);

    [LoggerMessage(EventId = 1752, Level = LogLevel.Information, Message = "Companions of device {DeviceId} revoked ({Count}): {Why}")]
    public static partial void Revoked(ILogger logger, Guid deviceId, int count, string why);
}
