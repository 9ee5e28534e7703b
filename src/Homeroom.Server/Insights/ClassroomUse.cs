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

    /// <summary>The days a report covers when no range is asked for (and a scheduled report always).</summary>
    public const int DefaultDays = 7;

    public async Task<ClassroomUseDto> ReportAsync(StaffScope scope, ReportRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadInsights);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var filter = await ReportFilters.ResolveAsync(db, scope, request, Filters, DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), DefaultDays, cancellationToken);
        return await ReportAsync(db, scope, filter, cancellationToken);
    }

    internal async Task<ClassroomUseDto> ReportAsync(HomeroomDbContext db, StaffScope scope, InsightFilter filter, CancellationToken cancellationToken)
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

        if (filter.GroupId is { } only)
        {
            classes = classes.Where(g => g.Id == only);
        }

        var classIds = classes.Select(g => g.Id);
        var (from, to) = (filter.From, filter.To);
        // Summed in the database, by class and by day: a year of a district's use is hundreds of thousands of rows.
        var inRange = db.ClassUsageDays.AsNoTracking().Where(u => u.Day >= from && u.Day <= to && classIds.Contains(u.GroupId));
        var usageByClass = (await inRange.GroupBy(u => u.GroupId)
                .Select(g => new { g.Key, Seconds = g.Sum(u => u.ViewedSeconds), Commands = g.Sum(u => u.Commands) })
                .ToListAsync(cancellationToken))
            .ToDictionary(g => g.Key, g => (g.Seconds, g.Commands));
        var usageByDay = (await inRange.GroupBy(u => u.Day)
                .Select(g => new { g.Key, Seconds = g.Sum(u => u.ViewedSeconds), Commands = g.Sum(u => u.Commands) })
                .ToListAsync(cancellationToken))
            .ToDictionary(g => g.Key, g => (g.Seconds, g.Commands));

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
            foreach (var day in filter.EachDay().Where(d => d >= schedule.TermStart && d <= schedule.TermEnd))
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

        var active = usageByClass.Keys.Concat(adHoc.Select(a => a.GroupId)).Concat(meetings.Select(m => m.GroupId)).ToHashSet();
        var names = await classes.Where(g => active.Contains(g.Id))
            .Select(g => new { g.Id, g.Name, g.SchoolId, g.GradeLevel, School = db.Schools.Where(s => s.Id == g.SchoolId).Select(s => s.Name).FirstOrDefault() })
            .ToListAsync(cancellationToken);

        var meetingsByClass = meetings.CountBy(m => m.GroupId).ToDictionary();
        var meetingsByDay = meetings.CountBy(m => m.Day).ToDictionary();
        var adHocByClass = adHoc.CountBy(a => a.GroupId).ToDictionary();
        var adHocByDay = adHoc.CountBy(a => DateOnly.FromDateTime(a.StartsAt)).ToDictionary();

        var rows = names.Select(g =>
            {
                var scheduled = meetingsByClass.GetValueOrDefault(g.Id);
                var started = adHocByClass.GetValueOrDefault(g.Id);
                var used = usageByClass.GetValueOrDefault(g.Id);
                return new ClassroomUseRow(g.Id, g.Name, g.SchoolId, g.School, g.GradeLevel, scheduled, started, scheduled + started, Minutes(used.Item1), used.Item2);
            })
            .OrderByDescending(r => r.Sessions).ThenByDescending(r => r.MinutesViewed).ThenBy(r => r.ClassName, StringComparer.OrdinalIgnoreCase)
            .ToList();

        var days = filter.EachDay().Select(day =>
            {
                var used = usageByDay.GetValueOrDefault(day);
                var sessions = meetingsByDay.GetValueOrDefault(day) + adHocByDay.GetValueOrDefault(day);
                return new ClassroomUseDay(ReportFilters.Day(day), sessions, Minutes(used.Item1), used.Item2);
            })
            .ToList();

        return new ClassroomUseDto(
            ReportFilters.Day(from), ReportFilters.Day(to), rows.Count, rows.Sum(r => r.Sessions), Minutes(usageByClass.Values.Sum(u => u.Item1)), rows.Sum(r => r.Commands),
            days, rows.Take(MaxClassRows).ToList());
    }

    private static async Task<Dictionary<Guid, TimeZoneInfo>> TimeZonesAsync(HomeroomDbContext db, List<Guid?> schoolIds, CancellationToken cancellationToken)
    {
        var zones = new Dictionary<Guid, TimeZoneInfo>();
        var district = await District.TimeZoneIdAsync(db.Districts, cancellationToken);
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
