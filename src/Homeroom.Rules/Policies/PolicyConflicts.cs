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
}
