namespace Homeroom.Rules.Policies;

/// <summary>Where a profile is assigned. Later levels are more specific and win.</summary>
public enum ScopeLevel
{
    /// <summary>Every device.</summary>
    District = 0,
    /// <summary>Devices of one school.</summary>
    School = 1,
    /// <summary>Devices whose student is in one grade (-1 pre-K, 0 kindergarten, 1 to 13).</summary>
    Grade = 2,
    /// <summary>Devices of one class or group (directly, or through the group's students).</summary>
    Group = 3,
    /// <summary>One device.</summary>
    Device = 4,
}

/// <summary>
/// A recurring time window in the school's time zone. When <see cref="End"/> is not after
/// <see cref="Start"/> the window runs past midnight into the next day (a 22:00–06:00 curfew);
/// it belongs to the day it starts on.
/// </summary>
/// <param name="Days">Days the window starts on.</param>
/// <param name="Start">Local start time.</param>
/// <param name="End">Local end time.</param>
public sealed record ScheduleWindow(IReadOnlyList<DayOfWeek> Days, TimeOnly Start, TimeOnly End)
{
    /// <summary>Whether the window covers a local time.</summary>
    public bool Covers(DateTime local)
    {
        var time = TimeOnly.FromDateTime(local);
        if (End > Start)
        {
            return Days.Contains(local.DayOfWeek) && time >= Start && time < End;
        }

        // Past midnight: the evening part today, or the morning part of a window that started yesterday.
        return (Days.Contains(local.DayOfWeek) && time >= Start)
            || (Days.Contains(local.AddDays(-1).DayOfWeek) && time < End);
    }
}

/// <summary>When an assignment applies beyond its scope: in a time window, inside or outside zones.</summary>
/// <param name="Schedule">Applies while any window covers the local time; null or empty for always.</param>
/// <param name="InsideZones">Applies while the device is confirmed inside any of these zones.</param>
/// <param name="OutsideZones">Applies while the device is confirmed inside none of these zones.</param>
public sealed record AssignmentCondition(
    IReadOnlyList<ScheduleWindow>? Schedule,
    IReadOnlyList<Guid>? InsideZones,
    IReadOnlyList<Guid>? OutsideZones)
{
    /// <summary>Whether the condition names anything at all.</summary>
    public bool IsEmpty => (Schedule?.Count ?? 0) == 0 && (InsideZones?.Count ?? 0) == 0 && (OutsideZones?.Count ?? 0) == 0;
}

/// <summary>A profile assigned to a scope.</summary>
/// <param name="Id">Assignment id.</param>
/// <param name="ProfileId">The profile.</param>
/// <param name="Level">Scope level.</param>
/// <param name="ScopeKey">The school, group or device id, or the grade number; null for the district.</param>
/// <param name="Priority">Breaks ties between assignments at the same level (higher wins).</param>
/// <param name="Condition">When it applies; null for always.</param>
public sealed record PolicyAssignment(Guid Id, Guid ProfileId, ScopeLevel Level, string? ScopeKey, int Priority, AssignmentCondition? Condition);

/// <summary>A named bundle of settings (flat keys, see <see cref="PolicySettings"/>).</summary>
public sealed record PolicyProfile(Guid Id, string Name, IReadOnlyDictionary<string, System.Text.Json.Nodes.JsonNode> Settings);

/// <summary>What a device is, for deciding which assignments reach it.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="SchoolId">Its school.</param>
/// <param name="GradeLevel">Its student's grade.</param>
/// <param name="GroupIds">Groups it belongs to, directly or through its student.</param>
/// <param name="InsideZones">Zones it is confirmed inside now.</param>
public sealed record DeviceScope(Guid DeviceId, Guid? SchoolId, int? GradeLevel, IReadOnlyCollection<Guid> GroupIds, IReadOnlyCollection<Guid> InsideZones)
{
    /// <summary>
    /// The device whose device-level assignments reach this one: itself, or for a desktop's browser extension (a
    /// companion) the desktop, so that a profile assigned to the computer reaches its browsers too.
    /// </summary>
    public Guid AssignedAs { get; init; } = DeviceId;
}
