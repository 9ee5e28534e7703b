using System.Globalization;
using Homeroom.Rules.Apps;
using Homeroom.Rules.Policies;

namespace Homeroom.Rules.Tests.Apps;

/// <summary>
/// <see cref="AppAssignmentIndex"/> (indexed by target) against a slow, obviously right reference on
/// many random districts: for every app, the reference scans every assignment, keeps those whose scope
/// reaches the device, and picks the one no other beats in a pairwise comparison; the losers follow
/// in the same pairwise order.
/// </summary>
public sealed class AppResolverDifferentialTests
{
    private static readonly Guid[] Schools = [.. Enumerable.Range(1, 3).Select(i => Guid.Parse($"00000000-0000-0000-0000-0000000000a{i}"))];
    private static readonly Guid[] Groups = [.. Enumerable.Range(1, 5).Select(i => Guid.Parse($"00000000-0000-0000-0000-0000000000b{i}"))];
    private static readonly Guid[] Devices = [.. Enumerable.Range(1, 4).Select(i => Guid.Parse($"00000000-0000-0000-0000-0000000000c{i}"))];
    private static readonly Guid[] Apps = [.. Enumerable.Range(1, 6).Select(i => Guid.Parse($"00000000-0000-0000-0000-0000000000e{i}"))];

    [Fact]
    public void Resolve_RandomDistricts_MatchesTheReference_WithProvenance()
    {
        var random = new Random(1616);
        var decided = 0;
        var withOverrides = 0;
        for (var round = 0; round < 2000; round++)
        {
            var assignments = District(random);
            var index = new AppAssignmentIndex(assignments);
            for (var d = 0; d < 5; d++)
            {
                var device = Device(random);
                var fast = index.Resolve(device);
                var slow = Reference(assignments, device);
                fast.Keys.OrderBy(k => k).ShouldBe(slow.Keys.OrderBy(k => k), $"round {round}: which apps reach the device");
                foreach (var (app, expected) in slow)
                {
                    var actual = fast[app];
                    actual.Intent.ShouldBe(expected.Intent, $"round {round} app {app}");
                    actual.Source.ShouldBe(expected.Source, $"round {round} app {app}");
                    actual.Overridden.ShouldBe(expected.Overridden, $"round {round} app {app}");
                    decided++;
                    withOverrides += actual.Overridden.Count > 0 ? 1 : 0;
                }
            }
        }

        // The random districts must exercise the interesting cases, or the comparison proves little.
        decided.ShouldBeGreaterThan(10_000);
        withOverrides.ShouldBeGreaterThan(3_000);
    }

    [Fact]
    public void Resolve_MoreSpecificLevelWins_EvenWhenLessStrict()
    {
        var app = Apps[0];
        var device = new DeviceScope(Devices[0], Schools[0], 5, [Groups[0]], []);
        var blockedAtSchool = new AppAssignment(Guid.Parse("00000000-0000-0000-0000-000000000001"), app, AppIntent.Blocked, ScopeLevel.School, Schools[0].ToString());
        var requiredForClass = new AppAssignment(Guid.Parse("00000000-0000-0000-0000-000000000002"), app, AppIntent.Required, ScopeLevel.Group, Groups[0].ToString());

        var effective = new AppAssignmentIndex([blockedAtSchool, requiredForClass]).Resolve(device)[app];

        effective.Intent.ShouldBe(AppIntent.Required);
        effective.Source.AssignmentId.ShouldBe(requiredForClass.Id);
        effective.Overridden.Single().AssignmentId.ShouldBe(blockedAtSchool.Id);
    }

    [Fact]
    public void Resolve_SameLevel_StricterIntentWins()
    {
        var app = Apps[0];
        var device = new DeviceScope(Devices[0], Schools[0], null, [Groups[0], Groups[1]], []);
        var required = new AppAssignment(Guid.Parse("00000000-0000-0000-0000-000000000001"), app, AppIntent.Required, ScopeLevel.Group, Groups[0].ToString());
        var blocked = new AppAssignment(Guid.Parse("00000000-0000-0000-0000-000000000002"), app, AppIntent.Blocked, ScopeLevel.Group, Groups[1].ToString());

        new AppAssignmentIndex([required, blocked]).Resolve(device)[app].Intent.ShouldBe(AppIntent.Blocked);
    }

