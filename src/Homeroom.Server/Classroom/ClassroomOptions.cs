using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Homeroom.Rules.Classroom;
using Homeroom.Server.Hosting;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Classroom;

/// <summary>The classroom's limits (configuration section <c>Homeroom:Classroom</c>).</summary>
public sealed class ClassroomOptions
{
    public const string Section = "Homeroom:Classroom";

    /// <summary>Days teachers may start ad-hoc sessions (monday to sunday).</summary>
    [Required]
    public string[] SchoolDays { get; set; } = ["monday", "tuesday", "wednesday", "thursday", "friday"];

    /// <summary>When the school day starts, in each school's local time (HH:mm).</summary>
    [Required]
    public string SchoolDayStart { get; set; } = "07:00";

    /// <summary>When the school day ends (HH:mm); an ad-hoc session never runs past it.</summary>
    [Required]
    public string SchoolDayEnd { get; set; } = "17:00";

    /// <summary>The school day as the rules read it (valid once the options are validated).</summary>
    public SchoolDay ToSchoolDay() => new(
        SchoolDays.Select(d => DayNames.TryParse(d, out var day) ? day : throw new InvalidOperationException($"Unknown day '{d}'.")).ToHashSet(),
        TimeOnly.ParseExact(SchoolDayStart, "HH:mm", CultureInfo.InvariantCulture),
        TimeOnly.ParseExact(SchoolDayEnd, "HH:mm", CultureInfo.InvariantCulture));
}

/// <summary>Validates <see cref="ClassroomOptions"/> at start: known days, times as HH:mm, the day ends after it starts.</summary>
public sealed class ClassroomOptionsValidator : IValidateOptions<ClassroomOptions>
{
    public ValidateOptionsResult Validate(string? name, ClassroomOptions options)
    {
        var errors = new List<string>();
        if (options.SchoolDays is not { Length: > 0 and <= 7 } || !options.SchoolDays.All(d => DayNames.TryParse(d, out _)))
        {
            errors.Add("Homeroom:Classroom:SchoolDays must list 1 to 7 days, monday to sunday.");
        }

        var start = TimeOnly.TryParseExact(options.SchoolDayStart, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var s) ? s : (TimeOnly?)null;
        var end = TimeOnly.TryParseExact(options.SchoolDayEnd, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var e) ? e : (TimeOnly?)null;
        if (start is null || end is null || end <= start)
        {
            errors.Add("Homeroom:Classroom:SchoolDayStart and SchoolDayEnd are HH:mm times, the end after the start.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
