using Homeroom.Server.Accounts;
using Homeroom.Server.Apple;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Enrollment;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.AppleSchoolManager;

/// <summary>
/// Apple School Manager as staff see it: which tokens are uploaded and until when (never their
/// content), the last sync and its error, and the device counts.
/// </summary>
public sealed record AsmStatusDto(
    bool ServerTokenUploaded,
    DateTime? ServerTokenExpiresAt,
    bool ContentTokenUploaded,
    DateTime? ContentTokenExpiresAt,
    string? ContentTokenOrg,
    string? Warning,
    DateTime? LastSyncAt,
    string? LastSyncError,
    DateTime? LicencesSyncedAt,
    string? ProfileUuid,
    string? EnrollUrl,
    int Devices,
    int DevicesWithProfile);

/// <summary>A device Apple School Manager assigned to this server.</summary>
public sealed record AdeDeviceDto(
    string Serial, string? Model, string? Description, string? Color, string? DeviceFamily, string? Os,
    string ProfileStatus, bool HasHomeroomProfile, DateTime? ProfileAssignedAt, DateTime? DeviceAssignedAt, string OpType, DateTime? OpDate, string? AssignError);

/// <summary>What a sync started by an administrator did.</summary>
public sealed record AsmSyncDto(AdeSyncResult? Devices, int? LicencesUpdated, string? LicenceError);

