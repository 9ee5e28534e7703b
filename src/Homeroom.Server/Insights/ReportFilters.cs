using System.Globalization;
using System.Text.Json.Serialization;
using Homeroom.Contracts.Enrollment;
using Homeroom.Server.Accounts;
using Homeroom.Server.Data;
using Homeroom.Server.Devices;
using Homeroom.Server.Hosting;
using Homeroom.Server.Roster;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Insights;

/// <summary>
/// The filters a report is asked for, as text (query string, a schedule's stored filters, a console
/// page): school and class ids, a grade level (-1 pre-K, 0 kindergarten, 1 to 13), a platform, and a
/// date range (yyyy-MM-dd, both days included). Read by <see cref="ReportFilters.ResolveAsync"/>.
/// </summary>
public sealed record ReportRequest(
    string? SchoolId = null, string? Grade = null, string? ClassId = null, string? Platform = null, string? From = null, string? To = null);

/// <summary>Filters checked against the caller's scope: every id names something the caller reaches.</summary>
public sealed record ReportFilter(Guid? SchoolId, int? Grade, Guid? ClassId, DevicePlatform? Platform)
{
    public static readonly ReportFilter None = new(null, null, null, null);
}

/// <summary>A range of whole days, both included.</summary>
public sealed record DayRange(DateOnly From, DateOnly To)
{
    public int Days => To.DayNumber - From.DayNumber + 1;

    public IEnumerable<DateOnly> Each() => Enumerable.Range(0, Days).Select(From.AddDays);
}

/// <summary>Which filter a report takes.</summary>
[Flags]
[JsonConverter(typeof(JsonStringEnumConverter<ReportFilterKinds>))]
public enum ReportFilterKinds
{
    None = 0,
    School = 1,
    Grade = 2,
    Class = 4,
    Platform = 8,
    Range = 16,
}

/// <summary>
/// Reads report filters once for the API, the console and scheduled reports: unknown values, ids
/// the caller does not reach, filters a report does not take and ranges longer than
/// <see cref="MaxRangeDays"/> are refused (400), so a typo never answers an empty report.
/// </summary>
public static class ReportFilters
{
    public const int MaxRangeDays = 400;
    public const int MinGrade = -1;
    public const int MaxGrade = 13;
    public const int DefaultRangeDays = 7;

