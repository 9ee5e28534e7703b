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

/// <summary>
/// The query string of every insights endpoint as it arrives (bound with <c>[AsParameters]</c>): the
/// filters of a <see cref="ReportRequest"/>, and limit and format, all as text for
/// <see cref="ReportFilters"/> to read.
/// </summary>
public sealed class ReportQuery
{
    public string? SchoolId { get; init; }

    public string? Grade { get; init; }

    public string? ClassId { get; init; }

    public string? Platform { get; init; }

    public string? From { get; init; }

    public string? To { get; init; }

    public string? Limit { get; init; }

    public string? Format { get; init; }

    public ReportRequest Filters => new(SchoolId, Grade, ClassId, Platform, From, To);
}

/// <summary>
/// What a report covers, read and checked by <see cref="ReportFilters.ResolveAsync"/> (the one filter of
/// every insights report, API, console and scheduled): local days From to To (both included; a report
/// that is a picture of now has today's), and optional school, grade (-1 pre-K or none, 0 kindergarten,
/// 1 to 13), class (<see cref="GroupId"/>) and platform (as stored: chromeos, ipados, ...).
/// </summary>
public sealed record InsightFilter(DateOnly From, DateOnly To, Guid? SchoolId = null, int? Grade = null, Guid? GroupId = null, string? Platform = null)
{
    /// <summary>Days in the range.</summary>
    public int Days => To.DayNumber - From.DayNumber + 1;

    /// <summary>The period of the same length just before this one, for trends.</summary>
    public InsightFilter PreviousPeriod() => this with { From = From.AddDays(-Days), To = From.AddDays(-1) };

    /// <summary>The platform as the devices table's enum.</summary>
    public DevicePlatform? DevicePlatform => Platform is null ? null : ReportFilters.ParsePlatform(Platform);

    /// <summary>Every day of the range, in order.</summary>
    public IEnumerable<DateOnly> EachDay() => Enumerable.Range(0, Days).Select(From.AddDays);

    /// <summary>
    /// Field errors of a filter built in code rather than read by <see cref="ReportFilters.ResolveAsync"/>
    /// (the same limits); null when valid.
    /// </summary>
    public Dictionary<string, string[]>? Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (ReportFilters.RangeError(From, To) is { } range)
        {
            errors[range.Field] = [range.Message];
        }

        if (Grade is < ReportFilters.MinGrade or > ReportFilters.MaxGrade)
        {
            errors["grade"] = [ReportFilters.GradeHelp];
        }

        if (Platform is not null && ReportFilters.ParsePlatform(Platform) is null)
        {
            errors["platform"] = [ReportFilters.PlatformHelp];
        }

        return errors.Count > 0 ? errors : null;
    }
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
/// The one reader of report filters, for every insights endpoint, console page and scheduled report:
/// unknown values, ids the caller does not reach, filters a report does not take and ranges longer than
/// <see cref="MaxRangeYears"/> years are refused together as one 400 ProblemDetails, so a typo never
/// answers an empty report.
/// </summary>
public static class ReportFilters
{
    /// <summary>The longest range a report covers: the rollups' retention.</summary>
    public const int MaxRangeYears = 3;
    public const int MinGrade = -1;
    public const int MaxGrade = 13;

    /// <summary>Rows a report lists by default, and at most.</summary>
    public const int DefaultLimit = 50;
    public const int MaxLimit = InsightsQueries.MaxLimit;

    /// <summary>The longest text of any filter value read (an id, a day, a name).</summary>
    public const int MaxValueLength = 64;

    /// <summary>Why a picture of now (app adoption, fleet health) refuses from and to.</summary>
    public const string NoRangeHelp = "This report is a picture of now; it takes no date range: inventories and device health are kept only as they are now, and app use only as the last day each install was used, so an earlier range cannot be answered.";

    public const string GradeHelp = "A grade level from -1 (pre-K) and 0 (kindergarten) to 13, or pk or k.";

    public static string PlatformHelp { get; } = $"One of {string.Join(", ", Enum.GetValues<DevicePlatform>().Select(p => p.ToString().ToLowerInvariant()))}.";

    /// <summary>
    /// The filter, checked against the scope; the range defaults to the <paramref name="defaultDays"/>
    /// days to <paramref name="today"/> (a report without <see cref="ReportFilterKinds.Range"/> covers
    /// today only). Throws <see cref="RequestValidationException"/> with every field it cannot read.
    /// </summary>
    public static async Task<InsightFilter> ResolveAsync(
        HomeroomDbContext db, StaffScope scope, ReportRequest request, ReportFilterKinds allowed, DateOnly today, int defaultDays, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        Guid? school = null, group = null;
        int? grade = null;
        string? platform = null;
        foreach (var (field, value) in new[] { ("schoolId", request.SchoolId), ("grade", request.Grade), ("classId", request.ClassId), ("platform", request.Platform), ("from", request.From), ("to", request.To) })
        {
            if (value is { Length: > MaxValueLength })
            {
                validation.Add(field, $"At most {MaxValueLength} characters.");
            }
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

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
                validation.Add("grade", GradeHelp);
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
                platform = p.ToString().ToLowerInvariant();
            }
            else
            {
                validation.Add("platform", PlatformHelp);
            }
        }

