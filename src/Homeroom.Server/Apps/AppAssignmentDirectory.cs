using System.Globalization;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apps;
using Homeroom.Rules.Policies;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Policies;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Apps;

/// <summary>An app assigned to a target, as written.</summary>
/// <param name="Intent">available, required, disabled or blocked.</param>
/// <param name="Level">district, school, grade, group or device.</param>
/// <param name="ScopeId">The school, group or device id, or the grade (-1 pre-K, 0 K, 1–13); none for the district.</param>
public sealed record AppAssignmentRequest(AppIntent? Intent, ScopeLevel? Level, string? ScopeId);

/// <summary>An app assignment; <c>ScopeName</c> is the target's name when it is within your scope.</summary>
public sealed record AppAssignmentDto(Guid Id, Guid AppId, string AppName, AppIntent Intent, ScopeLevel Level, string? ScopeId, string? ScopeName, DateTime CreatedAt);

/// <summary>One app on one device: its effective intent, the assignment that decided it and what the device's platform makes of it.</summary>
/// <param name="AppId">The catalog entry.</param>
/// <param name="Name">Its name.</param>
/// <param name="Category">Its category.</param>
/// <param name="Intent">The effective intent: available, required, disabled or blocked.</param>
/// <param name="AssignmentId">The assignment that decided it.</param>
/// <param name="Level">That assignment's level.</param>
/// <param name="ScopeId">That assignment's target.</param>
/// <param name="Overridden">Less specific (or less strict) assignments of the same app that also reach the device.</param>
/// <param name="Applicable">Whether the app exists on the device's platform.</param>
/// <param name="Note">What Homeroom does there, or why it does not.</param>
public sealed record EffectiveAppDto(
    Guid AppId, string Name, string Category, AppIntent Intent, Guid AssignmentId, ScopeLevel Level, string? ScopeId,
    IReadOnlyList<AppAssignmentSourceDto> Overridden, bool Applicable, string Note);

public sealed record AppAssignmentSourceDto(Guid AssignmentId, AppIntent Intent, ScopeLevel Level, string? ScopeId);

/// <summary>
/// Assignments of catalog apps, placed like profile assignments and with the same rule of who may
/// (<see cref="StaffScope.MayAssignAsync"/>: district and grade targets for district administrators, a
/// school, its groups and its devices for that school's administrators; teachers none). One assignment
/// per app and target (a second answers 409; change its intent instead). Every change audited with the
/// target's school. A device's effective apps are resolved by <see cref="AppAssignmentIndex"/> (Rules).
/// </summary>
public sealed class AppAssignmentDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, PolicyDistributor distributor, TimeProvider time, AppInstallReconciler installs)
{
    /// <summary>The assignments of one app (every one: who reads policies reads all assignments); null when the app does not exist.</summary>
    public async Task<List<AppAssignmentDto>?> ListAsync(StaffScope scope, Guid appId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var app = await db.Set<CatalogApp>().AsNoTracking().Where(a => a.Id == appId).Select(a => a.Name).FirstOrDefaultAsync(cancellationToken);
        if (app is null)
        {
            return null;
        }

        var rows = await db.Set<AppAssignmentRecord>().AsNoTracking().Where(a => a.AppId == appId)
            .OrderBy(a => a.Level).ThenBy(a => a.ScopeKey).ToListAsync(cancellationToken);
        var names = await TargetNamesAsync(scope, db, rows.Select(r => r.ScopeKey), cancellationToken);
        return rows.Select(r => ToDto(r, app, names)).ToList();
    }

    /// <summary>Assigns an app; null when the app does not exist.</summary>
    public async Task<AppAssignmentDto?> CreateAsync(StaffScope scope, Guid appId, AppAssignmentRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var app = await db.Set<CatalogApp>().AsNoTracking().Where(a => a.Id == appId).Select(a => a.Name).FirstOrDefaultAsync(cancellationToken);
        if (app is null)
        {
            return null;
        }

        var record = new AppAssignmentRecord { Id = Guid.CreateVersion7(), AppId = appId, CreatedAt = time.GetUtcNow().UtcDateTime };
        var school = await PrepareAsync(scope, db, record, request, cancellationToken);
        await EnsureFreeAsync(db, record, cancellationToken);
        db.Add(record);
        audit.Record(db, "app.assign", "appAssignment", record.Id.ToString(), $"{app}: {Intent(record.Intent)} at {record.Level} {record.ScopeKey}", school);
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        installs.Nudge();
        return ToDto(record, app, await TargetNamesAsync(scope, db, [record.ScopeKey], cancellationToken));
    }

