using Homeroom.Rules.Policies;

namespace Homeroom.Rules.Apps;

/// <summary>What an assignment asks of an app on the devices it reaches.</summary>
public enum AppIntent
{
    /// <summary>Offered: allowed, and the student may install it.</summary>
    Available = 0,

    /// <summary>Installed and kept installed.</summary>
    Required = 1,

    /// <summary>Kept installed but turned off (on Chromebooks Homeroom's extension turns it off).</summary>
    Disabled = 2,

    /// <summary>Never allowed (on Chromebooks Homeroom's extension turns it off where installed).</summary>
    Blocked = 3,
}

/// <summary>An app assigned to a scope (the same levels and scope keys as profile assignments).</summary>
/// <param name="Id">Assignment id.</param>
/// <param name="AppId">The catalog entry.</param>
/// <param name="Intent">What it asks.</param>
/// <param name="Level">Scope level.</param>
/// <param name="ScopeKey">The school, group or device id, or the grade number; null for the district.</param>
public sealed record AppAssignment(Guid Id, Guid AppId, AppIntent Intent, ScopeLevel Level, string? ScopeKey);

/// <summary>Where an app's effective intent came from.</summary>
public sealed record AppSource(Guid AssignmentId, AppIntent Intent, ScopeLevel Level, string? ScopeKey);

/// <summary>One app's effective intent on one device, the assignment that decided it and the ones that lost.</summary>
public sealed record EffectiveApp(Guid AppId, AppIntent Intent, AppSource Source, IReadOnlyList<AppSource> Overridden);

/// <summary>
/// Which apps a device gets and how. Per app, the most specific level that assigns it wins (device,
/// group, grade, school, district), as for policy settings; two assignments of one app at the same
/// level (a device in two groups) are settled by the stricter intent (blocked, disabled, required,
/// available), then the lower assignment id, so the answer never depends on the order rows were read.
/// </summary>
public static class AppResolver
{
    /// <summary>Whether <paramref name="a"/> beats <paramref name="b"/> for the same app.</summary>
    public static bool Beats(AppAssignment a, AppAssignment b) =>
        a.Level != b.Level ? a.Level > b.Level
        : a.Intent != b.Intent ? a.Intent > b.Intent
        : a.Id.CompareTo(b.Id) < 0;

    /// <summary>Whether an app assignment's scope includes the device (the same rule as profile assignments).</summary>
    public static bool Reaches(AppAssignment assignment, DeviceScope device) =>
        PolicyResolver.Reaches(new PolicyAssignment(assignment.Id, assignment.AppId, assignment.Level, assignment.ScopeKey, 0, null), device);
}

/// <summary>
/// The assignments of a district, indexed by target, so resolving a device looks only at the
/// assignments that can reach it (the district's, its school's, its grade's, its groups' and its own)
/// rather than at every assignment: the cost grows with what reaches a device, not with the district.
/// Immutable once built; safe to share between threads.
/// </summary>
public sealed class AppAssignmentIndex
{
    private readonly List<AppAssignment> _district = [];
    private readonly Dictionary<(ScopeLevel, string), List<AppAssignment>> _byTarget = [];

    public AppAssignmentIndex(IEnumerable<AppAssignment> assignments)
    {
        foreach (var assignment in assignments)
        {
            if (assignment.Level == ScopeLevel.District)
            {
                _district.Add(assignment);
            }
            else if (assignment.ScopeKey is { } key)
            {
                var target = (assignment.Level, Normalize(assignment.Level, key));
                if (!_byTarget.TryGetValue(target, out var list))
                {
                    _byTarget[target] = list = [];
                }

                list.Add(assignment);
            }
        }
    }

    /// <summary>The device's effective apps, by app id, each with its provenance (overridden ones best first).</summary>
    public IReadOnlyDictionary<Guid, EffectiveApp> Resolve(DeviceScope device)
    {
        var reaching = new List<AppAssignment>(_district);
        if (device.SchoolId is { } school)
        {
            Add(reaching, ScopeLevel.School, school.ToString());
        }

        if (device.GradeLevel is { } grade)
        {
            Add(reaching, ScopeLevel.Grade, grade.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        foreach (var group in device.GroupIds)
        {
            Add(reaching, ScopeLevel.Group, group.ToString());
        }

        Add(reaching, ScopeLevel.Device, device.DeviceId.ToString());

        var result = new Dictionary<Guid, EffectiveApp>();
        foreach (var byApp in reaching.GroupBy(a => a.AppId))
        {
            var ordered = byApp.Distinct().ToList();
            ordered.Sort((a, b) => a.Equals(b) ? 0 : AppResolver.Beats(a, b) ? -1 : 1);
            var winner = ordered[0];
            result[byApp.Key] = new EffectiveApp(byApp.Key, winner.Intent, Source(winner), [.. ordered.Skip(1).Select(Source)]);
        }

        return result;
    }

    private void Add(List<AppAssignment> reaching, ScopeLevel level, string key)
    {
        if (_byTarget.TryGetValue((level, key), out var list))
        {
            reaching.AddRange(list);
        }
    }

    // Guids compare case-insensitively in scope keys (PolicyResolver parses them); grades as written.
    private static string Normalize(ScopeLevel level, string key) =>
        level != ScopeLevel.Grade && Guid.TryParse(key, out var id) ? id.ToString() : key;

    private static AppSource Source(AppAssignment a) => new(a.Id, a.Intent, a.Level, a.ScopeKey);
}
