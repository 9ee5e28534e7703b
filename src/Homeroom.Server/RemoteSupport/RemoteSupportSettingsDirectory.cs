using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.RemoteSupport;

/// <summary>How the student learns of a session: asked to allow it (<c>consent</c>) or only told (<c>notice</c>).</summary>
public static class RemoteConsentModes
{
    public const string Consent = "consent";
    public const string Notice = "notice";

    public static bool IsKnown(string? mode) => mode is Consent or Notice;

    public static string Of(bool consentRequired) => consentRequired ? Consent : Notice;
}

/// <summary>Remote support rules as they apply to a school's devices (its own settings, or the district's defaults).</summary>
/// <param name="SessionsAllowed">Whether remote sessions may start.</param>
/// <param name="TechnicianConsent"><c>consent</c> or <c>notice</c> for sessions IT technicians start.</param>
/// <param name="DistrictAdminConsent"><c>consent</c> or <c>notice</c> for sessions district administrators start.</param>
/// <param name="ClipboardAllowed">Whether clipboard text may be sent to the device in a control session.</param>
/// <param name="FileTransferAllowed">Whether files may be sent to the device in a control session.</param>
public sealed record RemoteSupportPolicyDto(bool SessionsAllowed, string TechnicianConsent, string DistrictAdminConsent, bool ClipboardAllowed, bool FileTransferAllowed)
{
    /// <summary>Whether the student must consent to a session started by <paramref name="role"/>.</summary>
    public bool ConsentRequiredFor(StaffRole role) => (role == StaffRole.DistrictAdmin ? DistrictAdminConsent : TechnicianConsent) == RemoteConsentModes.Consent;
}

/// <summary>A school's remote support settings.</summary>
/// <param name="SchoolId">The school.</param>
/// <param name="SchoolName">Its name.</param>
/// <param name="Settings">What applies to its devices now.</param>
/// <param name="UsesDistrictDefaults">True while the school has no settings of its own (<paramref name="Settings"/> are the district's defaults).</param>
/// <param name="DistrictDefaults">The district's defaults (the server's configuration); a school administrator may not set the school looser than these.</param>
/// <param name="UpdatedAt">When the school's settings were last changed.</param>
/// <param name="UpdatedBy">By whom.</param>
public sealed record RemoteSupportSettingsDto(
    Guid SchoolId, string SchoolName, RemoteSupportPolicyDto Settings, bool UsesDistrictDefaults, RemoteSupportPolicyDto DistrictDefaults,
    DateTime? UpdatedAt, string? UpdatedBy);

/// <summary>A school's new remote support settings: the first four are required; <c>fileTransferAllowed</c> omitted keeps what applies now.</summary>
/// <param name="SessionsAllowed">Whether remote sessions may start on the school's devices.</param>
/// <param name="TechnicianConsent"><c>consent</c> (the student must allow it) or <c>notice</c> (the student is told) for IT technicians.</param>
/// <param name="DistrictAdminConsent">The same for district administrators.</param>
/// <param name="ClipboardAllowed">Whether clipboard text may be sent to the device in a control session.</param>
/// <param name="FileTransferAllowed">Whether files may be sent to the device in a control session (null: unchanged, for clients from before this setting).</param>
public sealed record RemoteSupportSettingsRequest(bool? SessionsAllowed, string? TechnicianConsent, string? DistrictAdminConsent, bool? ClipboardAllowed, bool? FileTransferAllowed = null);

/// <summary>A school the staff member may set remote support for.</summary>
public sealed record RemoteSupportSchoolDto(Guid Id, string Name);

/// <summary>
/// Reads and changes schools' remote support settings, and answers what applies to a device's school when a session
/// starts. District administrators set any school; a school administrator sets their own school, but only as strict as
/// the district's defaults or stricter: turning sessions on, choosing a notice instead of consent or allowing the
/// clipboard or file transfer where the district's default is the stricter choice is for a district administrator (a value a district
/// administrator already set may be kept). IT technicians, whom the settings bind, cannot change them. Audited.
/// </summary>
public sealed class RemoteSupportSettingsDirectory(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, TimeProvider time, IOptions<RemoteSupportOptions> options)
{
    /// <summary>The largest request body the settings endpoint reads.</summary>
    public const int MaxRequestBytes = 1024;

