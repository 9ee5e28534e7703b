using System.Globalization;
using System.Text.Json.Nodes;
using Homeroom.Rules.Policies;

namespace Homeroom.Rules.Tests.Policies;

/// <summary>
/// <see cref="PolicyResolver"/> against a slow, obviously right reference on many random districts:
/// every setting's value, the assignment and profile it came from, and the assignments it overrode
/// (in order), and <see cref="PolicyConflicts.Review"/> against the same reference.
/// </summary>
public sealed class PolicyResolverDifferentialTests
{
    private static readonly TimeZoneInfo Zone = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
    private static readonly Guid[] Schools = [Guid.Parse("00000000-0000-0000-0000-0000000000a1"), Guid.Parse("00000000-0000-0000-0000-0000000000a2")];
    private static readonly Guid[] Groups = [.. Enumerable.Range(1, 4).Select(i => Guid.Parse($"00000000-0000-0000-0000-0000000000b{i}"))];
    private static readonly Guid[] Devices = [.. Enumerable.Range(1, 3).Select(i => Guid.Parse($"00000000-0000-0000-0000-0000000000c{i}"))];
    private static readonly Guid[] Zones = [Guid.Parse("00000000-0000-0000-0000-0000000000d1"), Guid.Parse("00000000-0000-0000-0000-0000000000d2")];

    // A few settings of each kind, each with a few values, so profiles often collide.
    private static readonly (string Key, Func<Random, JsonNode> Value)[] Settings =
    [
        ("restrictions.camera", r => JsonValue.Create(r.Next(2) == 0)),
        ("device.locked", r => JsonValue.Create(r.Next(2) == 0)),
        ("webFilter.youTube", r => JsonValue.Create(new[] { "off", "moderate", "strict" }[r.Next(3)])),
        ("device.lockMessage", r => JsonValue.Create($"message {r.Next(3)}")),
        ("webFilter.blockedCategories", r => new JsonArray([.. new[] { "games", "adult", "social" }.Where(_ => r.Next(2) == 0).Select(c => (JsonNode)JsonValue.Create(c))])),
    ];

    [Fact]
    public void Resolve_RandomDistricts_MatchesTheReference_WithProvenance()
    {
        var random = new Random(1307);
        var checkedSettings = 0;
        var withOverrides = 0;
        for (var round = 0; round < 400; round++)
        {
            var (assignments, profiles) = District(random);
            var device = Device(random);
            var now = new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero).AddMinutes(random.Next(7 * 24 * 60));

            var fast = PolicyResolver.Resolve(assignments, profiles, device, now, Zone);
            var slow = ReferenceResolve(assignments, profiles, device, now);

            fast.Settings.Count.ShouldBe(PolicySettings.All.Count);
            foreach (var (key, expected) in slow)
            {
                var actual = fast.Settings[key];
                JsonNode.DeepEquals(actual.Value, expected.Value).ShouldBeTrue($"round {round}, {key}: {actual.Value.ToJsonString()} vs {expected.Value.ToJsonString()}");
                if (expected.Winner is null)
                {
                    actual.Source.ShouldBeNull($"round {round}, {key}");
                }
                else
                {
                    actual.Source.ShouldNotBeNull();
                    actual.Source.AssignmentId.ShouldBe(expected.Winner.Id, $"round {round}, {key}");
                    actual.Source.ProfileId.ShouldBe(expected.Winner.ProfileId);
                    actual.Source.ProfileName.ShouldBe(profiles[expected.Winner.ProfileId].Name);
                    actual.Source.Level.ShouldBe(expected.Winner.Level);
                    actual.Source.Conditional.ShouldBe(expected.Winner.Condition is { IsEmpty: false });
                }

                actual.Overridden.Select(o => o.AssignmentId).ShouldBe(expected.Losers.Select(l => l.Id), $"round {round}, {key}");
                checkedSettings++;
                withOverrides += expected.Losers.Count > 0 ? 1 : 0;
            }
        }

