using System.Text.Json;
using Homeroom.Rules.Safety;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Safety;

/// <summary>A safety alert in the queue.</summary>
public sealed record SafetyAlertDto(
    Guid Id, Guid DeviceId, string DeviceName, Guid? StudentId, string? StudentName, Guid? SchoolId, string? SchoolName,
    string Category, string Phrase, string Severity, double Score, string Status, int Count,
    DateTime FirstSeenAt, DateTime LastSeenAt, Guid? AssignedToId, string? AssignedToName, DateTime? EscalatedAt, DateTime? ClosedAt);

/// <summary>One evidence item: the matched text in context, the verdict's explanation (offsets in <paramref name="Excerpt"/>), and its screenshot's id when one arrived.</summary>
public sealed record SafetyEvidenceDto(
    Guid Id, DateTime OccurredAt, string Source, string? Url, string Excerpt, string Severity, double Score, JsonElement Explanation, Guid? ScreenshotId);

/// <summary>One step of a case's history.</summary>
public sealed record SafetyCaseEventDto(DateTime At, string Actor, string Kind, string? Status, string? Text);

/// <summary>A case: the alert, its evidence (oldest first) and its history.</summary>
public sealed record SafetyCaseDto(SafetyAlertDto Alert, IReadOnlyList<SafetyEvidenceDto> Evidence, IReadOnlyList<SafetyCaseEventDto> History);

/// <summary>Which alerts of the queue: by status, category, lowest severity, school.</summary>
public sealed record SafetyAlertFilter(string? Status = null, string? Category = null, string? Severity = null, Guid? SchoolId = null);

/// <summary>A status change; with <paramref name="Demote"/> (false positives only) the matched phrase near that context phrase loses weight for the district.</summary>
public sealed record SafetyStatusRequest(string? Status, string? Note, string? Demote = null, double? DemoteFactor = null);

/// <summary>Assign a case to a staff member who reads safety for its school (null to unassign).</summary>
public sealed record SafetyAssignRequest(Guid? AccountId);

/// <summary>A note on a case.</summary>
public sealed record SafetyNoteRequest(string? Text);

/// <summary>Alerts per school, category and week (weeks start on Monday, UTC).</summary>
public sealed record SafetyTrendDto(Guid? SchoolId, string? SchoolName, string Category, DateOnly WeekStart, int Alerts);

/// <summary>
/// The safety lead's case workflow, for the API and the console alike: the queue, a case with its
/// evidence and history, assignment, status (with false-positive feedback into the district's
/// lexicon), notes, trends and deletion on request. Only staff with <see cref="Permission.ReadSafety"/>
/// reach it, each only the alerts of their school (district-wide staff all); every read of an alert
/// or its evidence is audited.
/// </summary>
public sealed class SafetyCases(IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, SafetyLexicons lexicons, Notifier notifier, TimeProvider time)
{
    public const int MaxNoteLength = 2000;
    public const int MaxContextLength = 200;
    public const double DefaultDemoteFactor = 0.25;
    public const int MaxTrendWeeks = 104;

    public async Task<PagedResult<SafetyAlertDto>> ListAsync(StaffScope scope, SafetyAlertFilter filter, PageQuery paging, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadSafety);
        var errors = new Dictionary<string, string[]>();
        if (filter.Status is not null && !SafetyStatuses.All.Contains(filter.Status) && filter.Status != "open")
        {
            errors["status"] = [$"One of open, {string.Join(", ", SafetyStatuses.All)}."];
        }

        if (filter.Category is not null && !SafetyLexicons.TryCategory(filter.Category, out _))
        {
            errors["category"] = [$"One of {string.Join(", ", Enum.GetValues<SafetyCategory>().Select(SafetyLexicons.Name))}."];
        }

        var minimum = SafetySeverity.None;
        if (filter.Severity is not null && !SafetyLexicons.TrySeverity(filter.Severity, out minimum))
        {
            errors["severity"] = ["One of low, medium, high, imminent."];
        }