    /// <summary>The district's defaults, from the server's configuration.</summary>
    public RemoteSupportPolicyDto DistrictDefaults
    {
        get
        {
            var o = options.Value;
            return new(o.SessionsAllowed, RemoteConsentModes.Of(o.ConsentRequiredForTechnicians), RemoteConsentModes.Of(o.ConsentRequiredForDistrictAdmins), o.ClipboardAllowed, o.FileTransferAllowed);
        }
    }

    /// <summary>The schools of the scope, by name (the settings section's choice).</summary>
    public async Task<List<RemoteSupportSchoolDto>> SchoolsAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRemoteSupport);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.Schools(db).OrderBy(s => s.Name).Select(s => new RemoteSupportSchoolDto(s.Id, s.Name)).ToListAsync(cancellationToken);
    }

    /// <summary>A school's settings (the district's defaults while it has none); null when the school is not in the scope.</summary>
    public async Task<RemoteSupportSettingsDto?> GetAsync(StaffScope scope, Guid schoolId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRemoteSupport);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var school = await scope.Schools(db).Where(s => s.Id == schoolId).Select(s => s.Name).FirstOrDefaultAsync(cancellationToken);
        if (school is null)
        {
            return null;
        }

        var settings = await db.Set<RemoteSupportSettings>().AsNoTracking().FirstOrDefaultAsync(s => s.SchoolId == schoolId, cancellationToken);
        return ToDto(schoolId, school, settings);
    }

    /// <summary>
    /// Replaces a school's settings after checking the request whole (400, nothing saved) and that the caller may make each
    /// change (403, nothing saved). Audited. Null when the school is not in the scope.
    /// </summary>
    public async Task<RemoteSupportSettingsDto?> UpdateAsync(StaffScope scope, Guid schoolId, RemoteSupportSettingsRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageRemoteSupport);
        var requested = Validate(request);

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var school = await scope.Schools(db).Where(s => s.Id == schoolId).Select(s => s.Name).FirstOrDefaultAsync(cancellationToken);
        if (school is null)
        {
            return null;
        }

        var settings = await db.Set<RemoteSupportSettings>().FirstOrDefaultAsync(s => s.SchoolId == schoolId, cancellationToken);
        var current = settings is null ? DistrictDefaults : ToPolicy(settings);
        var wanted = requested with { FileTransferAllowed = request.FileTransferAllowed ?? current.FileTransferAllowed };
        if (scope.Role != StaffRole.DistrictAdmin)
        {
            EnsureNotLooser(wanted, current, DistrictDefaults);
        }

        if (settings is null)
        {
            settings = new RemoteSupportSettings { SchoolId = schoolId, UpdatedBy = scope.Username };
            db.Add(settings);
        }

        settings.SessionsAllowed = wanted.SessionsAllowed;
        settings.ConsentRequiredForTechnicians = wanted.TechnicianConsent == RemoteConsentModes.Consent;
        settings.ConsentRequiredForDistrictAdmins = wanted.DistrictAdminConsent == RemoteConsentModes.Consent;
        settings.ClipboardAllowed = wanted.ClipboardAllowed;
        settings.FileTransferAllowed = wanted.FileTransferAllowed;
        settings.UpdatedAt = time.GetUtcNow().UtcDateTime;
        settings.UpdatedBy = scope.Username;
        audit.Record(db, "remote.settings", "school", schoolId.ToString(), $"{Describe(current)} → {Describe(wanted)}", schoolId);
        await db.SaveChangesAsync(cancellationToken);
        return ToDto(schoolId, school, settings);
    }

    /// <summary>What applies to devices of <paramref name="schoolId"/> (the district's defaults for a school without settings, and for no school).</summary>
    internal async Task<RemoteSupportPolicyDto> PolicyAsync(HomeroomDbContext db, Guid? schoolId, CancellationToken cancellationToken)
    {
        var settings = schoolId is { } id
            ? await db.Set<RemoteSupportSettings>().AsNoTracking().FirstOrDefaultAsync(s => s.SchoolId == id, cancellationToken)
            : null;
        return settings is null ? DistrictDefaults : ToPolicy(settings);
    }

    private static RemoteSupportPolicyDto Validate(RemoteSupportSettingsRequest request)
    {
        var validation = new Validation()
            .Check(request.SessionsAllowed is not null, "sessionsAllowed", "Required: true or false.")
            .Check(RemoteConsentModes.IsKnown(request.TechnicianConsent), "technicianConsent", "Required: consent or notice.")
            .Check(RemoteConsentModes.IsKnown(request.DistrictAdminConsent), "districtAdminConsent", "Required: consent or notice.")
            .Check(request.ClipboardAllowed is not null, "clipboardAllowed", "Required: true or false.");
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        return new RemoteSupportPolicyDto(request.SessionsAllowed!.Value, request.TechnicianConsent!, request.DistrictAdminConsent!, request.ClipboardAllowed!.Value, request.FileTransferAllowed ?? false);
    }

    // A school administrator may tighten anything and keep what is already set, but not loosen a setting past the district's default.
    private static void EnsureNotLooser(RemoteSupportPolicyDto wanted, RemoteSupportPolicyDto current, RemoteSupportPolicyDto defaults)
    {
        var refused = new List<string>();
        if (wanted.SessionsAllowed && !current.SessionsAllowed && !defaults.SessionsAllowed)
        {
            refused.Add("turning remote sessions on");
        }

        if (wanted.TechnicianConsent == RemoteConsentModes.Notice && current.TechnicianConsent != RemoteConsentModes.Notice && defaults.TechnicianConsent == RemoteConsentModes.Consent)
        {
            refused.Add("a notice instead of consent for IT technicians");
        }

        if (wanted.DistrictAdminConsent == RemoteConsentModes.Notice && current.DistrictAdminConsent != RemoteConsentModes.Notice && defaults.DistrictAdminConsent == RemoteConsentModes.Consent)
        {
            refused.Add("a notice instead of consent for district administrators");
        }

        if (wanted.ClipboardAllowed && !current.ClipboardAllowed && !defaults.ClipboardAllowed)
        {
            refused.Add("allowing the clipboard");
        }

        if (wanted.FileTransferAllowed && !current.FileTransferAllowed && !defaults.FileTransferAllowed)
        {
            refused.Add("allowing file transfer");
        }

        if (refused.Count > 0)
        {
            throw new ForbiddenException("Looser than the district allows",
                $"Only a district administrator may set a school looser than the district's defaults: {string.Join("; ", refused)}. Nothing was saved.");
        }
    }

    private static RemoteSupportPolicyDto ToPolicy(RemoteSupportSettings s) => new(
        s.SessionsAllowed, RemoteConsentModes.Of(s.ConsentRequiredForTechnicians), RemoteConsentModes.Of(s.ConsentRequiredForDistrictAdmins), s.ClipboardAllowed, s.FileTransferAllowed);

    private RemoteSupportSettingsDto ToDto(Guid schoolId, string school, RemoteSupportSettings? s) =>
        new(schoolId, school, s is null ? DistrictDefaults : ToPolicy(s), s is null, DistrictDefaults, s?.UpdatedAt, s?.UpdatedBy);

    private static string Describe(RemoteSupportPolicyDto p) =>
        $"sessions {(p.SessionsAllowed ? "on" : "off")}, IT technicians {p.TechnicianConsent}, district administrators {p.DistrictAdminConsent}, clipboard {(p.ClipboardAllowed ? "on" : "off")}, file transfer {(p.FileTransferAllowed ? "on" : "off")}";
}