        // The random districts must exercise what the test is about.
        checkedSettings.ShouldBeGreaterThan(1500);
        withOverrides.ShouldBeGreaterThan(100);
    }

    [Fact]
    public void Review_RandomDistricts_RefusesExactlyWhatFindRefuses_AndNamesTheWinners()
    {
        var random = new Random(2203);
        var refusals = 0;
        var overridden = 0;
        for (var round = 0; round < 400; round++)
        {
            var (assignments, profiles) = District(random);
            var candidate = assignments[^1];
            if (!profiles.ContainsKey(candidate.ProfileId))
            {
                continue;
            }

            var others = assignments.Take(assignments.Count - 1).ToList();
            var reached = Enumerable.Range(0, 6).Select(_ => Device(random)).Where(d => PolicyResolver.Reaches(candidate, d)).ToList();

            var findings = PolicyConflicts.Review(candidate, others, profiles, reached);

            // Refused exactly when Find reports a conflict the candidate takes part in.
            var before = PolicyConflicts.Find(others, profiles).Count;
            var after = PolicyConflicts.Find(assignments, profiles).Count;
            findings.Any(f => f.Kind == FindingKind.Refused).ShouldBe(after > before, $"round {round}");
            refusals += after > before ? 1 : 0;

            // Every "overridden by" names an assignment that wins over the candidate on a device both reach.
            foreach (var finding in findings.Where(f => f.Kind is FindingKind.OverriddenBy or FindingKind.OverriddenOnSomeDevices))
            {
                var winner = others.Single(o => o.Id == finding.OtherAssignmentId);
                Beats(winner, candidate).ShouldBeTrue($"round {round}: {finding.Message}");
                profiles[winner.ProfileId].Settings.ContainsKey(finding.Setting!).ShouldBeTrue();
                finding.Devices.ShouldBe(reached.Count(d => PolicyResolver.Reaches(winner, d)));
                overridden++;
            }

            // And every setting of the candidate that such a winner also sets on a reached device is reported.
            foreach (var winner in others.Where(o => Beats(o, candidate) && profiles.ContainsKey(o.ProfileId) && reached.Any(d => PolicyResolver.Reaches(o, d))))
            {
                var sameRank = winner.Level == candidate.Level && winner.Priority == candidate.Priority
                    && (winner.Condition is { IsEmpty: false }) == (candidate.Condition is { IsEmpty: false });
                if (sameRank || (winner.Level == candidate.Level && winner.ScopeKey != candidate.ScopeKey))
                {
                    continue; // a refusal, or another target at the same level (a device in two groups): not this review's concern
                }

                foreach (var key in profiles[candidate.ProfileId].Settings.Keys.Where(profiles[winner.ProfileId].Settings.ContainsKey))
                {
                    findings.ShouldContain(f => f.OtherAssignmentId == winner.Id && f.Setting == key, $"round {round}: {key} from {profiles[winner.ProfileId].Name}");
                }
            }
        }

        refusals.ShouldBeGreaterThan(10);
        overridden.ShouldBeGreaterThan(50);
    }

    private sealed record Expected(JsonNode Value, PolicyAssignment? Winner, IReadOnlyList<PolicyAssignment> Losers);

    // For each setting: the applicable assignments whose profile sets it, the one that beats every other, and the rest by rank.
    private static Dictionary<string, Expected> ReferenceResolve(
        IReadOnlyList<PolicyAssignment> assignments, IReadOnlyDictionary<Guid, PolicyProfile> profiles, DeviceScope device, DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, Zone).DateTime;
        var applicable = assignments.Where(a => profiles.ContainsKey(a.ProfileId) && ReferenceReaches(a, device) && ReferenceHolds(a.Condition, device, local)).ToList();
        var result = new Dictionary<string, Expected>(StringComparer.Ordinal);
        foreach (var (key, definition) in PolicySettings.All)
        {
            var setters = applicable.Where(a => profiles[a.ProfileId].Settings.ContainsKey(key)).ToList();
            var winner = setters.SingleOrDefault(a => setters.All(b => b == a || Beats(a, b)));
            if (setters.Count > 0)
            {
                winner.ShouldNotBeNull("a total order has one winner");
            }

            var losers = setters.Where(a => a != winner).ToList();
            losers.Sort((a, b) => Beats(a, b) ? -1 : Beats(b, a) ? 1 : 0);
            result[key] = new Expected(winner is null ? definition.Default : profiles[winner.ProfileId].Settings[key], winner, losers);
        }

        return result;
    }

    // The precedence as the documentation states it, written out: level, then a condition, then priority, then the lower id.
    private static bool Beats(PolicyAssignment a, PolicyAssignment b)
    {
        if ((int)a.Level != (int)b.Level)
        {
            return (int)a.Level > (int)b.Level;
        }

        var ac = a.Condition is not null && ((a.Condition.Schedule?.Count ?? 0) > 0 || (a.Condition.InsideZones?.Count ?? 0) > 0 || (a.Condition.OutsideZones?.Count ?? 0) > 0);
        var bc = b.Condition is not null && ((b.Condition.Schedule?.Count ?? 0) > 0 || (b.Condition.InsideZones?.Count ?? 0) > 0 || (b.Condition.OutsideZones?.Count ?? 0) > 0);
        if (ac != bc)
        {
            return ac;
        }

        if (a.Priority != b.Priority)
        {
            return a.Priority > b.Priority;
        }

        return string.CompareOrdinal(a.Id.ToString(), b.Id.ToString()) < 0;
    }

    private static bool ReferenceReaches(PolicyAssignment a, DeviceScope device) => a.Level switch
    {
        ScopeLevel.District => true,
        ScopeLevel.School => device.SchoolId?.ToString() == a.ScopeKey,
        ScopeLevel.Grade => device.GradeLevel?.ToString(CultureInfo.InvariantCulture) == a.ScopeKey,
        ScopeLevel.Group => device.GroupIds.Any(g => g.ToString() == a.ScopeKey),
        ScopeLevel.Device => device.DeviceId.ToString() == a.ScopeKey,
        _ => false,
    };

    // Minute by minute: a window covers a moment when the moment is at or after a start on one of its days and before that start's end.
    private static bool ReferenceHolds(AssignmentCondition? condition, DeviceScope device, DateTime local)
    {
        if (condition is null)
        {
            return true;
        }

        if (condition.Schedule is { Count: > 0 } windows && !windows.Any(w => ReferenceCovers(w, local)))
        {
            return false;
        }

        if (condition.InsideZones is { Count: > 0 } inside && !device.InsideZones.Any(inside.Contains))
        {
            return false;
        }

        return condition.OutsideZones is not { Count: > 0 } outside || !device.InsideZones.Any(outside.Contains);
    }

    private static bool ReferenceCovers(ScheduleWindow window, DateTime local)
    {
        for (var daysBack = 0; daysBack <= 1; daysBack++)
        {
            var day = local.Date.AddDays(-daysBack);
            if (!window.Days.Contains(day.DayOfWeek))
            {
                continue;
            }

            var start = day + window.Start.ToTimeSpan();
            var end = (window.End > window.Start ? day : day.AddDays(1)) + window.End.ToTimeSpan();
            if (local >= start && local < end)
            {
                return true;
            }
        }

        return false;
    }

    private static (List<PolicyAssignment> Assignments, Dictionary<Guid, PolicyProfile> Profiles) District(Random random)
    {
        var profiles = new Dictionary<Guid, PolicyProfile>();
        for (var i = 0; i < random.Next(1, 6); i++)
        {
            var settings = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
            foreach (var (key, value) in Settings.Where(_ => random.Next(3) == 0))
            {
                settings[key] = value(random);
            }

            var id = Guid.Parse($"00000000-0000-0000-0002-{i:D12}");
            profiles[id] = new PolicyProfile(id, $"Profile {i}", settings);
        }

        var ids = profiles.Keys.ToList();
        var assignments = new List<PolicyAssignment>();
        for (var i = 0; i < random.Next(1, 12); i++)
        {
            var level = (ScopeLevel)random.Next(5);
            var key = level switch
            {
                ScopeLevel.District => null,
                ScopeLevel.School => Schools[random.Next(Schools.Length)].ToString(),
                ScopeLevel.Grade => random.Next(6, 9).ToString(CultureInfo.InvariantCulture),
                ScopeLevel.Group => Groups[random.Next(Groups.Length)].ToString(),
                _ => Devices[random.Next(Devices.Length)].ToString(),
            };

            // Ids in random order, so "the lower id wins" is not "the first one made wins".
            var id = Guid.Parse($"00000000-0000-0000-0001-{random.Next(1_000_000):D6}{i:D6}");
            var profile = random.Next(12) == 0 ? Guid.NewGuid() : ids[random.Next(ids.Count)]; // now and then a profile that is gone
            assignments.Add(new PolicyAssignment(id, profile, level, key, random.Next(-1, 2), Condition(random)));
        }

        return (assignments, profiles);
    }

    private static AssignmentCondition? Condition(Random random)
    {
        switch (random.Next(5))
        {
            case 0:
                var days = Enum.GetValues<DayOfWeek>().Where(_ => random.Next(2) == 0).ToList();
                var start = new TimeOnly(random.Next(24), random.Next(4) * 15);
                var end = new TimeOnly(random.Next(24), random.Next(4) * 15);
                return new AssignmentCondition([new ScheduleWindow(days.Count == 0 ? [DayOfWeek.Monday] : days, start, end)], null, null);
            case 1:
                return new AssignmentCondition(null, [Zones[random.Next(Zones.Length)]], null);
            case 2:
                return new AssignmentCondition(null, null, [Zones[random.Next(Zones.Length)]]);
            case 3:
                return new AssignmentCondition([], [], []); // names nothing: the same as no condition
            default:
                return null;
        }
    }

    private static DeviceScope Device(Random random) => new(
        Devices[random.Next(Devices.Length)],
        random.Next(5) == 0 ? null : Schools[random.Next(Schools.Length)],
        random.Next(4) == 0 ? null : random.Next(6, 9),
        Groups.Where(_ => random.Next(2) == 0).ToArray(),
        Zones.Where(_ => random.Next(2) == 0).ToArray());
}
