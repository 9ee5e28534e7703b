using System.Text.Json.Nodes;

namespace Homeroom.Rules.Policies;

/// <summary>
/// Finds assignments whose order would otherwise be arbitrary: the same scope, the same priority,
/// both with or both without a condition, and profiles that give one setting different values.
/// Such a pair is refused when it is made; the admin gives one of them a higher priority.
/// </summary>
public static class PolicyConflicts
{
    /// <summary>Every conflicting pair, as a message naming the setting and both profiles.</summary>
    public static IReadOnlyList<string> Find(IReadOnlyList<PolicyAssignment> assignments, IReadOnlyDictionary<Guid, PolicyProfile> profiles)
    {
        var messages = new List<string>();
        var groups = assignments
            .Where(a => profiles.ContainsKey(a.ProfileId))
            .GroupBy(a => (a.Level, a.ScopeKey, a.Priority, Conditional: a.Condition is { IsEmpty: false }));
        foreach (var group in groups)
        {
            var list = group.OrderBy(a => a.Id).ToList();
            for (var i = 0; i < list.Count; i++)
            {
                for (var j = i + 1; j < list.Count; j++)
                {
                    var left = profiles[list[i].ProfileId];
                    var right = profiles[list[j].ProfileId];
                    if (left.Id == right.Id)
                    {
                        messages.Add($"Profile '{left.Name}' is assigned twice to the same scope at priority {group.Key.Priority}.");
                        continue;
                    }

                    foreach (var (key, value) in left.Settings)
                    {
                        if (right.Settings.TryGetValue(key, out var other) && !System.Text.Json.Nodes.JsonNode.DeepEquals(value, other))
                        {
                            messages.Add($"Profiles '{left.Name}' and '{right.Name}' both set '{key}' differently at the same scope and priority {group.Key.Priority}; give one a higher priority.");
                            break;
                        }
                    }
                }
            }
        }

        return messages;
    }

    /// <summary>
    /// What an assignment would meet if it were saved, for the editor to show before saving (see
    /// <see cref="FindingKind"/>). <paramref name="reached"/> are the devices it reaches (conditions aside).
    /// The candidate's id must differ from the others' (a new one, or the edited assignment's own).
    /// </summary>
    public static IReadOnlyList<AssignmentFinding> Review(
        PolicyAssignment candidate, IReadOnlyList<PolicyAssignment> others, IReadOnlyDictionary<Guid, PolicyProfile> profiles, IReadOnlyList<DeviceScope> reached)
    {
        var findings = new List<AssignmentFinding>();
        if (!profiles.TryGetValue(candidate.ProfileId, out var mine))
        {
            return findings;
        }

        var conditional = candidate.Condition is { IsEmpty: false };
        foreach (var other in others.Where(o => o.Id != candidate.Id && profiles.ContainsKey(o.ProfileId)).OrderByDescending(o => o.Level).ThenBy(o => o.Id))
        {
            var theirs = profiles[other.ProfileId];
            var shared = mine.Settings.Keys.Where(theirs.Settings.ContainsKey).Order(StringComparer.Ordinal).ToList();
            if (other.Level == candidate.Level && other.ScopeKey == candidate.ScopeKey)
            {
                var otherConditional = other.Condition is { IsEmpty: false };
                if (other.Priority == candidate.Priority && otherConditional == conditional)
                {
                    if (theirs.Id == mine.Id)
                    {
                        findings.Add(new(FindingKind.Refused, null, other.Id, theirs.Name, reached.Count,
                            $"Profile '{mine.Name}' is already assigned to this target at priority {other.Priority}."));
                        continue;
                    }

                    foreach (var key in shared.Where(k => !JsonNode.DeepEquals(mine.Settings[k], theirs.Settings[k])))
                    {
                        findings.Add(new(FindingKind.Refused, key, other.Id, theirs.Name, reached.Count,
                            $"'{theirs.Name}' is assigned to the same target at the same priority {other.Priority} and sets '{key}' differently; give one a higher priority."));
                    }

                    continue;
                }

                var otherWins = Outranks(other, candidate);
                foreach (var key in shared)
                {
                    if (otherWins)
                    {
                        findings.Add(new(FindingKind.OverriddenBy, key, other.Id, theirs.Name, reached.Count, otherConditional
                            ? $"'{key}' is overridden by '{theirs.Name}' (same target, {Rank(other)}) while its condition holds."
                            : $"'{key}' is overridden by '{theirs.Name}' (same target, {Rank(other)}): this setting never takes effect here."));
                    }
                    else if (!JsonNode.DeepEquals(mine.Settings[key], theirs.Settings[key]))
                    {
                        findings.Add(new(FindingKind.Overrides, key, other.Id, theirs.Name, reached.Count, conditional
                            ? $"'{key}' overrides '{theirs.Name}' (same target, {Rank(other)}) while this assignment's condition holds."
                            : $"'{key}' overrides '{theirs.Name}' (same target, {Rank(other)})."));
                    }
                }

                continue;
            }

            if (other.Level > candidate.Level && shared.Count > 0)
            {
                var devices = reached.Count(d => PolicyResolver.Reaches(other, d));
                if (devices > 0)
                {
                    foreach (var key in shared)
                    {
                        findings.Add(new(FindingKind.OverriddenOnSomeDevices, key, other.Id, theirs.Name, devices,
                            $"'{key}' is overridden on {devices} of {reached.Count} device(s) by '{theirs.Name}', assigned at the more specific {other.Level.ToString().ToLowerInvariant()} level{(other.Condition is { IsEmpty: false } ? " (while its condition holds)" : "")}."));
                    }
                }
            }
        }

        return findings;
    }

    /// <summary>Whether <paramref name="a"/> wins over <paramref name="b"/> where both apply, as <see cref="PolicyResolver"/> orders them.</summary>
    public static bool Outranks(PolicyAssignment a, PolicyAssignment b)
    {
        if (a.Level != b.Level)
        {
            return a.Level > b.Level;
        }

        bool ac = a.Condition is { IsEmpty: false }, bc = b.Condition is { IsEmpty: false };
        if (ac != bc)
        {
            return ac;
        }

        return a.Priority != b.Priority ? a.Priority > b.Priority : a.Id.CompareTo(b.Id) < 0;
    }

    private static string Rank(PolicyAssignment a) =>
        $"priority {a.Priority}{(a.Condition is { IsEmpty: false } ? ", with a condition" : "")}";
}

/// <summary>What an assignment meets among the others, before it is saved.</summary>
public enum FindingKind
{
    /// <summary>Same target, same priority, both with or both without a condition, and a setting set differently: saving is refused.</summary>
    Refused,

    /// <summary>An assignment on the same target outranks this one and sets the same setting: this one's value loses there.</summary>
    OverriddenBy,

    /// <summary>This assignment outranks one on the same target that sets the same setting differently.</summary>
    Overrides,

    /// <summary>An assignment at a more specific level (group, device, ...) sets the same setting on some of the devices reached.</summary>
    OverriddenOnSomeDevices,
}

/// <summary>One finding about a setting of the assignment under review.</summary>
/// <param name="Kind">What kind.</param>
/// <param name="Setting">The setting; null when the whole assignment is concerned.</param>
/// <param name="OtherAssignmentId">The other assignment.</param>
/// <param name="OtherProfileName">Its profile.</param>
/// <param name="Devices">How many of the reached devices it concerns.</param>
/// <param name="Message">The sentence the editor shows.</param>
public sealed record AssignmentFinding(FindingKind Kind, string? Setting, Guid OtherAssignmentId, string OtherProfileName, int Devices, string Message);
