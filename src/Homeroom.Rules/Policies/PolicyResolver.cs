using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Homeroom.Rules.Policies;

/// <summary>Where an effective setting came from.</summary>
/// <param name="ProfileId">The profile that set it.</param>
/// <param name="ProfileName">Its name.</param>
/// <param name="AssignmentId">The assignment that brought the profile to the device.</param>
/// <param name="Level">The assignment's level.</param>
/// <param name="ScopeKey">The assignment's scope.</param>
/// <param name="Conditional">Whether the assignment applies only at certain times or places.</param>
public sealed record SettingSource(Guid ProfileId, string ProfileName, Guid AssignmentId, ScopeLevel Level, string? ScopeKey, bool Conditional);

/// <summary>One setting's value for a device, and why.</summary>
/// <param name="Key">The setting.</param>
/// <param name="Value">Its value.</param>
/// <param name="Source">Who set it; null when it is the default.</param>
/// <param name="Overridden">Applicable assignments that also set it but lost.</param>
public sealed record EffectiveSetting(string Key, JsonNode Value, SettingSource? Source, IReadOnlyList<SettingSource> Overridden);

/// <summary>A device's policy at one moment.</summary>
/// <param name="Settings">Every setting, by key.</param>
/// <param name="ValidUntil">When a schedule next changes what applies; null when no schedule is involved.</param>
public sealed record EffectivePolicy(IReadOnlyDictionary<string, EffectiveSetting> Settings, DateTimeOffset? ValidUntil)
{
    /// <summary>The settings as the grouped JSON document devices receive.</summary>
    public JsonObject ToDocument() => PolicySettings.ToDocument(Settings.Select(s => KeyValuePair.Create(s.Key, s.Value.Value)));

    /// <summary>A hash of the document: equal hashes mean nothing changed for the device.</summary>
    public string Hash()
    {
        var json = ToDocument().ToJsonString();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..32];
    }

    /// <summary>The flat values.</summary>
    public IReadOnlyDictionary<string, JsonNode> Values => Settings.ToDictionary(s => s.Key, s => s.Value.Value, StringComparer.Ordinal);
}

/// <summary>
/// Computes a device's effective policy: a pure function of the assignments, the profiles, the
/// device's scope, the time and its zones. Precedence, per setting: the more specific level wins
/// (device, group, grade, school, district); at the same level an assignment with a condition (a
/// schedule or zones) beats one without, then the higher priority, then the lower assignment id, so
/// the result never depends on the order the rows were read. A setting no applicable profile sets
/// takes its default.
/// </summary>
public static class PolicyResolver
{
    /// <summary>Resolves the policy of one device at <paramref name="now"/>, schedules read in <paramref name="timeZone"/>.</summary>
    public static EffectivePolicy Resolve(
        IReadOnlyList<PolicyAssignment> assignments,
        IReadOnlyDictionary<Guid, PolicyProfile> profiles,
        DeviceScope device,
        DateTimeOffset now,
        TimeZoneInfo timeZone)
    {
        var local = TimeZoneInfo.ConvertTime(now, timeZone).DateTime;
        var inScope = assignments.Where(a => profiles.ContainsKey(a.ProfileId) && Reaches(a, device)).ToList();
        var applicable = inScope
            .Where(a => ConditionHolds(a.Condition, device, local))
            .OrderByDescending(a => a.Level)
            .ThenByDescending(a => a.Condition is { IsEmpty: false })
            .ThenByDescending(a => a.Priority)
            .ThenBy(a => a.Id)
            .ToList();

        var settings = new Dictionary<string, EffectiveSetting>(StringComparer.Ordinal);
        foreach (var definition in PolicySettings.All.Values)
        {
            JsonNode? value = null;
            SettingSource? source = null;
            List<SettingSource>? overridden = null;
            foreach (var assignment in applicable)
            {
                var profile = profiles[assignment.ProfileId];
                if (!profile.Settings.TryGetValue(definition.Key, out var set))
                {
                    continue;
                }

                var from = new SettingSource(profile.Id, profile.Name, assignment.Id, assignment.Level, assignment.ScopeKey, assignment.Condition is { IsEmpty: false });
                if (source is null)
                {
                    value = set;
                    source = from;
                }
                else
                {
                    (overridden ??= []).Add(from);
                }
            }

            settings[definition.Key] = new EffectiveSetting(definition.Key, (value ?? definition.Default).DeepClone(), source, overridden ?? (IReadOnlyList<SettingSource>)[]);
        }

        return new EffectivePolicy(settings, NextBoundary(inScope, now, timeZone));
    }

    /// <summary>Whether an assignment's scope includes the device (conditions aside).</summary>
    public static bool Reaches(PolicyAssignment assignment, DeviceScope device) => assignment.Level switch
    {
        ScopeLevel.District => true,
        ScopeLevel.School => device.SchoolId is { } school && Guid.TryParse(assignment.ScopeKey, out var id) && id == school,
        ScopeLevel.Grade => device.GradeLevel is { } grade && assignment.ScopeKey == grade.ToString(CultureInfo.InvariantCulture),
        ScopeLevel.Group => Guid.TryParse(assignment.ScopeKey, out var group) && device.GroupIds.Contains(group),
        ScopeLevel.Device => Guid.TryParse(assignment.ScopeKey, out var deviceId) && deviceId == device.AssignedAs,
        _ => false,
    };

    private static bool ConditionHolds(AssignmentCondition? condition, DeviceScope device, DateTime local)
    {
        if (condition is null)
        {
            return true;
        }

        if (condition.Schedule is { Count: > 0 } schedule && !schedule.Any(w => w.Covers(local)))
        {
            return false;
        }

        if (condition.InsideZones is { Count: > 0 } inside && !inside.Any(device.InsideZones.Contains))
        {
            return false;
        }

        return condition.OutsideZones is not { Count: > 0 } outside || !outside.Any(device.InsideZones.Contains);
    }

    // The first moment after now at which any in-scope schedule window starts or ends.
    private static DateTimeOffset? NextBoundary(List<PolicyAssignment> inScope, DateTimeOffset now, TimeZoneInfo timeZone)
    {
        var windows = inScope.SelectMany(a => a.Condition?.Schedule ?? []).ToList();
        if (windows.Count == 0)
        {
            return null;
        }

        var today = TimeZoneInfo.ConvertTime(now, timeZone).Date;
        DateTimeOffset? next = null;
        for (var day = -1; day <= 8; day++)
        {
            var date = today.AddDays(day);
            foreach (var window in windows.Where(w => w.Days.Contains(date.DayOfWeek)))
            {
                var start = date + window.Start.ToTimeSpan();
                var end = (window.End > window.Start ? date : date.AddDays(1)) + window.End.ToTimeSpan();
                foreach (var moment in new[] { start, end })
                {
                    var utc = ToUtc(moment, timeZone);
                    if (utc > now && (next is null || utc < next))
                    {
                        next = utc;
                    }
                }
            }
        }

        return next;
    }

    // Local wall-clock time to UTC; a time skipped by a daylight-saving jump is taken as the moment after the jump.
    private static DateTimeOffset ToUtc(DateTime local, TimeZoneInfo timeZone)
    {
        var unspecified = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (timeZone.IsInvalidTime(unspecified))
        {
            unspecified = unspecified.AddMinutes(15);
        }

        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(unspecified, timeZone), TimeSpan.Zero);
    }
}
