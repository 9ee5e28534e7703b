using System.Text.Json;
using Homeroom.Rules.Policies;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Policies;

/// <param name="Name">Unique across the district.</param>
/// <param name="Description">What it is for.</param>
/// <param name="Settings">The settings (see GET /api/profiles/settings).</param>
/// <param name="SchoolId">The school whose administrators own it; none for a district profile (district administrators only). Staff limited to a school always create their school's profiles.</param>
public sealed record ProfileRequest(string? Name, string? Description, JsonElement? Settings, Guid? SchoolId = null);

public sealed record ProfileDto(Guid Id, string Name, string? Description, JsonElement Settings, int Assignments, DateTime CreatedAt, DateTime UpdatedAt, Guid? SchoolId);

/// <summary>
/// Profiles, named bundles of settings, for the API and the console. Everyone who reads policies
/// reads every profile; a school's administrators change their school's profiles, district
/// administrators every profile. Every change is validated whole, audited and redistributed.
/// </summary>
public sealed class ProfileDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor distributor, TimeProvider time)
{
    /// <summary>Largest profile settings document, in UTF-8 bytes; the effective policy a device receives is at most 256 KB.</summary>
    public const int MaxSettingsBytes = 64 * 1024;
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2000;

    /// <summary>The request field of the settings; a setting's problems are reported under "settings.&lt;key&gt;".</summary>
    public const string SettingsField = "settings";