    /// <summary>Changes an assignment the scope may change (checked against its old and new target); null when there is none.</summary>
    public async Task<AppAssignmentDto?> UpdateAsync(StaffScope scope, Guid id, AppAssignmentRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var record = await db.Set<AppAssignmentRecord>().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (record is null || !await scope.MayAssignAsync(db, record.Level, record.ScopeKey, cancellationToken))
        {
            return null;
        }

        var app = await db.Set<CatalogApp>().Where(a => a.Id == record.AppId).Select(a => a.Name).FirstAsync(cancellationToken);
        var school = await PrepareAsync(scope, db, record, request, cancellationToken);
        await EnsureFreeAsync(db, record, cancellationToken);
        audit.Record(db, "app.assignment.update", "appAssignment", record.Id.ToString(), $"{app}: {Intent(record.Intent)} at {record.Level} {record.ScopeKey}", school);
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        installs.Nudge();
        return ToDto(record, app, await TargetNamesAsync(scope, db, [record.ScopeKey], cancellationToken));
    }

    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManagePolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var record = await db.Set<AppAssignmentRecord>().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (record is null || !await scope.MayAssignAsync(db, record.Level, record.ScopeKey, cancellationToken))
        {
            return false;
        }

        var app = await db.Set<CatalogApp>().Where(a => a.Id == record.AppId).Select(a => a.Name).FirstAsync(cancellationToken);
        db.Remove(record);
        audit.Record(db, "app.unassign", "appAssignment", id.ToString(), $"{app}: {Intent(record.Intent)} at {record.Level} {record.ScopeKey}",
            await AssignmentDirectory.SchoolOfAsync(db, record.Level, record.ScopeKey, cancellationToken));
        await db.SaveChangesAsync(cancellationToken);
        distributor.RequestAll();
        installs.Nudge();
        return true;
    }

    /// <summary>
    /// A device's effective apps (the scope must reach the device; null otherwise), each with the
    /// assignment that decided it, the ones it overrode, and what the device's platform makes of it.
    /// </summary>
    public async Task<List<EffectiveAppDto>?> EffectiveAsync(StaffScope scope, Guid deviceId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadPolicies);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var platform = await scope.Devices(db).Where(d => d.Id == deviceId).Select(d => (DevicePlatform?)d.Platform).FirstOrDefaultAsync(cancellationToken);
        if (platform is null)
        {
            return null;
        }

        var device = (await DeviceScopes.LoadAsync(db, [deviceId], _ => [], cancellationToken)).Select(s => s.Scope).FirstOrDefault();
        if (device is null)
        {
            return []; // A revoked device gets nothing.
        }

        var index = new AppAssignmentIndex(await LoadAsync(db, cancellationToken));
        var effective = index.Resolve(device);
        var ids = effective.Keys.ToList();
        var apps = await db.Set<CatalogApp>().AsNoTracking().Where(a => ids.Contains(a.Id)).ToDictionaryAsync(a => a.Id, cancellationToken);
        return effective.Values
            .Where(e => apps.ContainsKey(e.AppId))
            .Select(e =>
            {
                var app = apps[e.AppId];
                var note = AppPlatforms.For(platform.Value, app.Identities, e.Intent);
                return new EffectiveAppDto(app.Id, app.Name, app.Category, e.Intent, e.Source.AssignmentId, e.Source.Level, e.Source.ScopeKey,
                    [.. e.Overridden.Select(o => new AppAssignmentSourceDto(o.AssignmentId, o.Intent, o.Level, o.ScopeKey))], note.Applicable, note.Note);
            })
            .OrderBy(e => e.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
    }

    /// <summary>Every app assignment of the district, as the resolver takes them.</summary>
    public static async Task<List<AppAssignment>> LoadAsync(HomeroomDbContext db, CancellationToken cancellationToken) =>
        (await db.Set<AppAssignmentRecord>().AsNoTracking().ToListAsync(cancellationToken))
            .Select(r => new AppAssignment(r.Id, r.AppId, r.Intent, r.Level, r.ScopeKey)).ToList();

    // Validates the request and the scope's right to its target, and fills the record; returns the target's school.
    private static async Task<Guid?> PrepareAsync(StaffScope scope, HomeroomDbContext db, AppAssignmentRecord record, AppAssignmentRequest request, CancellationToken cancellationToken)
    {
        var validation = new Validation()
            .Check(request.Intent is { } intent && Enum.IsDefined(intent), "intent", "One of available, required, disabled, blocked.");
        var scopeKey = await AssignmentDirectory.ScopeKeyAsync(db, request.Level, request.ScopeId, validation, cancellationToken);

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        if (!await scope.MayAssignAsync(db, request.Level!.Value, scopeKey, cancellationToken))
        {
            throw new ForbiddenException("Outside your school", "Only district administrators assign apps to the district or a grade; others assign to their school, its groups and devices.");
        }

        record.Intent = request.Intent!.Value;
        record.Level = request.Level.Value;
        record.ScopeKey = scopeKey;
        return await AssignmentDirectory.SchoolOfAsync(db, record.Level, scopeKey, cancellationToken);
    }

    // One assignment per app and target: a clear 409 (the unique index settles a race the same way).
    private static async Task EnsureFreeAsync(HomeroomDbContext db, AppAssignmentRecord record, CancellationToken cancellationToken)
    {
        if (await db.Set<AppAssignmentRecord>().AnyAsync(a => a.Id != record.Id && a.AppId == record.AppId && a.Level == record.Level && a.ScopeKey == record.ScopeKey, cancellationToken))
        {
            throw new ConflictException("This app is already assigned to that target; change that assignment's intent instead.");
        }
    }

    private static async Task<Dictionary<string, string>> TargetNamesAsync(StaffScope scope, HomeroomDbContext db, IEnumerable<string?> keys, CancellationToken cancellationToken)
    {
        var ids = keys.Select(k => Guid.TryParse(k, out var id) ? id : Guid.Empty).Where(id => id != Guid.Empty).Distinct().ToList();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ids.Count == 0)
        {
            return names;
        }

        foreach (var s in await scope.Schools(db).Where(s => ids.Contains(s.Id)).Select(s => new { s.Id, s.Name }).ToListAsync(cancellationToken))
        {
            names[s.Id.ToString()] = s.Name;
        }

        if (scope.Can(Permission.ReadRoster))
        {
            foreach (var g in await scope.Groups(db).Where(g => ids.Contains(g.Id)).Select(g => new { g.Id, g.Name }).ToListAsync(cancellationToken))
            {
                names[g.Id.ToString()] = g.Name;
            }
        }

        if (scope.Can(Permission.ReadDevices))
        {
            foreach (var d in await scope.Devices(db).Where(d => ids.Contains(d.Id)).Select(d => new { d.Id, d.Name }).ToListAsync(cancellationToken))
            {
                names[d.Id.ToString()] = d.Name;
            }
        }

        return names;
    }

    private static AppAssignmentDto ToDto(AppAssignmentRecord r, string appName, Dictionary<string, string> names) => new(
        r.Id, r.AppId, appName, r.Intent, r.Level, r.ScopeKey,
        r.Level switch
        {
            ScopeLevel.District => "District",
            ScopeLevel.Grade => int.TryParse(r.ScopeKey, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var g) ? AssignmentDirectory.GradeName(g) : null,
            _ => r.ScopeKey is { } key ? names.GetValueOrDefault(key) : null,
        },
        r.CreatedAt);

    internal static string Intent(AppIntent intent) => intent.ToString().ToLowerInvariant();
}
