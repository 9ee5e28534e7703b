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

namespace Homeroom.Server.Enrollment;

/// <summary>Why an enrollment was refused; answered as 401 or 403 ProblemDetails.</summary>
public sealed class EnrollmentRefusedException(string message, int statusCode) : DomainException(message)
{
    public override int StatusCode { get; } = statusCode;
    public override string Title => "Enrollment refused";
}

/// <summary>
/// Enrolls a device with a token and its hardware facts. The same platform and serial always map
/// to the same device record: re-enrolling issues a new credential (ending any live connection
/// that used the old one) and does not spend another use of the token.
/// </summary>
public sealed class EnrollDevice(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    ConnectionRegistry registry,
    AuditTrail audit,
    TimeProvider time,
    ILogger<EnrollDevice> logger)
{
    public const int MaxSerialLength = 128;

    public static Validation Validate(EnrollRequest request) => new Validation()
        .Required("token", request.Token, 256)
        .Required("serial", request.Serial, MaxSerialLength)
        .Optional("model", request.Model, ProtocolLimits.MaxShortText)
        .Optional("manufacturer", request.Manufacturer, ProtocolLimits.MaxShortText)
        .Optional("osVersion", request.OsVersion, ProtocolLimits.MaxShortText)
        .Optional("name", request.Name, 200)
        .Optional("agentVersion", request.AgentVersion, ProtocolLimits.MaxShortText)
        .Check(Enum.IsDefined(request.Platform), "platform", "Unknown platform.");

    public async Task<EnrollResponse> ExecuteAsync(EnrollRequest request, string? remoteAddress, CancellationToken cancellationToken)
    {
        var validation = Validate(request);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var tokenHash = Secrets.Hash(request.Token);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var token = await db.EnrollmentTokens.FirstOrDefaultAsync(t => t.SecretHash == tokenHash, cancellationToken);
        if (token is null)
        {
            AgentsLog.EnrollmentRefused(logger, remoteAddress, "unknown token");
            throw new EnrollmentRefusedException("The enrollment token is not valid.", StatusCodes.Status401Unauthorized);
        }

        var serial = request.Serial.Trim();
        var device = await db.Devices.FirstOrDefaultAsync(d => d.Platform == request.Platform && d.Serial == serial, cancellationToken);
        var isReenrollment = device is not null && device.EnrollmentTokenId == token.Id;
        var verdict = EnrollmentTokenRules.Check(new TokenState(token.ExpiresAt, token.MaxUses, token.UseCount, token.RevokedAt), now, isReenrollment);
        if (verdict != TokenVerdict.Usable)
        {
            var reason = verdict switch
            {
                TokenVerdict.Revoked => "The enrollment token was revoked.",
                TokenVerdict.Expired => "The enrollment token has expired.",
                _ => "The enrollment token has reached its use limit.",
            };
            AgentsLog.EnrollmentRefused(logger, remoteAddress, verdict.ToString());
            throw new EnrollmentRefusedException(reason, StatusCodes.Status403Forbidden);
        }

        var credential = Secrets.Create("hrd_");
        var schoolId = token.SchoolId ?? (token.GroupId is { } gid ? await db.Groups.Where(g => g.Id == gid).Select(g => g.SchoolId).FirstOrDefaultAsync(cancellationToken) : null);
        var strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            if (!isReenrollment)
            {
                // Spend one use atomically: two devices racing for the last use cannot both win.
                var spent = await db.EnrollmentTokens
                    .Where(t => t.Id == token.Id && (t.MaxUses == null || t.UseCount < t.MaxUses))
                    .ExecuteUpdateAsync(s => s.SetProperty(t => t.UseCount, t => t.UseCount + 1), cancellationToken);
                if (spent == 0)
                {
                    throw new EnrollmentRefusedException("The enrollment token has reached its use limit.", StatusCodes.Status403Forbidden);
                }
            }

            if (device is null)
            {
                device = new Device
                {
                    Id = Guid.CreateVersion7(),
                    Name = string.IsNullOrWhiteSpace(request.Name) ? $"{request.Platform.ToString().ToLowerInvariant()}-{serial}" : request.Name.Trim(),
                    Platform = request.Platform,
                    Serial = serial,
                    State = DeviceState.Active,
                    CredentialHash = Secrets.Hash(credential),
                };
                db.Devices.Add(device);
            }

            device.CredentialHash = Secrets.Hash(credential);
            device.RevokedAt = null;
            device.EnrolledAt = now;
            device.EnrollmentTokenId = token.Id;
            device.SchoolId = schoolId ?? device.SchoolId;
            device.Model = request.Model ?? device.Model;
            device.Manufacturer = request.Manufacturer ?? device.Manufacturer;
            device.OsVersion = request.OsVersion ?? device.OsVersion;
            device.AgentVersion = request.AgentVersion ?? device.AgentVersion;
            await db.SaveChangesAsync(cancellationToken);

            if (token.GroupId is { } groupId && !await db.GroupDevices.AnyAsync(m => m.GroupId == groupId && m.DeviceId == device.Id, cancellationToken))
            {
                db.GroupDevices.Add(new GroupDevice { GroupId = groupId, DeviceId = device.Id });
            }

            audit.Record(db, isReenrollment ? "device.reenroll" : "device.enroll", "device", device.Id.ToString(), $"{request.Platform} {serial} with token {token.Name}");
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });

        // The old credential no longer works; end any connection that still uses it.
        registry.Disconnect(device!.Id, AgentCloseCodes.AuthenticationFailed, "device re-enrolled");
        AgentsLog.Enrolled(logger, device.Id, request.Platform.ToString(), serial, isReenrollment);
        return new EnrollResponse(device.Id, credential, AgentProtocol.WebSocketPath);
    }
}