        if (errors.Count > 0)
        {
            throw new RequestValidationException(errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var query = scope.SafetyAlerts(db);
        query = filter.Status switch
        {
            null => query,
            "open" => query.Where(a => a.Status != SafetyStatuses.Resolved && a.Status != SafetyStatuses.FalsePositive),
            var status => query.Where(a => a.Status == status),
        };
        if (filter.Category is { } category)
        {
            query = query.Where(a => a.Category == category);
        }

        if (minimum > SafetySeverity.None)
        {
            var rank = (int)minimum;
            query = query.Where(a => a.SeverityRank >= rank);
        }

        if (filter.SchoolId is { } school)
        {
            query = query.Where(a => a.SchoolId == school);
        }

        var total = await query.CountAsync(cancellationToken);
        var items = await Project(query.OrderByDescending(a => a.SeverityRank).ThenByDescending(a => a.LastSeenAt).ThenBy(a => a.Id).Skip(paging.Skip).Take(paging.Take), db)
            .ToListAsync(cancellationToken);
        audit.Record(db, "safety.queue.read", "safetyAlert", null,
            $"{items.Count} of {total} alerts ({filter.Status ?? "any"} status, {filter.Category ?? "any"} category, {filter.Severity ?? "any"} severity)", filter.SchoolId ?? scope.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return new PagedResult<SafetyAlertDto>(items, total);
    }

    /// <summary>One case with its evidence and history (audited); null when not in the scope.</summary>
    public async Task<SafetyCaseDto?> GetAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadSafety);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var alert = await Project(scope.SafetyAlerts(db).Where(a => a.Id == id), db).FirstOrDefaultAsync(cancellationToken);
        if (alert is null)
        {
            return null;
        }

        var evidence = await db.SafetyEvidence().AsNoTracking().Where(e => e.AlertId == id).OrderBy(e => e.OccurredAt).ThenBy(e => e.Id)
            .Select(e => new
            {
                e.Id, e.OccurredAt, e.Source, e.Url, e.Excerpt, e.Severity, e.Score, e.ExplanationJson,
                Screenshot = db.SafetyScreenshots().Where(s => s.EvidenceId == e.Id).Select(s => (Guid?)s.Id).FirstOrDefault(),
            })
            .ToListAsync(cancellationToken);
        var history = await History(db, id).ToListAsync(cancellationToken);
        audit.Record(db, "safety.alert.read", "safetyAlert", id.ToString(), $"{alert.Category}, {alert.Severity}, {evidence.Count} evidence items, student {alert.StudentId}", alert.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return new SafetyCaseDto(
            alert,
            evidence.Select(e => new SafetyEvidenceDto(e.Id, e.OccurredAt, e.Source, e.Url, e.Excerpt, e.Severity, e.Score,
                JsonSerializer.Deserialize<JsonElement>(e.ExplanationJson), e.Screenshot)).ToList(),
            history);
    }

    /// <summary>A case's history, oldest first (audited); null when not in the scope.</summary>
    public async Task<List<SafetyCaseEventDto>?> HistoryAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadSafety);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var school = await scope.SafetyAlerts(db).Where(a => a.Id == id).Select(a => new { a.SchoolId }).FirstOrDefaultAsync(cancellationToken);
        if (school is null)
        {
            return null;
        }

        var history = await History(db, id).ToListAsync(cancellationToken);
        audit.Record(db, "safety.alert.history.read", "safetyAlert", id.ToString(), $"{history.Count} entries", school.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return history;
    }

    /// <summary>A screenshot of a case's evidence (audited); null when not in the scope or not there.</summary>
    public async Task<(byte[] Content, string ContentType)?> ScreenshotAsync(StaffScope scope, Guid alertId, Guid screenshotId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadSafety);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var alert = await scope.SafetyAlerts(db).Where(a => a.Id == alertId).Select(a => new { a.SchoolId }).FirstOrDefaultAsync(cancellationToken);
        if (alert is null)
        {
            return null;
        }

        var shot = await db.SafetyScreenshots().AsNoTracking().Where(s => s.Id == screenshotId && s.AlertId == alertId)
            .Select(s => new { s.Content, s.Format }).FirstOrDefaultAsync(cancellationToken);
        if (shot is null)
        {
            return null;
        }

        audit.Record(db, "safety.screenshot.read", "safetyAlert", alertId.ToString(), $"screenshot {screenshotId}", alert.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return (shot.Content, shot.Format switch { 2 => "image/webp", 3 => "image/png", _ => "image/jpeg" });
    }