    public async Task<List<ProfileDto>> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var profiles = await db.Profiles.AsNoTracking().OrderBy(p => p.Name).ToListAsync(cancellationToken);
        var counts = await db.PolicyAssignments.GroupBy(a => a.ProfileId).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Key, g => g.Count, cancellationToken);
        return profiles.Select(p => ToDto(p, counts.GetValueOrDefault(p.Id))).ToList();
    }

    public async Task<ProfileDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var profile = await db.Profiles.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        return profile is null ? null : ToDto(profile, await db.PolicyAssignments.CountAsync(a => a.ProfileId == id, cancellationToken));
    }

    public async Task<ProfileDto> CreateAsync(StaffScope scope, ProfileRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var settingsJson = await ValidateAsync(request, db, cancellationToken);
        var school = request.SchoolId ?? (scope.IsDistrictWide ? null : scope.SchoolId);
        scope.EnsureIncludesSchool(school, "schoolId");
        await EnsureNameFreeAsync(db, request.Name!.Trim(), null, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var profile = new Profile
        {
            Id = Guid.CreateVersion7(), Name = request.Name!.Trim(), Description = request.Description?.Trim(), SettingsJson = settingsJson, SchoolId = school,
            CreatedAt = now, UpdatedAt = now,
        };
        db.Profiles.Add(profile);
        audit.Record(db, "profile.create", "profile", profile.Id.ToString(), $"{profile.Name}: {settingsJson}", school);
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        return ToDto(profile, 0);
    }

    /// <summary>Changes a profile the scope may change; null when there is none.</summary>
    public async Task<ProfileDto?> UpdateAsync(StaffScope scope, Guid id, ProfileRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var settingsJson = await ValidateAsync(request, db, cancellationToken);
        if (!await scope.ManageableProfiles(db).AnyAsync(p => p.Id == id, cancellationToken))
        {
            return null;
        }

        var profile = await db.Profiles.FirstAsync(p => p.Id == id, cancellationToken);
        var school = request.SchoolId ?? profile.SchoolId;
        if (school != profile.SchoolId)
        {
            scope.EnsureIncludesSchool(profile.SchoolId, "schoolId");
            scope.EnsureIncludesSchool(school, "schoolId");
            if (school is { } newSchool && await db.PolicyAssignments.AnyAsync(a => a.ProfileId == id, cancellationToken))
            {
                throw new ConflictException($"The profile is assigned; remove its assignments before giving it to school {newSchool}.");
            }
        }

        await EnsureNameFreeAsync(db, request.Name!.Trim(), id, cancellationToken);

        // The new settings must not make two assignments of equal rank disagree.
        var model = await PolicyModel.LoadAsync(db, cancellationToken);
        var profiles = model.Profiles.ToDictionary();
        profiles[id] = PolicyModel.ToProfile(new Profile { Id = id, Name = request.Name!.Trim(), SettingsJson = settingsJson });
        if (PolicyConflicts.Find(model.Assignments, profiles) is { Count: > 0 } conflicts)
        {
            throw new ConflictException(string.Join(" ", conflicts));
        }

        profile.Name = request.Name!.Trim();
        profile.Description = request.Description?.Trim();
        profile.SettingsJson = settingsJson;
        profile.SchoolId = school;
        profile.UpdatedAt = time.GetUtcNow().UtcDateTime;
        audit.Record(db, "profile.update", "profile", id.ToString(), $"{profile.Name}: {settingsJson}", school);
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        return ToDto(profile, model.Assignments.Count(a => a.ProfileId == id));
    }

    /// <summary>Deletes a profile the scope may change, with its assignments; false when there is none.</summary>
    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.ManageableProfiles(db).AnyAsync(p => p.Id == id, cancellationToken))
        {
            return false;
        }

        // Its assignments go with it (ON DELETE CASCADE); devices fall back to what else applies.
        var profile = await db.Profiles.FirstAsync(p => p.Id == id, cancellationToken);
        db.Profiles.Remove(profile);
        audit.Record(db, "profile.delete", "profile", id.ToString(), profile.Name, profile.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        return true;
    }

    private static async Task EnsureNameFreeAsync(HomeroomDbContext db, string name, Guid? self, CancellationToken cancellationToken)
    {
        if (await db.Profiles.AnyAsync(p => p.Name == name && p.Id != self, cancellationToken))
        {
            throw new ConflictException("Another profile has this name.");
        }
    }

    private static async Task<string> ValidateAsync(ProfileRequest request, HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", request.Name, MaxNameLength).Optional("description", request.Description, MaxDescriptionLength);
        if (request.SchoolId is { } schoolId && !await db.Schools.AnyAsync(s => s.Id == schoolId, cancellationToken))
        {
            validation.Add("schoolId", "No such school.");
        }

        if (request.Settings is not { } settings)
        {
            validation.Add("settings", "This field is required (an object; {} for none).");
            throw new RequestValidationException(validation.Errors);
        }

        // Each problem under the setting it concerns ("settings.webFilter.blockedSites"), so the console
        // shows it beside that setting's control; the message names the setting too.
        var (parsed, errors) = PolicySettings.ParseBySetting(settings);
        if (errors.Count > 0)
        {
            foreach (var group in errors.GroupBy(e => e.Key is null ? SettingsField : $"{SettingsField}.{e.Key}"))
            {
                validation.Errors[group.Key] = [.. group.Select(e => e.Message)];
            }

            throw new RequestValidationException(validation.Errors);
        }

        if (parsed.TryGetValue("location.allowedZones", out var zones))
        {
            var ids = zones.AsArray().Select(z => Guid.Parse(z!.GetValue<string>())).ToList();
            var known = await db.Zones.Where(z => ids.Contains(z.Id)).Select(z => z.Id).ToListAsync(cancellationToken);
            if (ids.Except(known).ToList() is { Count: > 0 } missing)
            {
                validation.Add($"{SettingsField}.location.allowedZones", $"'location.allowedZones': no such zone {missing[0]}.");
            }
        }

        var json = PolicySettings.ToDocument(parsed).ToJsonString();
        if (System.Text.Encoding.UTF8.GetByteCount(json) > MaxSettingsBytes)
        {
            validation.Add("settings", $"A profile's settings may take at most {MaxSettingsBytes / 1024} KB.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        return json;
    }

    private static ProfileDto ToDto(Profile p, int assignments)
    {
        using var document = JsonDocument.Parse(p.SettingsJson);
        return new ProfileDto(p.Id, p.Name, p.Description, document.RootElement.Clone(), assignments, p.CreatedAt, p.UpdatedAt, p.SchoolId);
    }
}
