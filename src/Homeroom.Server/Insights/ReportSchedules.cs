using System.Text.Json;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>
/// A report to e-mail weekly: <c>report</c> (fleet, classroom, blockedSites, blockedCategories, topSites,
/// topApps or appAdoption), its <c>filters</c> (schoolId, grade, classId, platform, as the report takes
/// them; the classroom, blocked and usage reports cover the seven days before each sending), <c>dayOfWeek</c>
/// (monday to sunday) and <c>hour</c> (0 to 23) in the district's time zone, and the <c>recipients</c>.
/// </summary>
public sealed record ReportScheduleRequest(
    string? Name, string? Report, ReportRequest? Filters, string? DayOfWeek, int? Hour, IReadOnlyList<string>? Recipients);

/// <summary>A scheduled report, when it is next due and how its last sending went.</summary>
public sealed record ReportScheduleDto(
    Guid Id, string Name, ScheduledReportKind Report, ReportRequest Filters, string DayOfWeek, int Hour, string TimeZone,
    IReadOnlyList<string> Recipients, DateTime NextDueAt, DateTime? LastSentAt, bool? LastSucceeded, string? LastResult,
    string CreatedBy, DateTime UpdatedAt, bool EmailConfigured);

/// <summary>
/// The district's scheduled reports (<see cref="Permission.ManageReportSchedules"/>, district-wide staff
/// only): validated whole (known report, filters the report takes and that exist, a day and an hour, 1 to
/// <see cref="MaxRecipients"/> plain addresses), every change audited. <see cref="ReportScheduler"/> sends them.
/// </summary>
public sealed class ReportSchedules(
    IDbContextFactory<HomeroomDbContext> dbFactory, AuditTrail audit, EmailSender email, IOptions<InsightsReportOptions> options, TimeProvider time)
{
    public const int MaxRecipients = 20;
    public const int MaxNameLength = 100;

    public async Task<List<ReportScheduleDto>> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        EnsureMayManage(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var zone = await DistrictTimeZoneAsync(db, cancellationToken);
        var rows = await db.ReportSchedules.AsNoTracking().OrderBy(s => s.Name).ThenBy(s => s.Id).ToListAsync(cancellationToken);
        return rows.Select(s => ToDto(s, zone)).ToList();
    }

    public async Task<ReportScheduleDto> CreateAsync(StaffScope scope, ReportScheduleRequest request, CancellationToken cancellationToken = default)
    {
        EnsureMayManage(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var valid = await ValidateAsync(db, scope, request, cancellationToken);
        if (await db.ReportSchedules.CountAsync(cancellationToken) >= options.Value.MaxSchedules)
        {
            throw new RequestValidationException(new() { ["name"] = [$"The district has {options.Value.MaxSchedules} scheduled reports, the most it may keep."] });
        }

        var now = time.GetUtcNow().UtcDateTime;
        var schedule = new ReportSchedule
        {
            Id = Guid.CreateVersion7(),
            Name = valid.Name,
            FiltersJson = valid.FiltersJson,
            Recipients = valid.Recipients,
            CreatedBy = scope.Username,
            CreatedAt = now,
        };
        Apply(schedule, valid, now);
        db.ReportSchedules.Add(schedule);
        audit.Record(db, "insights.schedule.create", "reportSchedule", schedule.Id.ToString(), Describe(schedule));
        await db.SaveChangesAsync(cancellationToken);
        return ToDto(schedule, await DistrictTimeZoneAsync(db, cancellationToken));
    }

    public async Task<ReportScheduleDto?> UpdateAsync(StaffScope scope, Guid id, ReportScheduleRequest request, CancellationToken cancellationToken = default)
    {
        EnsureMayManage(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var schedule = await db.ReportSchedules.FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (schedule is null)
        {
            return null;
        }

        var valid = await ValidateAsync(db, scope, request, cancellationToken);
        Apply(schedule, valid, time.GetUtcNow().UtcDateTime);
        audit.Record(db, "insights.schedule.update", "reportSchedule", schedule.Id.ToString(), Describe(schedule));
        await db.SaveChangesAsync(cancellationToken);
        return ToDto(schedule, await DistrictTimeZoneAsync(db, cancellationToken));
    }

    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        EnsureMayManage(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var schedule = await db.ReportSchedules.FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (schedule is null)
        {
            return false;
        }

        db.ReportSchedules.Remove(schedule);
        audit.Record(db, "insights.schedule.delete", "reportSchedule", schedule.Id.ToString(), schedule.Name);
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>The latest due time at or before <paramref name="now"/> (UTC) of a weekly slot in a time zone.</summary>
    public static DateTime LatestDue(DayOfWeek day, int hour, TimeZoneInfo zone, DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone).DateTime;
        var back = ((int)local.DayOfWeek - (int)day + 7) % 7;
        var slot = local.Date.AddDays(-back).AddHours(hour);
        if (slot > local)
        {
            slot = slot.AddDays(-7);
        }

        return ToUtc(slot, zone);
    }

    /// <summary>The next due time after <paramref name="now"/>.</summary>
    public static DateTime NextDue(DayOfWeek day, int hour, TimeZoneInfo zone, DateTimeOffset now)
    {
        var latest = LatestDue(day, hour, zone, now);
        var local = TimeZoneInfo.ConvertTimeFromUtc(latest, zone).Date.AddDays(7).AddHours(hour);
        return ToUtc(local, zone);
    }

    // A slot in the hour a clock change skips is sent when that hour would have ended.
    private static DateTime ToUtc(DateTime local, TimeZoneInfo zone)
    {
        var unspecified = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(unspecified))
        {
            unspecified = unspecified.AddMinutes(30);
        }

        return TimeZoneInfo.ConvertTimeToUtc(unspecified, zone);
    }

    internal static async Task<TimeZoneInfo> DistrictTimeZoneAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var id = await Roster.District.TimeZoneIdAsync(db.Districts, cancellationToken);
        return id is not null && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;
    }

    internal static ReportRequest FiltersOf(ReportSchedule schedule) =>
        JsonSerializer.Deserialize<ReportRequest>(schedule.FiltersJson, JsonSerializerOptions.Web) ?? new ReportRequest();

    internal static IReadOnlyList<string> RecipientsOf(ReportSchedule schedule) =>
        schedule.Recipients.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private ReportScheduleDto ToDto(ReportSchedule s, TimeZoneInfo zone) => new(
        s.Id, s.Name, s.Report, FiltersOf(s), ((DayOfWeek)s.DayOfWeek).ToString().ToLowerInvariant(), s.Hour, zone.Id, RecipientsOf(s),
        NextDue((DayOfWeek)s.DayOfWeek, s.Hour, zone, time.GetUtcNow()), s.LastSentAt, s.LastSucceeded, s.LastResult, s.CreatedBy, s.UpdatedAt, email.IsConfigured);

    private sealed record Valid(string Name, ScheduledReportKind Report, string FiltersJson, DayOfWeek Day, int Hour, string Recipients);

    private static void Apply(ReportSchedule schedule, Valid valid, DateTime now)
    {
        schedule.Name = valid.Name;
        schedule.Report = valid.Report;
        schedule.FiltersJson = valid.FiltersJson;
        schedule.DayOfWeek = (int)valid.Day;
        schedule.Hour = valid.Hour;
        schedule.Recipients = valid.Recipients;
        // A slot that passed before this change is not sent: the new schedule starts with its next one.
        schedule.UpdatedAt = now;
    }

    private static string Describe(ReportSchedule s) =>
        $"{s.Name}: {Title(s.Report)} on {(DayOfWeek)s.DayOfWeek} at {s.Hour:00}:00 to {RecipientsOf(s).Count} recipient(s), filters {s.FiltersJson}";

    private static async Task<Valid> ValidateAsync(HomeroomDbContext db, StaffScope scope, ReportScheduleRequest request, CancellationToken cancellationToken)
    {
        var validation = new Validation().Required("name", request.Name, MaxNameLength).Range("hour", request.Hour, 0, 23)
            .Check(request.Hour is not null, "hour", "An hour from 0 to 23, in the district's time zone.");
        var report = ParseReport(request.Report);
        validation.Check(report is not null, "report", "One of " + string.Join(", ", ReportNames) + ".");
        validation.Check(DayNames.TryParse(request.DayOfWeek, out var day), "dayOfWeek", "A day, monday to sunday.");

        var recipients = request.Recipients ?? [];
        if (recipients.Count is 0 or > MaxRecipients)
        {
            validation.Add("recipients", $"1 to {MaxRecipients} e-mail addresses.");
        }
        else if (recipients.Where(r => r is null || !NotificationSettingsDirectory.IsEmailAddress(r)).Take(3).ToList() is { Count: > 0 } bad)
        {
            validation.Add("recipients", $"Not plain e-mail addresses: {string.Join(", ", bad.Select(b => b is null ? "(empty)" : b.Length > 60 ? b[..60] + "…" : b))}.");
        }

        var filters = request.Filters ?? new ReportRequest();
        if (!string.IsNullOrEmpty(filters.From) || !string.IsNullOrEmpty(filters.To))
        {
            validation.Add("filters", "A scheduled report has no dates: the classroom, blocked and usage reports cover the seven days before each sending.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var allowed = FiltersOf(report!.Value) & ~ReportFilterKinds.Range;
        try
        {
            // No range is allowed, so the day given as today is never read.
            await ReportFilters.ResolveAsync(db, scope, filters, allowed, DateOnly.MinValue, ClassroomUse.DefaultDays, cancellationToken);
        }
        catch (RequestValidationException invalid)
        {
            throw new RequestValidationException(invalid.Errors.ToDictionary(e => "filters." + e.Key, e => e.Value));
        }

        var kept = new ReportRequest(Blank(filters.SchoolId), Blank(filters.Grade), Blank(filters.ClassId), Blank(filters.Platform));
        return new Valid(request.Name!.Trim(), report!.Value, JsonSerializer.Serialize(kept, JsonSerializerOptions.Web), day, request.Hour!.Value,
            string.Join('\n', recipients.Distinct(StringComparer.OrdinalIgnoreCase)));
    }

    /// <summary>The report names a request may give, as the API returns them.</summary>
    public static readonly IReadOnlyList<string> ReportNames = Enum.GetValues<ScheduledReportKind>().Select(NameOf).ToArray();

    /// <summary>A report's name as the API gives and takes it (<c>blockedSites</c>).</summary>
    public static string NameOf(ScheduledReportKind report) => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(report.ToString());

    /// <summary>A report's name (<c>blockedSites</c>, also <c>blocked-sites</c>; any case), or null.</summary>
    public static ScheduledReportKind? ParseReport(string? name)
    {
        var plain = name?.Replace("-", "", StringComparison.Ordinal);
        return !string.IsNullOrEmpty(plain) && plain.All(char.IsAsciiLetter) && Enum.TryParse<ScheduledReportKind>(plain, ignoreCase: true, out var kind) ? kind : null;
    }

    /// <summary>The filters a scheduled report takes (its range is always the days before each sending).</summary>
    public static ReportFilterKinds FiltersOf(ScheduledReportKind report) => report switch
    {
        ScheduledReportKind.Fleet => FleetHealth.Filters,
        ScheduledReportKind.Classroom => ClassroomUse.Filters,
        ScheduledReportKind.AppAdoption => InsightReports.AdoptionFilters,
        _ => InsightReports.Filters,
    };

    /// <summary>A report's title, as the console and the e-mail name it.</summary>
    public static string Title(ScheduledReportKind report) => report switch
    {
        ScheduledReportKind.Fleet => "Fleet health",
        ScheduledReportKind.Classroom => "Classroom use",
        ScheduledReportKind.BlockedSites => "Most-blocked sites",
        ScheduledReportKind.BlockedCategories => "Blocked categories",
        ScheduledReportKind.TopSites => "Top sites by time",
        ScheduledReportKind.TopApps => "Top apps by time",
        ScheduledReportKind.AppAdoption => "App adoption",
        _ => report.ToString(),
    };

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static void EnsureMayManage(StaffScope scope)
    {
        scope.EnsureCan(Permission.ManageReportSchedules);
        if (!scope.IsDistrictWide)
        {
            throw new ForbiddenException("Forbidden", "Scheduled reports are a district matter.");
        }
    }
}