    /// <summary>Assigns the case to a staff member who reads safety for its school (or unassigns it); null when not in the scope.</summary>
    public async Task<SafetyAlertDto?> AssignAsync(StaffScope scope, Guid id, SafetyAssignRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSafety);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.SafetyAlerts(db).AnyAsync(a => a.Id == id, cancellationToken))
        {
            return null;
        }

        var alert = await db.SafetyAlerts().FirstAsync(a => a.Id == id, cancellationToken);
        string? name = null;
        if (request.AccountId is { } accountId)
        {
            var account = await db.StaffAccounts.AsNoTracking().Where(a => a.Id == accountId && a.DisabledAt == null)
                .Select(a => new { a.Id, a.DisplayName, a.Username, a.Role, a.SchoolId }).FirstOrDefaultAsync(cancellationToken);
            var reaches = account is not null && Permissions.Has(account.Role, Permission.ReadSafety)
                && new StaffScope(account.Id, account.Username, account.DisplayName, account.Role, account.Role == StaffRole.DistrictAdmin ? null : account.SchoolId, null).IncludesSchool(alert.SchoolId);
            if (!reaches)
            {
                throw new RequestValidationException(new() { ["accountId"] = ["Not an active account that reads safety alerts of this school."] });
            }

            name = account!.DisplayName;
        }

        var now = time.GetUtcNow().UtcDateTime;
        alert.AssignedToId = request.AccountId;
        alert.AssignedToName = name;
        alert.UpdatedAt = now;
        alert.AcknowledgedAt ??= now;
        AddEvent(db, id, now, scope, "assigned", null, name is null ? "Unassigned." : $"Assigned to {name}.");
        audit.Record(db, "safety.alert.assign", "safetyAlert", id.ToString(), name is null ? "unassigned" : $"assigned to {name}", alert.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return await Project(db.SafetyAlerts().AsNoTracking().Where(a => a.Id == id), db).FirstAsync(cancellationToken);
    }

    /// <summary>
    /// Changes the case's status with an optional note. Marking it a false positive with a context phrase
    /// (<see cref="SafetyStatusRequest.Demote"/>) adds a demotion to the district's lexicon (district-wide
    /// staff only): the matched phrase near that context loses weight, listed and removable. Null when not in the scope.
    /// </summary>
    public async Task<SafetyAlertDto?> SetStatusAsync(StaffScope scope, Guid id, SafetyStatusRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSafety);
        var validation = new Validation();
        validation.Required("status", request.Status, 32).Optional("note", request.Note, MaxNoteLength).Optional("demote", request.Demote, MaxContextLength);
        if (request.Status is not null && !SafetyStatuses.All.Contains(request.Status))
        {
            validation.Add("status", $"One of {string.Join(", ", SafetyStatuses.All)}.");
        }

        if (request.Demote is not null && request.Status != SafetyStatuses.FalsePositive)
        {
            validation.Add("demote", "Only a false positive adds a demotion.");
        }

        if (request.Demote is not null && string.IsNullOrWhiteSpace(request.Demote))
        {
            validation.Add("demote", "A context phrase, or leave it out.");
        }

        if (request.DemoteFactor is { } factor && (!double.IsFinite(factor) || factor is <= 0 or >= 1))
        {
            validation.Add("demoteFactor", "More than 0 and less than 1.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await scope.SafetyAlerts(db).AnyAsync(a => a.Id == id, cancellationToken))
        {
            return null;
        }

        if (request.Demote is not null && !scope.IsDistrictWide)
        {
            throw new ForbiddenException("District-wide only", "The lexicon is the district's: only district-wide staff may add a demotion.");
        }

        var alert = await db.SafetyAlerts().FirstAsync(a => a.Id == id, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var status = request.Status!;
        var note = string.IsNullOrWhiteSpace(request.Note) ? null : request.Note.Trim();
        var previous = alert.Status;
        alert.Status = status;
        alert.UpdatedAt = now;
        alert.AcknowledgedAt ??= now;
        alert.ClosedAt = SafetyStatuses.IsClosed(status) ? alert.ClosedAt ?? now : null;
        if (status == SafetyStatuses.Escalated)
        {
            alert.EscalatedAt ??= now;
        }

        AddEvent(db, id, now, scope, "status", status, note is null ? $"{previous} → {status}." : $"{previous} → {status}. {note}");
        var details = $"{previous} → {status}" + (note is null ? string.Empty : $": {note}");
        if (request.Demote is { } context)
        {
            var demotion = new SafetyLexiconAdjustment
            {
                Id = Guid.CreateVersion7(),
                Kind = AdjustmentKinds.Demotion,
                Phrase = alert.Phrase,
                Context = context.Trim(),
                Factor = request.DemoteFactor ?? DefaultDemoteFactor,
                AlertId = id,
                CreatedAt = now,
                CreatedBy = scope.Username,
            };
            if (!SafetyLexicons.IsAccepted(demotion))
            {
                throw new RequestValidationException(new() { ["demote"] = ["The lexicon cannot use this context phrase (it needs letters or digits, at most 200 characters)."] });
            }

            db.SafetyLexiconAdjustments().Add(demotion);
            AddEvent(db, id, now, scope, "demotion", null, $"\"{demotion.Phrase}\" near \"{demotion.Context}\" now weighs ×{demotion.Factor} for the district.");
            details += $"; demoted \"{demotion.Phrase}\" near \"{demotion.Context}\" ×{demotion.Factor}";
        }

        audit.Record(db, "safety.alert.status", "safetyAlert", id.ToString(), details, alert.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        if (request.Demote is not null)
        {
            lexicons.Invalidate();
        }

        var device = await db.Devices.AsNoTracking().Where(d => d.Id == alert.DeviceId).Select(d => d.Name).FirstAsync(cancellationToken);
        if (status != SafetyStatuses.New)
        {
            // Someone is on it: gone from every open console page.
            notifier.Resolve(SafetyNotifications.Of(alert, device));
        }

        return await Project(db.SafetyAlerts().AsNoTracking().Where(a => a.Id == id), db).FirstAsync(cancellationToken);
    }

    /// <summary>Adds a note to the case's history; null when not in the scope.</summary>
    public async Task<SafetyCaseEventDto?> AddNoteAsync(StaffScope scope, Guid id, SafetyNoteRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSafety);
        var validation = new Validation().Required("text", request.Text, MaxNoteLength);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var alert = await scope.SafetyAlerts(db).Where(a => a.Id == id).Select(a => new { a.SchoolId }).FirstOrDefaultAsync(cancellationToken);
        if (alert is null)
        {
            return null;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var entry = AddEvent(db, id, now, scope, "note", null, request.Text!.Trim());
        audit.Record(db, "safety.alert.note", "safetyAlert", id.ToString(), entry.Text, alert.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return new SafetyCaseEventDto(entry.At, entry.Actor, entry.Kind, entry.Status, entry.Text);
    }

    /// <summary>Alerts per school, category and week over the last weeks (audited).</summary>
    public async Task<List<SafetyTrendDto>> TrendsAsync(StaffScope scope, int weeks, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadSafety);
        if (weeks is < 1 or > MaxTrendWeeks)
        {
            throw new RequestValidationException(new() { ["weeks"] = [$"Between 1 and {MaxTrendWeeks}."] });
        }

        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
        var from = monday.AddDays(-7 * (weeks - 1)).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var rows = await scope.SafetyAlerts(db).Where(a => a.FirstSeenAt >= from)
            .Select(a => new { a.SchoolId, a.Category, a.FirstSeenAt }).ToListAsync(cancellationToken);
        var schools = await db.Schools.AsNoTracking().Select(s => new { s.Id, s.Name }).ToDictionaryAsync(s => s.Id, s => s.Name, cancellationToken);
        var trends = rows
            .GroupBy(r => (r.SchoolId, r.Category, Week: WeekOf(DateOnly.FromDateTime(r.FirstSeenAt))))
            .Select(g => new SafetyTrendDto(g.Key.SchoolId, g.Key.SchoolId is { } s ? schools.GetValueOrDefault(s) : null, g.Key.Category, g.Key.Week, g.Count()))
            .OrderBy(t => t.WeekStart).ThenBy(t => t.SchoolName).ThenBy(t => t.Category)
            .ToList();
        audit.Record(db, "safety.trends.read", "safetyAlert", null, $"{weeks} weeks, {rows.Count} alerts", scope.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        return trends;
    }

    /// <summary>Deletes every safety alert (with its evidence, screenshots and history) of a student of the scope, on request (audited); null when the student is not in the scope.</summary>
    public async Task<int?> DeleteStudentDataAsync(StaffScope scope, Guid personId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSafety);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var person = await scope.People(db).Where(p => p.Id == personId).Select(p => new { p.SchoolId }).FirstOrDefaultAsync(cancellationToken);
        if (person is null)
        {
            return null;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var ids = db.SafetyAlerts().Where(a => a.PersonId == personId).Select(a => a.Id);
        await db.SafetyScreenshots().Where(s => ids.Contains(s.AlertId)).ExecuteDeleteAsync(cancellationToken);
        await db.SafetyEvidence().Where(e => ids.Contains(e.AlertId)).ExecuteDeleteAsync(cancellationToken);
        await db.SafetyCaseEvents().Where(e => ids.Contains(e.AlertId)).ExecuteDeleteAsync(cancellationToken);
        await db.SafetyLexiconAdjustments().Where(a => a.AlertId != null && ids.Contains(a.AlertId.Value))
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.AlertId, (Guid?)null), cancellationToken);
        var deleted = await db.SafetyAlerts().Where(a => a.PersonId == personId).ExecuteDeleteAsync(cancellationToken);
        audit.Record(db, "safety.student.delete", "person", personId.ToString(), $"{deleted} safety alerts deleted on request", person.SchoolId);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    private static DateOnly WeekOf(DateOnly day) => day.AddDays(-(((int)day.DayOfWeek + 6) % 7));

    private static SafetyCaseEvent AddEvent(HomeroomDbContext db, Guid alertId, DateTime at, StaffScope scope, string kind, string? status, string? text)
    {
        var entry = new SafetyCaseEvent { Id = Guid.CreateVersion7(), AlertId = alertId, At = at, Actor = scope.Username, Kind = kind, Status = status, Text = text };
        db.SafetyCaseEvents().Add(entry);
        return entry;
    }

    private static IQueryable<SafetyCaseEventDto> History(HomeroomDbContext db, Guid id) =>
        db.SafetyCaseEvents().AsNoTracking().Where(e => e.AlertId == id).OrderBy(e => e.At).ThenBy(e => e.Id)
            .Select(e => new SafetyCaseEventDto(e.At, e.Actor, e.Kind, e.Status, e.Text));

    private static IQueryable<SafetyAlertDto> Project(IQueryable<SafetyAlert> alerts, HomeroomDbContext db) =>
        alerts.Select(a => new SafetyAlertDto(
            a.Id, a.DeviceId,
            db.Devices.Where(d => d.Id == a.DeviceId).Select(d => d.Name).FirstOrDefault() ?? string.Empty,
            a.PersonId,
            db.People.Where(p => p.Id == a.PersonId).Select(p => p.GivenName + " " + p.FamilyName).FirstOrDefault(),
            a.SchoolId,
            db.Schools.Where(s => s.Id == a.SchoolId).Select(s => s.Name).FirstOrDefault(),
            a.Category, a.Phrase, a.Severity, a.Score, a.Status, a.Count, a.FirstSeenAt, a.LastSeenAt,
            a.AssignedToId, a.AssignedToName, a.EscalatedAt, a.ClosedAt));
}

/// <summary>The safety alerts a scope reaches: none without <see cref="Permission.ReadSafety"/>, its school's, or all when district-wide.</summary>
public static class SafetyScope
{
    public static IQueryable<SafetyAlert> SafetyAlerts(this StaffScope scope, HomeroomDbContext db)
    {
        var alerts = db.SafetyAlerts().AsNoTracking();
        if (!scope.Can(Permission.ReadSafety) || scope.Role == StaffRole.Teacher)
        {
            return alerts.Where(a => false);
        }

        if (scope.IsDistrictWide)
        {
            return alerts;
        }

        var school = scope.SchoolId;
        return alerts.Where(a => a.SchoolId == school);
    }
}
