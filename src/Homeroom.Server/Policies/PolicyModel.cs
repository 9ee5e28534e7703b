using System.Text.Json;
using System.Text.Json.Serialization;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Policies;

/// <summary>An assignment's condition as it travels in the API and is stored.</summary>
/// <param name="Schedule">Time windows (in the school's time zone).</param>
/// <param name="InsideZones">Applies while the device is inside any of these zones.</param>
/// <param name="OutsideZones">Applies while the device is inside none of these zones.</param>
public sealed record ConditionDto(IReadOnlyList<ScheduleWindowDto>? Schedule, IReadOnlyList<Guid>? InsideZones, IReadOnlyList<Guid>? OutsideZones)
{
    public const int MaxWindows = 20;

    public AssignmentCondition ToCondition() => new(
        Schedule?.Select(w => w.ToWindow()).ToList(),
        InsideZones,
        OutsideZones);

    /// <summary>Problems, each naming the field.</summary>
    public IEnumerable<(string Field, string Message)> Validate()
    {
        if (Schedule?.Count > MaxWindows)
        {
            yield return ("condition.schedule", $"At most {MaxWindows} windows.");
        }

        for (var i = 0; i < (Schedule?.Count ?? 0); i++)
        {
            foreach (var message in Schedule![i].Validate())
            {
                yield return ($"condition.schedule[{i}]", message);
            }
        }

        if ((InsideZones?.Count ?? 0) + (OutsideZones?.Count ?? 0) > 100)
        {
            yield return ("condition", "At most 100 zones.");
        }
    }
}

/// <summary>A weekly window: days (monday..sunday) and local start and end (HH:mm). An end at or before the start runs past midnight.</summary>
public sealed record ScheduleWindowDto(IReadOnlyList<string>? Days, string? Start, string? End)
{
    public ScheduleWindow ToWindow() => new(
        Days!.Select(d => DayNames.TryParse(d, out var day) ? day : throw new FormatException($"'{d}' is not a day.")).Distinct().ToList(),
        TimeOnly.ParseExact(Start!, "HH:mm", System.Globalization.CultureInfo.InvariantCulture),
        TimeOnly.ParseExact(End!, "HH:mm", System.Globalization.CultureInfo.InvariantCulture));

    public IEnumerable<string> Validate()
    {
        if (Days is not { Count: > 0 and <= 7 } || Days.Any(d => !DayNames.TryParse(d, out _)))
        {
            yield return "days: 1 to 7 of monday, tuesday, wednesday, thursday, friday, saturday, sunday.";
        }

        foreach (var (name, value) in new[] { ("start", Start), ("end", End) })
        {
            if (value is null || !TimeOnly.TryParseExact(value, "HH:mm", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _))
            {
                yield return $"{name}: a local time as HH:mm.";
            }
        }
    }
}

/// <summary>Profiles and assignments as the resolver wants them, read from the database in one go.</summary>
public sealed record PolicyModel(
    IReadOnlyDictionary<Guid, PolicyProfile> Profiles,
    IReadOnlyList<PolicyAssignment> Assignments,
    TimeZoneInfo DistrictTimeZone,
    IReadOnlyDictionary<Guid, TimeZoneInfo> SchoolTimeZones)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public TimeZoneInfo TimeZoneOf(Guid? schoolId) =>
        schoolId is { } id && SchoolTimeZones.TryGetValue(id, out var zone) ? zone : DistrictTimeZone;

    public static async Task<PolicyModel> LoadAsync(HomeroomDbContext db, CancellationToken cancellationToken)
    {
        var profiles = await db.Profiles.AsNoTracking().ToListAsync(cancellationToken);
        var assignments = await db.PolicyAssignments.AsNoTracking().ToListAsync(cancellationToken);
        var district = await Roster.District.TimeZoneIdAsync(db.Districts, cancellationToken);
        var schools = await db.Schools.AsNoTracking().Select(s => new { s.Id, s.TimeZone }).ToListAsync(cancellationToken);
        return new PolicyModel(
            profiles.ToDictionary(p => p.Id, ToProfile),
            assignments.Select(ToAssignment).ToList(),
            FindZone(district),
            schools.ToDictionary(s => s.Id, s => FindZone(s.TimeZone)));
    }

    public static PolicyProfile ToProfile(Profile profile)
    {
        using var document = JsonDocument.Parse(profile.SettingsJson);
        return new PolicyProfile(profile.Id, profile.Name, PolicySettings.Parse(document.RootElement).Settings);
    }

    public static PolicyAssignment ToAssignment(PolicyAssignmentRecord record) => new(
        record.Id,
        record.ProfileId,
        record.Level,
        record.ScopeKey,
        record.Priority,
        record.ConditionJson is null ? null : JsonSerializer.Deserialize<ConditionDto>(record.ConditionJson, Json)!.ToCondition());

    private static TimeZoneInfo FindZone(string? id) =>
        id is not null && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;
}
