using System.Text.Json;
using System.Text.Json.Nodes;
using Homeroom.Rules.Policies;

namespace Homeroom.Rules.Tests.Policies;

public sealed class PolicyResolverTests
{
    private static readonly TimeZoneInfo Pacific = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");
    private static readonly Guid School = Guid.Parse("00000000-0000-0000-0000-00000000000a");
    private static readonly Guid OtherSchool = Guid.Parse("00000000-0000-0000-0000-00000000000b");
    private static readonly Guid Class = Guid.Parse("00000000-0000-0000-0000-0000000000c1");
    private static readonly Guid Device = Guid.Parse("00000000-0000-0000-0000-0000000000d1");
    private static readonly Guid Campus = Guid.Parse("00000000-0000-0000-0000-0000000000e1");
    private static readonly Guid Home = Guid.Parse("00000000-0000-0000-0000-0000000000e2");

    private static readonly ScheduleWindow SchoolHours = new([DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday], new(8, 0), new(15, 0));
    private static readonly ScheduleWindow Curfew = new(Enum.GetValues<DayOfWeek>(), new(22, 0), new(6, 0));

    private readonly Dictionary<Guid, PolicyProfile> _profiles = [];
    private readonly List<PolicyAssignment> _assignments = [];
    private int _next = 1;

    private Guid Profile(string name, string json)
    {
        var (settings, errors) = PolicySettings.Parse(JsonDocument.Parse(json).RootElement);
        errors.ShouldBeEmpty();
        var id = Guid.NewGuid();
        _profiles[id] = new PolicyProfile(id, name, settings);
        return id;
    }

    private Guid Assign(Guid profile, ScopeLevel level, string? key = null, int priority = 0, AssignmentCondition? condition = null)
    {
        var id = Guid.Parse($"00000000-0000-0000-0001-{_next++:D12}");
        _assignments.Add(new PolicyAssignment(id, profile, level, key, priority, condition));
        return id;
    }

    private static DeviceScope Student(int grade = 7, Guid[]? groups = null, Guid[]? zones = null) =>
        new(Device, School, grade, groups ?? [Class], zones ?? []);

    private EffectivePolicy Resolve(DeviceScope device, string localTime) =>
        PolicyResolver.Resolve(_assignments, _profiles, device, Local(localTime), Pacific);

    private static DateTimeOffset Local(string text)
    {
        var local = DateTime.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        return new DateTimeOffset(local, Pacific.GetUtcOffset(local));
    }

    private static JsonNode Value(EffectivePolicy policy, string key) => policy.Settings[key].Value;

    [Fact]
    public void Resolve_NoAssignments_EveryDefault()
    {
        var policy = Resolve(Student(), "2026-11-23 10:00");

        policy.Settings.Count.ShouldBe(PolicySettings.All.Count);
        policy.Settings.Values.ShouldAllBe(s => s.Source == null);
        Value(policy, "restrictions.camera").GetValue<bool>().ShouldBeTrue();
        policy.ValidUntil.ShouldBeNull();
    }

    [Fact]
    public void Resolve_MoreSpecificLevelWins_PerSetting()
    {
        var district = Profile("District", """{"webFilter":{"blockedCategories":["adult","games"],"safeSearch":true},"restrictions":{"camera":false}}""");
        var school = Profile("Middle school", """{"webFilter":{"blockedCategories":["adult"]}}""");
        var grade = Profile("Grade 7", """{"restrictions":{"camera":true}}""");
        var group = Profile("Science class", """{"webFilter":{"allowedSites":["phet.colorado.edu"]}}""");
        var device = Profile("This device", """{"device":{"lockMessage":"Ask Ms Rivera"}}""");
        Assign(district, ScopeLevel.District);
        Assign(school, ScopeLevel.School, School.ToString());
        Assign(grade, ScopeLevel.Grade, "7");
        Assign(group, ScopeLevel.Group, Class.ToString());
        Assign(device, ScopeLevel.Device, Device.ToString());

        var policy = Resolve(Student(), "2026-11-23 10:00");

        Value(policy, "webFilter.blockedCategories").AsArray().Select(n => n!.GetValue<string>()).ShouldBe(["adult"]);
        policy.Settings["webFilter.blockedCategories"].Source!.ProfileName.ShouldBe("Middle school");
        policy.Settings["webFilter.blockedCategories"].Overridden.Single().ProfileName.ShouldBe("District");
        Value(policy, "webFilter.safeSearch").GetValue<bool>().ShouldBeTrue();
        Value(policy, "restrictions.camera").GetValue<bool>().ShouldBeTrue();
        policy.Settings["restrictions.camera"].Source!.Level.ShouldBe(ScopeLevel.Grade);
        policy.Settings["webFilter.allowedSites"].Source!.Level.ShouldBe(ScopeLevel.Group);
        policy.Settings["device.lockMessage"].Source!.Level.ShouldBe(ScopeLevel.Device);
    }