    [Fact]
    public void Resolve_AnotherSchoolsAssignment_DoesNotReach()
    {
        var device = new DeviceScope(Devices[0], Schools[0], 3, [], []);
        var elsewhere = new AppAssignment(Guid.NewGuid(), Apps[0], AppIntent.Required, ScopeLevel.School, Schools[1].ToString());
        var otherGrade = new AppAssignment(Guid.NewGuid(), Apps[1], AppIntent.Required, ScopeLevel.Grade, "4");

        new AppAssignmentIndex([elsewhere, otherGrade]).Resolve(device).ShouldBeEmpty();
    }

    private static Dictionary<Guid, EffectiveApp> Reference(List<AppAssignment> assignments, DeviceScope device)
    {
        var result = new Dictionary<Guid, EffectiveApp>();
        foreach (var app in Apps)
        {
            var reaching = assignments.Where(a => a.AppId == app && ReachesByHand(a, device)).ToList();
            if (reaching.Count == 0)
            {
                continue;
            }

            // Selection by pairwise dominance: repeatedly take the assignment that every remaining one loses to.
            var ordered = new List<AppAssignment>();
            while (reaching.Count > 0)
            {
                var best = reaching.Single(a => reaching.All(b => ReferenceEquals(a, b) || BeatsByHand(a, b)));
                ordered.Add(best);
                reaching.Remove(best);
            }

            result[app] = new EffectiveApp(app, ordered[0].Intent, Source(ordered[0]), [.. ordered.Skip(1).Select(Source)]);
        }

        return result;
    }

    private static readonly ScopeLevel[] Specificity = [ScopeLevel.District, ScopeLevel.School, ScopeLevel.Grade, ScopeLevel.Group, ScopeLevel.Device];
    private static readonly AppIntent[] Strictness = [AppIntent.Available, AppIntent.Required, AppIntent.Disabled, AppIntent.Blocked];

    private static bool BeatsByHand(AppAssignment a, AppAssignment b)
    {
        var (levelA, levelB) = (Array.IndexOf(Specificity, a.Level), Array.IndexOf(Specificity, b.Level));
        if (levelA != levelB)
        {
            return levelA > levelB;
        }

        var (strictA, strictB) = (Array.IndexOf(Strictness, a.Intent), Array.IndexOf(Strictness, b.Intent));
        if (strictA != strictB)
        {
            return strictA > strictB;
        }

        return string.CompareOrdinal(a.Id.ToString("N"), b.Id.ToString("N")) < 0;
    }

    private static bool ReachesByHand(AppAssignment a, DeviceScope device) => a.Level switch
    {
        ScopeLevel.District => true,
        ScopeLevel.School => device.SchoolId?.ToString() == a.ScopeKey,
        ScopeLevel.Grade => device.GradeLevel?.ToString(CultureInfo.InvariantCulture) == a.ScopeKey,
        ScopeLevel.Group => device.GroupIds.Any(g => g.ToString() == a.ScopeKey),
        ScopeLevel.Device => device.DeviceId.ToString() == a.ScopeKey,
        _ => false,
    };

    private static AppSource Source(AppAssignment a) => new(a.Id, a.Intent, a.Level, a.ScopeKey);

    private static List<AppAssignment> District(Random random)
    {
        var count = random.Next(0, 25);
        var list = new List<AppAssignment>();
        for (var i = 0; i < count; i++)
        {
            var level = (ScopeLevel)random.Next(5);
            string? key = level switch
            {
                ScopeLevel.District => null,
                ScopeLevel.School => Schools[random.Next(Schools.Length)].ToString(),
                ScopeLevel.Grade => random.Next(-1, 4).ToString(CultureInfo.InvariantCulture),
                ScopeLevel.Group => Groups[random.Next(Groups.Length)].ToString(),
                _ => Devices[random.Next(Devices.Length)].ToString(),
            };
            list.Add(new AppAssignment(RandomId(random), Apps[random.Next(Apps.Length)], (AppIntent)random.Next(4), level, key));
        }

        return list;
    }

    private static DeviceScope Device(Random random) => new(
        Devices[random.Next(Devices.Length)],
        random.Next(5) == 0 ? null : Schools[random.Next(Schools.Length)],
        random.Next(4) == 0 ? null : random.Next(-1, 4),
        [.. Groups.Where(_ => random.Next(3) == 0)],
        []);

    private static Guid RandomId(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes);
    }
}
