using System.Globalization;
using Homeroom.Server.Accounts;
using Homeroom.Server.Classroom;
using Homeroom.Server.Data;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Insights;

/// <summary>One class's use of the classroom over the range.</summary>
public sealed record ClassroomUseRow(
    Guid ClassId, string ClassName, Guid? SchoolId, string? SchoolName, int? GradeLevel,
    int ScheduledMeetings, int AdHocSessions, int Sessions, double MinutesViewed, int Commands);

/// <summary>The classes' use on one UTC day.</summary>
public sealed record ClassroomUseDay(string Day, int Sessions, double MinutesViewed, int Commands);

/// <summary>The classroom-use report, as <c>/api/insights/classroom</c> answers it.</summary>
public sealed record ClassroomUseDto(
    string From, string To, int Classes, int Sessions, double MinutesViewed, int Commands,
    IReadOnlyList<ClassroomUseDay> Days, IReadOnlyList<ClassroomUseRow> ClassRows);

/// <summary>
/// The classroom-use report over a range of UTC days: per class, its sessions (scheduled meetings that
/// have begun, in the school's time zone, and ad-hoc sessions started), the minutes its teachers watched
/// screens (<c>class_usage_days</c>, added when each view ends) and the classroom commands sent. Classes
/// with none of these are left out. Within the reader's scope; filtered by school, grade (the class's
/// grade level) and class.
/// </summary>
public sealed class ClassroomUse(IDbContextFactory<HomeroomDbContext> dbFactory, TimeProvider time)
{
    public const ReportFilterKinds Filters = ReportFilterKinds.School | ReportFilterKinds.Grade | ReportFilterKinds.Class | ReportFilterKinds.Range;

    /// <summary>Classes listed at most; the totals count them all.</summary>
    public const int MaxClassRows = 5000;