        var (from, to) = (today, today);
        if (!allowed.HasFlag(ReportFilterKinds.Range))
        {
            if (!string.IsNullOrEmpty(request.From) || !string.IsNullOrEmpty(request.To))
            {
                validation.Add("from", NoRangeHelp);
            }
        }
        else if (Range(request, today, defaultDays, validation) is { } range)
        {
            (from, to) = range;
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        return new InsightFilter(from, to, school, grade, group, platform);
    }

    /// <summary>The range asked for, or null with the errors added to <paramref name="validation"/>.</summary>
    private static (DateOnly From, DateOnly To)? Range(ReportRequest request, DateOnly today, int defaultDays, Validation validation)
    {
        DateOnly? from = null, to = null;
        var readable = true;
        if (!string.IsNullOrEmpty(request.From))
        {
            from = ParseDay(request.From);
            readable &= from is not null;
            validation.Check(from is not null, "from", "A day as yyyy-MM-dd.");
        }

        if (!string.IsNullOrEmpty(request.To))
        {
            to = ParseDay(request.To);
            readable &= to is not null;
            validation.Check(to is not null, "to", "A day as yyyy-MM-dd.");
        }

        if (!readable)
        {
            return null;
        }

        // Only a start: the default length from it, but not past today.
        var end = to ?? (from is { } f && f.AddDays(defaultDays - 1) < today ? f.AddDays(defaultDays - 1) : today);
        var start = from ?? end.AddDays(-(defaultDays - 1));
        if (RangeError(start, end) is { } error)
        {
            validation.Add(error.Field, error.Message);
            return null;
        }

        return (start, end);
    }

    /// <summary>What is wrong with a range (starts after it ends, longer than <see cref="MaxRangeYears"/> years), or null.</summary>
    public static (string Field, string Message)? RangeError(DateOnly from, DateOnly to) =>
        from > to ? ("from", "The range starts after it ends.")
        : to >= from.AddYears(MaxRangeYears) ? ("to", $"A range of at most {MaxRangeYears} years.")
        : null;

    /// <summary>The rows asked for: <see cref="DefaultLimit"/> by default, 1 to <see cref="MaxLimit"/>.</summary>
    public static int Limit(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return DefaultLimit;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxLimit
            ? n
            : throw new RequestValidationException(new() { ["limit"] = [$"1 to {MaxLimit}."] });
    }

    /// <summary>Whether the answer is a CSV file (format=csv) rather than JSON (none, or format=json).</summary>
    public static bool IsCsv(string? format) => format switch
    {
        null or "" or "json" => false,
        "csv" => true,
        _ => throw new RequestValidationException(new() { ["format"] = ["json or csv."] }),
    };

    /// <summary>The devices of a scope that a filter keeps (class: in the sense of <see cref="DeviceQueries.InGroup"/>; grade: the assigned person's).</summary>
    public static IQueryable<Device> Apply(this IQueryable<Device> devices, HomeroomDbContext db, InsightFilter filter)
    {
        if (filter.SchoolId is { } school)
        {
            devices = devices.Where(d => d.SchoolId == school);
        }

        if (filter.DevicePlatform is { } platform)
        {
            devices = devices.Where(d => d.Platform == platform);
        }

        if (filter.Grade is { } grade)
        {
            devices = devices.Where(d => d.AssignedPersonId != null && db.People.Any(p => p.Id == d.AssignedPersonId && p.GradeLevel == grade));
        }

        if (filter.GroupId is { } group)
        {
            devices = devices.InGroup(db, group);
        }

        return devices;
    }

    public static IReadOnlyList<string> PlatformNames { get; } =
        Enum.GetValues<DevicePlatform>().Select(p => p.ToString().ToLowerInvariant()).ToList();

    public static DevicePlatform? ParsePlatform(string text) =>
        Enum.GetValues<DevicePlatform>().Where(p => string.Equals(p.ToString(), text.Trim(), StringComparison.OrdinalIgnoreCase)).Select(p => (DevicePlatform?)p).FirstOrDefault();

    public static int? ParseGrade(string text) => text.Trim().ToLowerInvariant() switch
    {
        "pk" or "prek" or "pre-k" => -1,
        "k" => 0,
        var t => int.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n is >= MinGrade and <= MaxGrade ? n : null,
    };

    public static DateOnly? ParseDay(string text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : null;

    public static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