    [Fact]
    public void Resolve_AssignmentsOfOtherScopes_DoNotReach()
    {
        var other = Profile("Other school", """{"restrictions":{"camera":false}}""");
        Assign(other, ScopeLevel.School, OtherSchool.ToString());
        Assign(other, ScopeLevel.Grade, "8");
        Assign(other, ScopeLevel.Group, Guid.NewGuid().ToString());
        Assign(other, ScopeLevel.Device, Guid.NewGuid().ToString());

        Value(Resolve(Student(), "2026-11-23 10:00"), "restrictions.camera").GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public void Resolve_SameLevel_ConditionalThenPriorityThenId()
    {
        var a = Profile("A", """{"device":{"lockMessage":"A"}}""");
        var b = Profile("B", """{"device":{"lockMessage":"B"}}""");
        var c = Profile("C", """{"device":{"lockMessage":"C"}}""");
        Assign(a, ScopeLevel.District, priority: 5);
        Assign(b, ScopeLevel.District, priority: 1, condition: new AssignmentCondition([SchoolHours], null, null));
        Assign(c, ScopeLevel.District, priority: 9);

        Value(Resolve(Student(), "2026-11-23 10:00"), "device.lockMessage").GetValue<string>().ShouldBe("B");
        Value(Resolve(Student(), "2026-11-23 18:00"), "device.lockMessage").GetValue<string>().ShouldBe("C");
    }

    [Fact]
    public void Resolve_OrderOfRows_DoesNotMatter()
    {
        var a = Profile("A", """{"device":{"lockMessage":"A"}}""");
        var b = Profile("B", """{"device":{"lockMessage":"B"}}""");
        var groupA = Guid.NewGuid();
        var groupB = Guid.NewGuid();
        Assign(a, ScopeLevel.Group, groupA.ToString());
        Assign(b, ScopeLevel.Group, groupB.ToString());
        var device = Student(groups: [groupA, groupB]);

        var forward = Resolve(device, "2026-11-23 10:00");
        _assignments.Reverse();
        var backward = Resolve(device, "2026-11-23 10:00");

        backward.Hash().ShouldBe(forward.Hash());
        Value(forward, "device.lockMessage").GetValue<string>().ShouldBe("A");
    }

    [Theory]
    [InlineData("2026-11-23 21:59", false)] // Monday evening
    [InlineData("2026-11-23 22:00", true)]
    [InlineData("2026-11-24 03:00", true)] // past midnight, started Monday
    [InlineData("2026-11-24 05:59", true)]
    [InlineData("2026-11-24 06:00", false)]
    [InlineData("2026-11-24 12:00", false)]
    public void Resolve_CurfewAcrossMidnight(string localTime, bool locked)
    {
        Assign(Profile("Curfew", """{"device":{"locked":true,"lockMessage":"Time to sleep"}}"""), ScopeLevel.District, condition: new AssignmentCondition([Curfew], null, null));

        Value(Resolve(Student(), localTime), "device.locked").GetValue<bool>().ShouldBe(locked);
    }

    [Fact]
    public void Resolve_WeekdayWindowPastMidnight_RunsIntoSaturdayButDoesNotStartThere()
    {
        var fridayNight = new ScheduleWindow([DayOfWeek.Friday], new(23, 0), new(1, 0));
        Assign(Profile("Late", """{"device":{"locked":true}}"""), ScopeLevel.District, condition: new AssignmentCondition([fridayNight], null, null));

        Value(Resolve(Student(), "2026-11-28 00:30"), "device.locked").GetValue<bool>().ShouldBeTrue(); // Saturday 00:30
        Value(Resolve(Student(), "2026-11-28 23:30"), "device.locked").GetValue<bool>().ShouldBeFalse(); // Saturday 23:30
    }

    [Fact]
    public void Resolve_ScheduleReadInTheSchoolTimeZone()
    {
        Assign(Profile("School hours", """{"restrictions":{"camera":false}}"""), ScopeLevel.District, condition: new AssignmentCondition([SchoolHours], null, null));
        var utcMorning = new DateTimeOffset(2026, 11, 23, 17, 0, 0, TimeSpan.Zero); // 09:00 in Los Angeles

        PolicyResolver.Resolve(_assignments, _profiles, Student(), utcMorning, Pacific).Values["restrictions.camera"].GetValue<bool>().ShouldBeFalse();
        PolicyResolver.Resolve(_assignments, _profiles, Student(), utcMorning, TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo")).Values["restrictions.camera"].GetValue<bool>().ShouldBeTrue(); // 02:00 Tuesday in Tokyo
    }

    [Fact]
    public void Resolve_ValidUntil_IsTheNextScheduleBoundary_AcrossDaylightSaving()
    {
        Assign(Profile("School hours", """{"restrictions":{"camera":false}}"""), ScopeLevel.District, condition: new AssignmentCondition([SchoolHours], null, null));

        Resolve(Student(), "2026-11-23 10:00").ValidUntil.ShouldBe(Local("2026-11-23 15:00"));
        Resolve(Student(), "2026-11-23 16:00").ValidUntil.ShouldBe(Local("2026-11-24 08:00"));
        Resolve(Student(), "2026-11-27 16:00").ValidUntil.ShouldBe(Local("2026-11-30 08:00")); // Friday to Monday
        // Clocks go back on 2026-11-01 in Los Angeles: Friday 16:00 PDT to Monday 08:00 PST.
        var before = Resolve(Student(), "2026-10-30 16:00").ValidUntil!.Value;
        before.UtcDateTime.ShouldBe(new DateTime(2026, 11, 2, 16, 0, 0, DateTimeKind.Utc));
    }

    [Fact]
    public void Resolve_Zones_OnCampusRulesAndHomeRules()
    {
        var onCampus = Profile("On campus", """{"webFilter":{"blockedCategories":["games","social_networks"]}}""");
        var offCampus = Profile("Off campus", """{"webFilter":{"blockedCategories":["adult"]}}""");
        Assign(onCampus, ScopeLevel.School, School.ToString(), condition: new AssignmentCondition([SchoolHours], [Campus], null));
        Assign(offCampus, ScopeLevel.School, School.ToString(), condition: new AssignmentCondition(null, null, [Campus]));

        string[] Blocked(EffectivePolicy p) => p.Values["webFilter.blockedCategories"].AsArray().Select(n => n!.GetValue<string>()).ToArray();

        Blocked(Resolve(Student(zones: [Campus]), "2026-11-23 10:00")).ShouldBe(["games", "social_networks"]);
        Blocked(Resolve(Student(zones: [Home]), "2026-11-23 10:00")).ShouldBe(["adult"]);
        Blocked(Resolve(Student(zones: []), "2026-11-23 10:00")).ShouldBe(["adult"]);
        Blocked(Resolve(Student(zones: [Campus]), "2026-11-23 18:00")).ShouldBeEmpty(); // on campus after hours: neither
    }

    [Fact]
    public void Resolve_ProfileMissing_IsIgnored()
    {
        _assignments.Add(new PolicyAssignment(Guid.NewGuid(), Guid.NewGuid(), ScopeLevel.District, null, 0, null));

        Resolve(Student(), "2026-11-23 10:00").Settings.Values.ShouldAllBe(s => s.Source == null);
    }

    [Fact]
    public void Hash_ChangesWithValuesOnly()
    {
        var p = Profile("P", """{"restrictions":{"camera":false}}""");
        var before = Resolve(Student(), "2026-11-23 10:00").Hash();
        Assign(p, ScopeLevel.District);
        var after = Resolve(Student(), "2026-11-23 10:00").Hash();
        var again = Resolve(Student(), "2026-11-23 11:00").Hash();

        after.ShouldNotBe(before);
        again.ShouldBe(after);
    }

    [Fact]
    public void Conflicts_SameScopeSamePriorityDifferentValues_AreFound()
    {
        var a = Profile("A", """{"restrictions":{"camera":false}}""");
        var b = Profile("B", """{"restrictions":{"camera":true}}""");
        var same = Profile("Same", """{"restrictions":{"camera":false}}""");
        Assign(a, ScopeLevel.School, School.ToString());
        Assign(same, ScopeLevel.School, School.ToString());
        PolicyConflicts.Find(_assignments, _profiles).ShouldBeEmpty();

        Assign(b, ScopeLevel.School, School.ToString());
        PolicyConflicts.Find(_assignments, _profiles).Count.ShouldBe(2);

        _assignments[^1] = _assignments[^1] with { Priority = 1 };
        PolicyConflicts.Find(_assignments, _profiles).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("""[]""", "must be a JSON object")]
    [InlineData("""{"webFilter":[]}""", "must be an object")]
    [InlineData("""{"webFilter":{"nope":true}}""", "'webFilter.nope' is not a known setting")]
    [InlineData("""{"webFilter":{"allowOnly":"yes"}}""", "true or false")]
    [InlineData("""{"webFilter":{"youTube":"maybe"}}""", "one of off, moderate, strict")]
    [InlineData("""{"webFilter":{"blockedSites":[1]}}""", "item 0")]
    [InlineData("""{"webFilter":{"blockedSites":["exa mple.com"]}}""", "blockedSites[0]")]
    [InlineData("""{"apps":{"required":["ios:361309726"]}}""", "'apps.required' is no longer a profile setting: add the app to the catalog")]
    public void Parse_BadSettings_NameTheSetting(string json, string message)
    {
        var (_, errors) = PolicySettings.Parse(JsonDocument.Parse(json).RootElement);

        errors.ShouldContain(e => e.Contains(message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""[]""", null)]
    [InlineData("""{"webFilter":[]}""", "webFilter")]
    [InlineData("""{"restrictions":{"camera":"no"}}""", "restrictions.camera")]
    [InlineData("""{"webFilter":{"allowedSites":["ok.test","exa mple.com"]}}""", "webFilter.allowedSites")]
    [InlineData("""{"webFilter":{"blockedCategories":["Not A Category!"]}}""", "webFilter.blockedCategories")]
    [InlineData("""{"apps":{"allowed":["ios:123456"]}}""", "apps.allowed")]
    public void ParseBySetting_BadSettings_AreKeyedByTheSetting(string json, string? key)
    {
        var (_, errors) = PolicySettings.ParseBySetting(JsonDocument.Parse(json).RootElement);

        errors.Select(e => e.Key).ShouldBe([key]);
    }

    [Fact]
    public void Parse_ThenToDocument_RoundTrips()
    {
        const string json = """{"device":{"lockMessage":"Back at 3"},"webFilter":{"allowOnly":true,"allowedSites":["classroom.example.org"]}}""";

        var (settings, errors) = PolicySettings.Parse(JsonDocument.Parse(json).RootElement);

        errors.ShouldBeEmpty();
        PolicySettings.ToDocument(settings).ToJsonString().ShouldBe(json);
    }
}

public sealed class PolicyDocumentTests
{
    [Fact]
    public void Read_ResolvedDocument_GivesTheEnforcedValues()
    {
        var (settings, _) = PolicySettings.Parse(JsonDocument.Parse("""{"webFilter":{"blockedCategories":["games"],"allowedSites":["docs.test"],"allowOnly":true},"device":{"locked":true}}""").RootElement);
        var document = PolicySettings.ToDocument(settings);
        document["filter"] = new JsonObject { ["listVersion"] = "abc" };

        var read = PolicyDocument.Read(JsonDocument.Parse(document.ToJsonString()).RootElement);

        read.WebFilter.BlockedCategories.ShouldBe(["games"]);
        read.WebFilter.AllowedSites.ShouldBe(["docs.test"]);
        read.WebFilter.AllowOnly.ShouldBeTrue();
        read.Boolean("device", "locked").ShouldBeTrue();
        read.Boolean("monitoring", "location").ShouldBeTrue(); // default
        read.Text("device", "lockMessage").ShouldBe("This device is locked.");
        read.ListVersion.ShouldBe("abc");
        read.ListCategories.ShouldBe(["games"]);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("""{"webFilter":5}""")]
    [InlineData("""{"webFilter":{"blockedCategories":"games","allowOnly":"yes"}}""")]
    public void Read_Malformed_FallsBackToDefaults(string json)
    {
        var read = PolicyDocument.Read(JsonDocument.Parse(json).RootElement);

        read.WebFilter.BlockedCategories.ShouldBeEmpty();
        read.WebFilter.AllowOnly.ShouldBeFalse();
        read.ListVersion.ShouldBeNull();
    }
}