    public async Task<ClassroomUseDto> ReportAsync(StaffScope scope, ReportRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadInsights);
        var range = ReportFilters.Range(request, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime));
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var filter = await ReportFilters.ResolveAsync(db, scope, request, Filters, cancellationToken);
        return await ReportAsync(db, scope, filter, range, cancellationToken);
    }

    internal async Task<ClassroomUseDto> ReportAsync(HomeroomDbContext db, StaffScope scope, ReportFilter filter, DayRange range, CancellationToken cancellationToken)
    {
        var classes = scope.Groups(db).Where(g => g.Kind == GroupKind.Class);
        if (filter.SchoolId is { } school)
        {
            classes = classes.Where(g => g.SchoolId == school);
        }

        if (filter.Grade is { } grade)
        {
            classes = classes.Where(g => g.GradeLevel == grade);
        }

        if (filter.ClassId is { } only)
        {
            classes = classes.Where(g => g.Id == only);
        }

        var classIds = classes.Select(g => g.Id);
        var (from, to) = (range.From, range.To);
        var usage = await db.ClassUsageDays.AsNoTracking()
            .Where(u => u.Day >= from && u.Day <= to && classIds.Contains(u.GroupId))
            .Select(u => new { u.GroupId, u.Day, u.ViewedSeconds, u.Commands })
            .ToListAsync(cancellationToken);

        var start = from.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var end = to.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var adHoc = await db.ClassSessions.AsNoTracking()
            .Where(s => s.StartsAt >= start && s.StartsAt < end && classIds.Contains(s.GroupId))
            .Select(s => new { s.GroupId, s.StartsAt })
            .ToListAsync(cancellationToken);

        var schedules = await (
                from s in db.ClassSchedules.AsNoTracking()
                join g in classes on s.GroupId equals g.Id
                select new { s.GroupId, s.ScheduleJson, g.SchoolId })
            .ToListAsync(cancellationToken);

        // Scheduled meetings that have begun by now, each on its school's local day (counted on that day).
        var now = time.GetUtcNow();
        var zones = await TimeZonesAsync(db, schedules.Select(s => s.SchoolId).Distinct().ToList(), cancellationToken);
        var meetings = new List<(Guid GroupId, DateOnly Day)>();
        foreach (var record in schedules)
        {
            if (ClassSchedules.ParseStored(record.ScheduleJson) is not { } schedule)
            {
                continue;
            }

            var zone = zones.GetValueOrDefault(record.SchoolId ?? Guid.Empty, TimeZoneInfo.Utc);
            foreach (var day in range.Each().Where(d => d >= schedule.TermStart && d <= schedule.TermEnd))
            {
                foreach (var meeting in schedule.Meetings.Where(m => m.Days.Contains(day.DayOfWeek)))
                {
                    var begins = TimeZoneInfo.ConvertTimeToUtc(day.ToDateTime(meeting.Start, DateTimeKind.Unspecified), zone);
                    if (begins <= now.UtcDateTime)
                    {
                        meetings.Add((record.GroupId, day));
                    }
                }
            }
        }

        var active = usage.Select(u => u.GroupId).Concat(adHoc.Select(a => a.GroupId)).Concat(meetings.Select(m => m.GroupId)).ToHashSet();
        var names = await classes.Where(g => active.Contains(g.Id))
            .Select(g => new { g.Id, g.Name, g.SchoolId, g.GradeLevel, School = db.Schools.Where(s => s.Id == g.SchoolId).Select(s => s.Name).FirstOrDefault() })
            .ToListAsync(cancellationToken);

        var rows = names.Select(g =>
            {
                var scheduled = meetings.Count(m => m.GroupId == g.Id);
                var started = adHoc.Count(a => a.GroupId == g.Id);
                var mine = usage.Where(u => u.GroupId == g.Id).ToList();
                return new ClassroomUseRow(g.Id, g.Name, g.SchoolId, g.School, g.GradeLevel, scheduled, started, scheduled + started,
                    Minutes(mine.Sum(u => u.ViewedSeconds)), mine.Sum(u => u.Commands));
            })
            .OrderByDescending(r => r.Sessions).ThenByDescending(r => r.MinutesViewed).ThenBy(r => r.ClassName, StringComparer.OrdinalIgnoreCase)
            .ToList();

        var days = range.Each().Select(day =>
            {
                var on = usage.Where(u => u.Day == day).ToList();
                var sessions = meetings.Count(m => m.Day == day) + adHoc.Count(a => DateOnly.FromDateTime(a.StartsAt) == day);
                return new ClassroomUseDay(ReportFilters.Day(day), sessions, Minutes(on.Sum(u => u.ViewedSeconds)), on.Sum(u => u.Commands));
            })
            .ToList();

        return new ClassroomUseDto(
            ReportFilters.Day(from), ReportFilters.Day(to), rows.Count, rows.Sum(r => r.Sessions), Minutes(usage.Sum(u => u.ViewedSeconds)), rows.Sum(r => r.Commands),
            days, rows.Take(MaxClassRows).ToList());
    }

    private static async Task<Dictionary<Guid, TimeZoneInfo>> TimeZonesAsync(HomeroomDbContext db, List<Guid?> schoolIds, CancellationToken cancellationToken)
    {
        var zones = new Dictionary<Guid, TimeZoneInfo>();
        var district = await db.Districts.Select(d => d.TimeZone).FirstOrDefaultAsync(cancellationToken);
        zones[Guid.Empty] = district is not null && TimeZoneInfo.TryFindSystemTimeZoneById(district, out var dz) ? dz : TimeZoneInfo.Utc;
        var ids = schoolIds.Where(s => s is not null).Select(s => s!.Value).ToList();
        foreach (var school in await db.Schools.AsNoTracking().Where(s => ids.Contains(s.Id)).Select(s => new { s.Id, s.TimeZone }).ToListAsync(cancellationToken))
        {
            zones[school.Id] = TimeZoneInfo.TryFindSystemTimeZoneById(school.TimeZone, out var zone) ? zone : zones[Guid.Empty];
        }

        return zones;
    }

    private static double Minutes(long seconds) => Math.Round(seconds / 60.0, 1);

    public static readonly IReadOnlyList<string> CsvHeader =
    [
        "class", "school", "grade", "sessions", "scheduled_meetings", "ad_hoc_sessions", "minutes_viewed", "commands",
    ];

    public static async IAsyncEnumerable<IReadOnlyList<string?>> CsvRows(ClassroomUseDto report)
    {
        foreach (var r in report.ClassRows)
        {
            yield return
            [
                r.ClassName, r.SchoolName, r.GradeLevel?.ToString(CultureInfo.InvariantCulture), N(r.Sessions), N(r.ScheduledMeetings), N(r.AdHocSessions),
                r.MinutesViewed.ToString("0.#", CultureInfo.InvariantCulture), N(r.Commands),
            ];
        }

        await Task.CompletedTask;
    }

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);
}