    /// <summary>The filter, checked against the scope; throws <see cref="RequestValidationException"/> for anything it cannot read.</summary>
    public static async Task<ReportFilter> ResolveAsync(
        HomeroomDbContext db, StaffScope scope, ReportRequest request, ReportFilterKinds allowed, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        Guid? school = null, group = null;
        int? grade = null;
        DevicePlatform? platform = null;
        if (!string.IsNullOrEmpty(request.SchoolId))
        {
            if (!allowed.HasFlag(ReportFilterKinds.School))
            {
                validation.Add("schoolId", "This report is not filtered by school.");
            }
            else if (!Guid.TryParse(request.SchoolId, out var id) || !await scope.Schools(db).AnyAsync(s => s.Id == id, cancellationToken))
            {
                // Another school's id is as unknown as a mistyped one: nothing is revealed.
                validation.Add("schoolId", "No such school in your scope.");
            }
            else
            {
                school = id;
            }
        }

        if (!string.IsNullOrEmpty(request.ClassId))
        {
            if (!allowed.HasFlag(ReportFilterKinds.Class))
            {
                validation.Add("classId", "This report is not filtered by class.");
            }
            else if (!Guid.TryParse(request.ClassId, out var id)
                || !await scope.Groups(db).AnyAsync(g => g.Id == id && g.Kind == GroupKind.Class, cancellationToken))
            {
                validation.Add("classId", "No such class in your scope.");
            }
            else
            {
                group = id;
            }
        }

        if (!string.IsNullOrEmpty(request.Grade))
        {
            if (!allowed.HasFlag(ReportFilterKinds.Grade))
            {
                validation.Add("grade", "This report is not filtered by grade.");
            }
            else if (ParseGrade(request.Grade) is { } level)
            {
                grade = level;
            }
            else
            {
                validation.Add("grade", $"A grade level from {MinGrade} (pre-K) and 0 (kindergarten) to {MaxGrade}, or pk or k.");
            }
        }

        if (!string.IsNullOrEmpty(request.Platform))
        {
            if (!allowed.HasFlag(ReportFilterKinds.Platform))
            {
                validation.Add("platform", "This report is not filtered by platform.");
            }
            else if (ParsePlatform(request.Platform) is { } p)
            {
                platform = p;
            }
            else
            {
                validation.Add("platform", $"One of {string.Join(", ", PlatformNames)}.");
            }
        }

        if (!allowed.HasFlag(ReportFilterKinds.Range) && (!string.IsNullOrEmpty(request.From) || !string.IsNullOrEmpty(request.To)))
        {
            validation.Add("from", "This report is a picture of now; it takes no date range.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        return new ReportFilter(school, grade, group, platform);
    }

    /// <summary>The range asked for (default: the <see cref="DefaultRangeDays"/> days to <paramref name="today"/>), at most <see cref="MaxRangeDays"/> days.</summary>
    public static DayRange Range(ReportRequest request, DateOnly today)
    {
        var validation = new Validation();
        DateOnly? from = null, to = null;
        if (!string.IsNullOrEmpty(request.From))
        {
            from = ParseDay(request.From);
            validation.Check(from is not null, "from", "A day as yyyy-MM-dd.");
        }

        if (!string.IsNullOrEmpty(request.To))
        {
            to = ParseDay(request.To);
            validation.Check(to is not null, "to", "A day as yyyy-MM-dd.");
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var end = to ?? (from is { } f && f.AddDays(DefaultRangeDays - 1) < today ? f.AddDays(DefaultRangeDays - 1) : today);
        var start = from ?? end.AddDays(-(DefaultRangeDays - 1));
        if (start > end)
        {
            validation.Add("from", "The range starts after it ends.");
        }
        else if (end.DayNumber - start.DayNumber + 1 > MaxRangeDays)
        {
            validation.Add("to", $"A range of at most {MaxRangeDays} days.");
        }

        return validation.IsValid ? new DayRange(start, end) : throw new RequestValidationException(validation.Errors);
    }

    /// <summary>The devices of a scope that a filter keeps (class: in the sense of <see cref="DeviceQueries.InGroup"/>; grade: the assigned person's).</summary>
    public static IQueryable<Device> Apply(this IQueryable<Device> devices, HomeroomDbContext db, ReportFilter filter)
    {
        if (filter.SchoolId is { } school)
        {
            devices = devices.Where(d => d.SchoolId == school);
        }

        if (filter.Platform is { } platform)
        {
            devices = devices.Where(d => d.Platform == platform);
        }

        if (filter.Grade is { } grade)
        {
            devices = devices.Where(d => d.AssignedPersonId != null && db.People.Any(p => p.Id == d.AssignedPersonId && p.GradeLevel == grade));
        }

        if (filter.ClassId is { } group)
        {
            devices = devices.InGroup(db, group);
        }

        return devices;
    }

    public static IReadOnlyList<string> PlatformNames { get; } =
        Enum.GetValues<DevicePlatform>().Select(p => p.ToString().ToLowerInvariant()).ToList();

    public static DevicePlatform? ParsePlatform(string text) =>
        Enum.GetValues<DevicePlatform>().Where(p => string.Equals(p.ToString(), text, StringComparison.OrdinalIgnoreCase)).Select(p => (DevicePlatform?)p).FirstOrDefault();

    public static int? ParseGrade(string text) => text.ToLowerInvariant() switch
    {
        "pk" or "prek" or "pre-k" => -1,
        "k" => 0,
        _ => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n is >= MinGrade and <= MaxGrade ? n : null,
    };

    public static DateOnly? ParseDay(string text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : null;

    public static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