/// <summary>
/// The Apple School Manager use cases behind the API and the console page. District administrators
/// only (<see cref="Permission.ManageApple"/>): the tokens are the district's identity towards Apple.
/// Every change is audited; tokens are stored encrypted (<see cref="AsmTokenVault"/>) and never returned.
/// </summary>
public sealed class AppleSchoolManagerService(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AsmTokenVault vault,
    AsmKeyStore keys,
    AsmContentTokenCache contentTokens,
    AdeSync sync,
    AppsAndBooksLicenceSync licences,
    AuditTrail audit,
    IOptions<AppleOptions> apple,
    TimeProvider time)
{
    public const string EnrollmentTokenName = "Apple School Manager (automated enrollment)";

    /// <summary>How long before a token's expiry the console warns.</summary>
    public static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(30);

    /// <summary>The longest device list answered at once.</summary>
    public const int MaxList = 1000;

    public async Task<AsmStatusDto> StatusAsync(StaffScope scope, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageApple);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var s = await db.Set<AsmSettings>().Where(s => s.Id == AsmSettings.SingletonId).AsNoTracking().FirstOrDefaultAsync(cancellationToken) ?? new AsmSettings();
        var devices = await db.Set<AdeDevice>().CountAsync(d => d.OpType != "deleted", cancellationToken);
        var withProfile = s.ProfileUuid is null ? 0 : await db.Set<AdeDevice>().CountAsync(d => d.OpType != "deleted" && d.ProfileUuid == s.ProfileUuid, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        string? warning = null;
        if (s.ServerTokenExpiresAt is { } serverExpiry && serverExpiry - now < ExpiryWarning)
        {
            warning = serverExpiry <= now
                ? $"The server token expired on {serverExpiry:yyyy-MM-dd}: devices are no longer synced. Download a new one from Apple School Manager."
                : $"The server token expires on {serverExpiry:yyyy-MM-dd}. Download a new one from Apple School Manager before then.";
        }
        else if (s.ContentTokenExpiresAt is { } contentExpiry && contentExpiry - now < ExpiryWarning)
        {
            warning = $"The content token expires (or expired) on {contentExpiry:yyyy-MM-dd}. Download a new one from Apple School Manager.";
        }

        var enrollUrl = apple.Value.PublicUrl is { Length: > 0 } url ? url.TrimEnd('/') + AdeSync.EnrollPath : null;
        return new AsmStatusDto(s.ServerToken is not null, s.ServerTokenExpiresAt, s.ContentToken is not null, s.ContentTokenExpiresAt, s.ContentTokenOrg, warning,
            s.LastSyncAt, s.LastSyncError, s.LicencesSyncedAt, s.ProfileUuid, enrollUrl, devices, withProfile);
    }

    /// <summary>This server's public key (PEM) for the MDM server in Apple School Manager.</summary>
    public string PublicKey(StaffScope scope)
    {
        scope.EnsureCan(Permission.ManageApple);
        return keys.PublicPem(time.GetUtcNow());
    }

    /// <summary>
    /// Stores a server token (the .p7m, or its decrypted message) after checking it, and makes (or
    /// extends to the token's expiry) the district enrollment token ADE devices enroll with.
    /// </summary>
    public async Task<AsmStatusDto> UploadServerTokenAsync(StaffScope scope, byte[] upload, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageApple);
        var now = time.GetUtcNow();
        var token = ServerToken.Parse(upload, keys.Existing(now), now.UtcDateTime);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var settings = await SettingsAsync(db, cancellationToken);
        var replaced = settings.ServerToken is not null;
        settings.ServerToken = vault.Protect(token);
        settings.ServerTokenExpiresAt = token.ExpiresAt;
        settings.ServerTokenUploadedAt = now.UtcDateTime;
        settings.LastSyncError = null;
        var enrollment = settings.EnrollmentTokenId is { } id ? await db.EnrollmentTokens.FirstOrDefaultAsync(t => t.Id == id, cancellationToken) : null;
        if (enrollment is null || enrollment.RevokedAt is not null || settings.EnrollmentSecret is null)
        {
            var secret = Secrets.Create("hre_");
            enrollment = new EnrollmentToken
            {
                Id = Guid.CreateVersion7(),
                Name = EnrollmentTokenName,
                SecretHash = Secrets.Hash(secret),
                SecretHint = secret[^4..],
                ExpiresAt = token.ExpiresAt,
                CreatedAt = now.UtcDateTime,
                CreatedBy = scope.Username,
            };
            db.EnrollmentTokens.Add(enrollment);
            settings.EnrollmentTokenId = enrollment.Id;
            settings.EnrollmentSecret = vault.Protect(secret);
            audit.Record(db, "enrollment-token.create", "enrollment-token", enrollment.Id.ToString(), enrollment.Name);
        }
        else
        {
            enrollment.ExpiresAt = token.ExpiresAt;
        }

        audit.Record(db, "apple-school-manager.server-token", "apple-school-manager", null, $"{(replaced ? "replaced" : "uploaded")}, expires {token.ExpiresAt:yyyy-MM-dd}");
        await db.SaveChangesAsync(cancellationToken);
        return await StatusAsync(scope, cancellationToken);
    }

    /// <summary>Stores an Apps and Books content token after checking it; licences are assigned by Apple from then on.</summary>
    public async Task<AsmStatusDto> UploadContentTokenAsync(StaffScope scope, byte[] upload, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageApple);
        var now = time.GetUtcNow().UtcDateTime;
        var token = ContentToken.Parse(upload, now);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var settings = await SettingsAsync(db, cancellationToken);
        var replaced = settings.ContentToken is not null;
        settings.ContentToken = vault.Protect(token);
        settings.ContentTokenExpiresAt = token.ExpiresAt;
        settings.ContentTokenOrg = token.OrgName;
        settings.ContentTokenUploadedAt = now;
        audit.Record(db, "apple-school-manager.content-token", "apple-school-manager", null, $"{(replaced ? "replaced" : "uploaded")} for {token.OrgName}, expires {token.ExpiresAt:yyyy-MM-dd}");
        await db.SaveChangesAsync(cancellationToken);
        contentTokens.Set(token);
        return await StatusAsync(scope, cancellationToken);
    }

    /// <summary>Syncs devices and licence counts now (what the schedule does), audited.</summary>
    public async Task<AsmSyncDto> SyncNowAsync(StaffScope scope, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageApple);
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            var settings = await db.Set<AsmSettings>().Where(s => s.Id == AsmSettings.SingletonId).AsNoTracking().FirstOrDefaultAsync(cancellationToken);
            if (settings?.ServerToken is null && settings?.ContentToken is null)
            {
                throw new AppleSchoolManagerException("Upload a server token or a content token first.", StatusCodes.Status409Conflict);
            }

            audit.Record(db, "apple-school-manager.sync", "apple-school-manager");
            await db.SaveChangesAsync(cancellationToken);
        }

        var devices = await sync.RunAsync(cancellationToken);
        var (updated, error) = await licences.RunAsync(cancellationToken);
        return new AsmSyncDto(devices, updated, error);
    }

    public async Task<List<AdeDeviceDto>> DevicesAsync(StaffScope scope, string? search, CancellationToken cancellationToken)
    {
        scope.EnsureCan(Permission.ManageApple);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var profile = await db.Set<AsmSettings>().Where(s => s.Id == AsmSettings.SingletonId).Select(s => s.ProfileUuid).FirstOrDefaultAsync(cancellationToken);
        var query = db.Set<AdeDevice>().AsNoTracking();
        if (!string.IsNullOrWhiteSpace(search))
        {
            var text = search.Trim().ToUpperInvariant();
            query = query.Where(d => d.Serial.Contains(text) || (d.Description != null && d.Description.ToUpper().Contains(text)));
        }

        var rows = await query.OrderBy(d => d.Serial).Take(MaxList).ToListAsync(cancellationToken);
        return rows.Select(d => new AdeDeviceDto(d.Serial, d.Model, d.Description, d.Color, d.DeviceFamily, d.Os, d.ProfileStatus,
            profile is not null && d.ProfileUuid == profile, d.ProfileAssignedAt, d.DeviceAssignedAt, d.OpType, d.OpDate, d.AssignError)).ToList();
    }

    private static async Task<AsmSettings> SettingsAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var settings = await db.Set<AsmSettings>().Where(s => s.Id == AsmSettings.SingletonId).FirstOrDefaultAsync(cancellationToken);
        if (settings is null)
        {
            settings = new AsmSettings();
            db.Set<AsmSettings>().Add(settings);
        }

        return settings;
    }
}
