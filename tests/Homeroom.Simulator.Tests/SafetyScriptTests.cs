using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Safety;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Simulator.Tests;

public sealed class SafetyScriptTests
{
    private static readonly GeoPoint Campus = new(41.8781, -87.6298);

    private static List<(DeviceSpec Device, IReadOnlyList<ScriptedSignal> Signals)> Scripts(int devices, int seed) =>
        [.. FleetProfile.Create(devices, seed, Campus).Select(d => (d, SafetyScript.For(seed, d)))];

    [Fact]
    public void For_SameSeed_GivesTheSameStudentsPhrasesAndTimes()
    {
        var first = Scripts(1000, 7).SelectMany(s => s.Signals).ToList();
        var second = Scripts(1000, 7).SelectMany(s => s.Signals).ToList();

        first.ShouldNotBeEmpty();
        second.ShouldBe(first);
    }

    [Fact]
    public void For_OtherSeed_PicksOtherStudents()
    {
        var one = Scripts(1000, 7).Where(s => s.Signals.Count > 0).Select(s => s.Device.Index).ToList();
        var other = Scripts(1000, 8).Where(s => s.Signals.Count > 0).Select(s => s.Device.Index).ToList();

        other.ShouldNotBe(one);
    }

    [Fact]
    public void For_OnlyDevicesWhoseAgentReadsText_AndEachItsOwnSources()
    {
        var scripts = Scripts(3000, 1);

        // MDM gives iPads no such signal; Android tablets have no agent yet; spares have no student.
        scripts.Where(s => s.Device.Platform is DevicePlatform.IPadOS or DevicePlatform.Android || s.Device.IsSpare).ShouldAllBe(s => s.Signals.Count == 0);
        var laptops = scripts.Where(s => s.Device.Platform is DevicePlatform.Windows or DevicePlatform.MacOS).SelectMany(s => s.Signals).ToList();
        laptops.ShouldNotBeEmpty();
        laptops.ShouldAllBe(s => s.Source == SignalSources.Window && s.Url == null);
        var chromebooks = scripts.Where(s => s.Device.Platform == DevicePlatform.ChromeOS).SelectMany(s => s.Signals).ToList();
        chromebooks.Select(s => s.Source).Distinct().Order().ShouldBe([SignalSources.Search, SignalSources.Title, SignalSources.Typed]);
        chromebooks.Where(s => s.Source == SignalSources.Search).ShouldAllBe(s => s.Url!.StartsWith("https://www.google.com/search?q=", StringComparison.Ordinal));
        chromebooks.ShouldAllBe(s => s.Text.Length <= ProtocolLimits.MaxSignalTextLength);
    }

    [Fact]
    public void For_AFewAtRiskStudents_MoreWithHarmlessLookAlikes_AtSchoolTimes()
    {
        var scripts = Scripts(4000, 3).Where(s => s.Device.Platform is DevicePlatform.ChromeOS or DevicePlatform.Windows or DevicePlatform.MacOS && !s.Device.IsSpare).ToList();
        var atRisk = scripts.Where(s => s.Signals.Any(x => x.Concerning)).ToList();
        var lookAlikeOnly = scripts.Where(s => s.Signals.Count > 0 && s.Signals.All(x => !x.Concerning)).ToList();

        // One in twenty at risk, one in five of the rest with a look-alike (binomial spread allowed).
        ((double)atRisk.Count / scripts.Count).ShouldBeInRange(0.03, 0.07);
        ((double)lookAlikeOnly.Count / scripts.Count).ShouldBeInRange(0.14, 0.26);
        foreach (var (_, signals) in atRisk)
        {
            // Two or three concerning signals, all but the last at school; the last in the evening, at home.
            var concerning = signals.Where(s => s.Concerning).ToList();
            concerning.Count.ShouldBeInRange(2, 3);
            concerning.SkipLast(1).ShouldAllBe(s => s.TimeOfDay >= TimeSpan.FromHours(8) && s.TimeOfDay < TimeSpan.FromHours(14.5));
            concerning[^1].TimeOfDay.ShouldBeInRange(TimeSpan.FromHours(19), TimeSpan.FromHours(21));
            signals.Select(s => s.TimeOfDay).ShouldBeInOrder();
        }

        // The look-alikes the demo must show being ignored are all in use.
        var harmless = scripts.SelectMany(s => s.Signals).Where(s => !s.Concerning).Select(s => s.Text).ToHashSet(StringComparer.Ordinal);
        harmless.ShouldContain("history essay on the holocaust");
        harmless.ShouldContain(t => t.Contains("this homework is killing me", StringComparison.Ordinal));
        harmless.ShouldContain("suicide prevention hotline");
        // And concerning ones in both languages.
        var concerningTexts = atRisk.SelectMany(s => s.Signals).Where(s => s.Concerning).Select(s => s.Text).ToList();
        concerningTexts.ShouldContain(t => t.Contains("how to tie a noose", StringComparison.Ordinal));
        concerningTexts.ShouldContain(t => t.Contains("suicidarse", StringComparison.Ordinal));
    }

    [Fact]
    public void For_WithTheBuiltInLexicon_EveryAtRiskStudentRaisesAnAlert_NoLookAlikeDoes()
    {
        // The demo shows real alerts beside ignored false alarms only while the engine and the script agree.
        var scanner = new SafetyScanner(SafetyLexicon.BuiltIn);
        var scripts = Scripts(4000, 3);
        var atRisk = scripts.Where(s => s.Signals.Any(x => x.Concerning)).ToList();

        atRisk.ShouldNotBeEmpty();
        foreach (var (device, signals) in atRisk)
        {
            signals.ShouldContain(
                s => s.Concerning && s.TimeOfDay < TimeSpan.FromHours(14.5) && scanner.Scan(s.Text).Severity >= SafetySeverity.Medium,
                $"device {device.Index}: {string.Join(" | ", signals.Select(s => s.Text))}");
        }

        var falseAlarms = scripts.SelectMany(s => s.Signals).Where(s => !s.Concerning).Select(s => s.Text).Distinct()
            .Where(t => scanner.Scan(t).Severity >= SafetySeverity.Medium).ToList();
        falseAlarms.ShouldBeEmpty();
    }
}
