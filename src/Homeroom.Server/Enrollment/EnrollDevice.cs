using System.Collections.Concurrent;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Agents;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Enrollment;

/// <summary>Why an enrollment was refused; answered as 401, 403 or 409 ProblemDetails.</summary>
public sealed class EnrollmentRefusedException(string message, int statusCode) : DomainException(message)
{
    public override int StatusCode { get; } = statusCode;
    public override string Title => "Enrollment refused";
}

/// <summary>
/// Enrolls a device with a token and its hardware facts. The same platform and serial always map
/// to the same device record. A serial number is no secret, so an existing device is enrolled again
/// (new credential, the old one's connection closed) only when the request proves it is that device
/// (its current credential) or an administrator approved it (<see cref="ApproveReenrollment"/>), and
/// never into another school (<see cref="ReenrollmentRules"/>). A refusal changes nothing.
/// </summary>
public sealed class EnrollDevice(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    ConnectionRegistry registry,
    AuditTrail audit,
    CompanionBrowsers companions,
    TimeProvider time,
    IOptions<AgentOptions> agentOptions,
    ServerMetrics metrics,
    ILogger<EnrollDevice> logger)
{
    public const int MaxSerialLength = 128;
    public const int MaxCredentialLength = 256;

    /// <summary>What a busy node tells an enrolling agent to wait; agents add their own jitter.</summary>
    public static readonly TimeSpan BusyRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>Refused takeovers of one device are audited at most this often; the rest are only logged.</summary>
    private static readonly TimeSpan RefusalAuditInterval = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<Guid, DateTime> _lastRefusalAudit = new();

    // Enrollments in progress on this node (AgentOptions.ConcurrentEnrollments); the rest wait their turn.
    private readonly SemaphoreSlim _turns = new(agentOptions.Value.ConcurrentEnrollments);

    public static Validation Validate(EnrollRequest request) => new Validation()
        .Required("token", request.Token, 256)
        .Required("serial", request.Serial, MaxSerialLength)
        .Optional("model", request.Model, ProtocolLimits.MaxShortText)
        .Optional("manufacturer", request.Manufacturer, ProtocolLimits.MaxShortText)
        .Optional("osVersion", request.OsVersion, ProtocolLimits.MaxShortText)
        .Optional("name", request.Name, 200)
        .Optional("agentVersion", request.AgentVersion, ProtocolLimits.MaxShortText)
        .Optional("credential", request.Credential, MaxCredentialLength)
        .Check(Enum.IsDefined(request.Platform), "platform", "Unknown platform.")
        .Check(!HasNul(request.Serial), "serial", NulMessage)
        .Check(!HasNul(request.Model), "model", NulMessage)
        .Check(!HasNul(request.Manufacturer), "manufacturer", NulMessage)
        .Check(!HasNul(request.OsVersion), "osVersion", NulMessage)
        .Check(!HasNul(request.Name), "name", NulMessage)
        .Check(!HasNul(request.AgentVersion), "agentVersion", NulMessage);

    // Databases refuse the NUL character in text (PostgreSQL) or cut text at it; it has no place in these facts.
    private const string NulMessage = "Must not contain the NUL character.";

    private static bool HasNul(string? value) => value is not null && value.Contains('\0', StringComparison.Ordinal);

    public async Task<EnrollResponse> ExecuteAsync(EnrollRequest request, string? remoteAddress, CancellationToken cancellationToken)
    {
        var validation = Validate(request);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        if (!await _turns.WaitAsync(TimeSpan.FromSeconds(agentOptions.Value.EnrollmentWaitSeconds), cancellationToken))
        {
            metrics.EnrollmentDeferred();
            throw new ServiceBusyException("Too many devices are enrolling at this moment; try again shortly.", BusyRetryAfter);
        }

        try
        {
            return await EnrollAsync(request, remoteAddress, cancellationToken);
        }
        finally
        {
            _turns.Release();
        }
    }

    private async Task<EnrollResponse> EnrollAsync(EnrollRequest request, string? remoteAddress, CancellationToken cancellationToken)
    {
        if (CompanionBrowsers.IsCompanionCredential(request.Token))
        {
            // A desktop's browser extension: it becomes a companion of that desktop, never a device of its own.
            return await companions.EnrollAsync(request, remoteAddress, cancellationToken);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var tokenHash = Secrets.Hash(request.Token);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.EnrollmentTokens.AsNoTracking().FirstOrDefaultAsync(t => t.SecretHash == tokenHash, cancellationToken);
        if (token is null)
        {
            AgentsLog.EnrollmentRefused(logger, remoteAddress, "unknown token");
            throw new EnrollmentRefusedException("The enrollment token is not valid.", StatusCodes.Status401Unauthorized);
        }

        // A revoked or expired token is refused before anything about the device is looked at.
        var tokenState = new TokenState(token.ExpiresAt, token.MaxUses, token.UseCount, token.RevokedAt);
        RefuseUnusableToken(EnrollmentTokenRules.Check(tokenState, now, isReenrollment: true), remoteAddress);

        var serial = request.Serial.Trim();
        var device = await db.Devices.AsNoTracking().FirstOrDefaultAsync(d => d.Platform == request.Platform && d.Serial == serial, cancellationToken);
        var tokenSchoolId = token.SchoolId ?? (token.GroupId is { } gid ? await db.Groups.Where(g => g.Id == gid).Select(g => g.SchoolId).FirstOrDefaultAsync(cancellationToken) : null);
        var proved = device is not null && request.Credential is { Length: > 0 } presented && Secrets.Matches(presented, device.CredentialHash);
        var verdict = ReenrollmentRules.Check(
            device is null ? null : new ExistingDevice(device.SchoolId, device.RevokedAt is not null, device.ReenrollmentApprovedUntil),
            tokenSchoolId,
            proved,
            now);
        if (verdict is ReenrollmentVerdict.NeedsProof or ReenrollmentVerdict.Revoked or ReenrollmentVerdict.OtherSchool)
        {
            await RefuseTakeoverAsync(db, device!, verdict, token, request, remoteAddress, now, cancellationToken);
        }

        var isReenrollment = verdict is ReenrollmentVerdict.SameDevice or ReenrollmentVerdict.Approved;
        RefuseUnusableToken(EnrollmentTokenRules.Check(tokenState, now, isReenrollment), remoteAddress);

        var credential = Secrets.Create("hrd_");
        var credentialHash = Secrets.Hash(credential);
        var deviceId = device?.Id ?? Guid.CreateVersion7();
        var strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            if (device is null)
            {
                // Spend one use atomically: two devices racing for the last use cannot both win.
                var spent = await db.EnrollmentTokens
                    .Where(t => t.Id == token.Id && (t.MaxUses == null || t.UseCount < t.MaxUses))
                    .ExecuteUpdateAsync(s => s.SetProperty(t => t.UseCount, t => t.UseCount + 1), cancellationToken);
                if (spent == 0)
                {
                    throw new EnrollmentRefusedException("The enrollment token has reached its use limit.", StatusCodes.Status403Forbidden);
                }

                db.Devices.Add(new Device
                {
                    Id = deviceId,
                    Name = string.IsNullOrWhiteSpace(request.Name) ? $"{request.Platform.ToString().ToLowerInvariant()}-{serial}" : request.Name.Trim(),
                    Platform = request.Platform,
                    Serial = serial,
                    State = DeviceState.Active,
                    CredentialHash = credentialHash,
                    EnrolledAt = now,
                    EnrollmentTokenId = token.Id,
                    SchoolId = tokenSchoolId,
                    Model = request.Model,
                    Manufacturer = request.Manufacturer,
                    OsVersion = request.OsVersion,
                    AgentVersion = request.AgentVersion,
                });
            }
            else
            {
                // Only if nothing changed since the decision: the credential that was proved is still
                // the device's, and an approval is spent by one enrollment only. The school stays.
                var oldHash = device.CredentialHash;
                var oldApproval = device.ReenrollmentApprovedUntil;
                var updated = await db.Devices
                    .Where(d => d.Id == deviceId && d.CredentialHash == oldHash && d.ReenrollmentApprovedUntil == oldApproval)
                    .ExecuteUpdateAsync(s => s
                        .SetProperty(d => d.CredentialHash, credentialHash)
                        .SetProperty(d => d.RevokedAt, (DateTime?)null)
                        .SetProperty(d => d.ReenrollmentApprovedUntil, (DateTime?)null)
                        .SetProperty(d => d.EnrolledAt, now)
                        .SetProperty(d => d.EnrollmentTokenId, token.Id)
                        .SetProperty(d => d.Model, d => request.Model ?? d.Model)
                        .SetProperty(d => d.Manufacturer, d => request.Manufacturer ?? d.Manufacturer)
                        .SetProperty(d => d.OsVersion, d => request.OsVersion ?? d.OsVersion)
                        .SetProperty(d => d.AgentVersion, d => request.AgentVersion ?? d.AgentVersion), cancellationToken);
                if (updated == 0)
                {
                    throw new EnrollmentRefusedException("The device changed while it was enrolling; try again.", StatusCodes.Status409Conflict);
                }
            }

            if (token.GroupId is { } groupId && !await db.GroupDevices.AnyAsync(m => m.GroupId == groupId && m.DeviceId == deviceId, cancellationToken))
            {
                db.GroupDevices.Add(new GroupDevice { GroupId = groupId, DeviceId = deviceId });
            }

            var how = verdict switch
            {
                ReenrollmentVerdict.SameDevice => " (proved by its credential)",
                ReenrollmentVerdict.Approved when device?.RevokedAt is not null => " (approved by an administrator; revocation lifted)",
                ReenrollmentVerdict.Approved => " (approved by an administrator)",
                _ => string.Empty,
            };
            audit.Record(db, isReenrollment ? "device.reenroll" : "device.enroll", "device", deviceId.ToString(), $"{request.Platform} {serial} with token {token.Name}{how}");
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });

        if (isReenrollment)
        {
            // The old credential no longer works; end any connection that still uses it.
            registry.Disconnect(deviceId, AgentCloseCodes.AuthenticationFailed, "device re-enrolled");
        }

        AgentsLog.Enrolled(logger, deviceId, request.Platform.ToString(), serial, isReenrollment);
        return new EnrollResponse(deviceId, credential, AgentProtocol.WebSocketPath);
    }

    private void RefuseUnusableToken(TokenVerdict verdict, string? remoteAddress)
    {
        if (verdict == TokenVerdict.Usable)
        {
            return;
        }

        var reason = verdict switch
        {
            TokenVerdict.Revoked => "The enrollment token was revoked.",
            TokenVerdict.Expired => "The enrollment token has expired.",
            _ => "The enrollment token has reached its use limit.",
        };
        AgentsLog.EnrollmentRefused(logger, remoteAddress, verdict.ToString());
        throw new EnrollmentRefusedException(reason, StatusCodes.Status403Forbidden);
    }

    /// <summary>Refuses an enrollment that would take over an existing device; audits it (at most hourly per device) and changes nothing else.</summary>
    private async Task RefuseTakeoverAsync(
        HomeroomDbContext db, Device device, ReenrollmentVerdict verdict, EnrollmentToken token, EnrollRequest request, string? remoteAddress, DateTime now, CancellationToken cancellationToken)
    {
        var (status, message, reason) = verdict switch
        {
            ReenrollmentVerdict.OtherSchool => (StatusCodes.Status403Forbidden,
                "This device belongs to another school than the enrollment token; enrolling again never moves a device between schools.",
                "token of another school"),
            ReenrollmentVerdict.Revoked => (StatusCodes.Status409Conflict,
                "This device was revoked by an administrator; it can enroll again only after an administrator approves its re-enrollment.",
                "device revoked"),
            _ when request.Credential is not null => (StatusCodes.Status409Conflict,
                "The credential is not this device's current credential; an administrator must approve its re-enrollment.",
                "wrong credential"),
            _ => (StatusCodes.Status409Conflict,
                "This device is already enrolled. Enroll again with its current credential, or ask an administrator to approve its re-enrollment.",
                "no credential"),
        };
        AgentsLog.TakeoverRefused(logger, device.Id, remoteAddress, reason);
        if (ShouldAuditRefusal(device.Id, now))
        {
            audit.Record(db, "device.enroll.refused", "device", device.Id.ToString(),
                $"{request.Platform} {device.Serial} with token {token.Name}: {reason}; the device was left unchanged");
            await db.SaveChangesAsync(cancellationToken);
        }

        throw new EnrollmentRefusedException(message, status);
    }

    /// <summary>Someone hammering one device's serial must not flood the audit log: one entry per device per interval.</summary>
    private bool ShouldAuditRefusal(Guid deviceId, DateTime now)
    {
        var audit = false;
        _lastRefusalAudit.AddOrUpdate(
            deviceId,
            _ =>
            {
                audit = true;
                return now;
            },
            (_, last) =>
            {
                audit = now - last >= RefusalAuditInterval;
                return audit ? now : last;
            });
        return audit;
    }
}
