using Homeroom.Contracts.Agents;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Diagnostics;

/// <summary>The district's sites every diagnostics report tests, and where they come from.</summary>
/// <param name="Sites">The https URLs, in order.</param>
/// <param name="FromConfiguration">True until a district administrator saves a list: the configuration's <c>Homeroom:Diagnostics:Sites</c>.</param>
public sealed record DiagnosticSitesDto(IReadOnlyList<string> Sites, bool FromConfiguration);

/// <summary>A new list of sites (an empty list: test none); <c>null</c> returns to the configuration's.</summary>
public sealed record DiagnosticSitesRequest(IReadOnlyList<string>? Sites, bool UseConfiguration = false);

/// <summary>
/// The district's sites every diagnostics report tests besides the Homeroom server (<see cref="DiagnosticsLimits.MaxSites"/>
/// https URLs at most): the list a district administrator saved in the console (<c>district_settings</c> row
/// <see cref="SettingName"/>), or the
/// configuration's (<see cref="DiagnosticsOptions.Sites"/>) until one is saved. Anyone who may run diagnostics reads them;
/// only district administrators change them (<see cref="Permission.ManageDiagnostics"/>), audited as <c>diagnostics.sites</c>.
/// </summary>
public sealed class DiagnosticSites(IDbContextFactory<HomeroomDbContext> dbFactory, IOptions<DiagnosticsOptions> options, AuditTrail audit, TimeProvider time)
{
    /// <summary>The setting's name in <c>district_settings</c>.</summary>
    public const string SettingName = "diagnostics.sites";

    public async Task<DiagnosticSitesDto> GetAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.RunDiagnostics);
        return await CurrentAsync(cancellationToken);
    }

    /// <summary>What the next <c>diagnose</c> command carries.</summary>
    public async Task<DiagnosticSitesDto> CurrentAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var saved = await db.Set<DistrictSetting>().AsNoTracking().Where(s => s.Name == SettingName).Select(s => s.Value).FirstOrDefaultAsync(cancellationToken);
        return saved is null
            ? new DiagnosticSitesDto([.. options.Value.Sites], FromConfiguration: true)
            : new DiagnosticSitesDto(saved.Split(' ', StringSplitOptions.RemoveEmptyEntries), FromConfiguration: false);
    }

    public async Task<DiagnosticSitesDto> SetAsync(StaffScope scope, DiagnosticSitesRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageDiagnostics);
        string? text = null;
        if (!request.UseConfiguration)
        {
            if (request.Sites is null)
            {
                throw new RequestValidationException(new() { ["sites"] = ["Give the list of sites (an empty list tests none), or useConfiguration: true."] });
            }

            if (request.Sites.Count > DiagnosticsLimits.MaxSites)
            {
                throw new RequestValidationException(new() { ["sites"] = [$"At most {DiagnosticsLimits.MaxSites} sites."] });
            }

            if (request.Sites.Any(s => string.IsNullOrWhiteSpace(s) || s.Trim().Contains(' ', StringComparison.Ordinal)))
            {
                throw new RequestValidationException(new() { ["sites"] = ["Each site is one https URL without spaces."] });
            }

            var trimmed = request.Sites.Select(s => s.Trim()).ToList();
            if (DiagnosticsLimits.ParseSites(string.Join(' ', trimmed), out _) is { } error)
            {
                throw new RequestValidationException(new() { ["sites"] = [error] });
            }

            text = string.Join(' ', trimmed.Distinct(StringComparer.Ordinal));
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var setting = await db.Set<DistrictSetting>().FirstOrDefaultAsync(s => s.Name == SettingName, cancellationToken);
        if (text is null)
        {
            if (setting is not null)
            {
                db.Remove(setting);
            }
        }
        else if (setting is null)
        {
            db.Add(new DistrictSetting { Name = SettingName, Value = text, UpdatedAt = time.GetUtcNow().UtcDateTime, UpdatedBy = scope.Username });
        }
        else
        {
            (setting.Value, setting.UpdatedAt, setting.UpdatedBy) = (text, time.GetUtcNow().UtcDateTime, scope.Username);
        }

        audit.Record(db, "diagnostics.sites", "district", SettingName, text is null ? "back to the configuration's sites" : text.Length == 0 ? "no sites" : text);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Two administrators saved the first list at the same moment: one insert lost.
            throw new ConflictException("Someone else changed the sites at the same time; read them again and repeat the change.");
        }

        return await CurrentAsync(cancellationToken);
    }
}
