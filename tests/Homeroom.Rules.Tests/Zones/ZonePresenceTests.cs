using Homeroom.Rules.Zones;

namespace Homeroom.Rules.Tests.Zones;

public sealed class ZonePresenceTests
{
    private static readonly DateTimeOffset Start = new(2026, 9, 1, 15, 0, 0, TimeSpan.Zero);
    private static readonly ZonePresenceOptions TwoFixes = new(MaxAccuracyMeters: 50, ConsecutiveFixes: 2);

    private static DateTimeOffset Seconds(int s) => Start.AddSeconds(s);

    private static ZonePresence InsideAlready()
    {
        var presence = new ZonePresence();
        presence.Observe(inside: true, 10, 100, Start, TwoFixes).ShouldNotBeNull();
        return presence;
    }

    [Fact]
    public void Observe_FirstUsableFix_SetsStateFromUnknownAtOnce()
    {
        var presence = new ZonePresence();

        var transition = presence.Observe(inside: false, 20, 5, Start, TwoFixes);

        transition.ShouldBe(new ZoneTransition(ZoneState.Unknown, ZoneState.Outside, Start));
        presence.State.ShouldBe(ZoneState.Outside);
    }

    [Fact]
    public void Observe_FlappingSingleFixesAtBoundary_KeepState()
    {
        var presence = InsideAlready();

        for (var i = 1; i <= 20; i++)
        {
            presence.Observe(inside: i % 2 == 0, 15, 3, Seconds(i * 10), TwoFixes).ShouldBeNull();
        }

        presence.State.ShouldBe(ZoneState.Inside);
    }

    [Fact]
    public void Observe_TwoConsecutiveOutsideFixes_ConfirmExit()
    {
        var presence = InsideAlready();

        presence.Observe(inside: false, 15, 40, Seconds(10), TwoFixes).ShouldBeNull();
        presence.Candidate.ShouldBe(ZoneState.Outside);
        var transition = presence.Observe(inside: false, 15, 60, Seconds(20), TwoFixes);

        transition.ShouldBe(new ZoneTransition(ZoneState.Inside, ZoneState.Outside, Seconds(20)));
        presence.State.ShouldBe(ZoneState.Outside);
        presence.Candidate.ShouldBe(ZoneState.Unknown);
        presence.CandidateFixes.ShouldBe(0);
    }

    [Fact]
    public void Observe_AgreeingFixBetween_RestartsTheCount()
    {
        var presence = InsideAlready();

        presence.Observe(inside: false, 15, 5, Seconds(10), TwoFixes).ShouldBeNull();
        presence.Observe(inside: true, 15, 5, Seconds(20), TwoFixes).ShouldBeNull();
        presence.CandidateFixes.ShouldBe(0);
        presence.Observe(inside: false, 15, 5, Seconds(30), TwoFixes).ShouldBeNull();
        presence.State.ShouldBe(ZoneState.Inside);
        presence.Observe(inside: false, 15, 5, Seconds(40), TwoFixes).ShouldNotBeNull().To.ShouldBe(ZoneState.Outside);
    }

    [Fact]
    public void Observe_InaccurateFixes_AreIgnored()
    {
        var presence = new ZonePresence();

        presence.Observe(inside: false, 51, 500, Start, TwoFixes).ShouldBeNull();
        presence.Observe(inside: false, double.NaN, 500, Start, TwoFixes).ShouldBeNull();
        presence.Observe(inside: false, -1, 500, Start, TwoFixes).ShouldBeNull();
        presence.State.ShouldBe(ZoneState.Unknown);

        presence.Observe(inside: true, 50, 500, Seconds(1), TwoFixes).ShouldNotBeNull().To.ShouldBe(ZoneState.Inside);
        presence.Observe(inside: false, 10, 30, Seconds(10), TwoFixes).ShouldBeNull();
        presence.Observe(inside: true, 400, 30, Seconds(20), TwoFixes).ShouldBeNull();
        presence.CandidateFixes.ShouldBe(1);
        presence.Observe(inside: false, 10, 30, Seconds(30), TwoFixes).ShouldNotBeNull().To.ShouldBe(ZoneState.Outside);
    }

    [Fact]
    public void Observe_DwellNotYetElapsed_WaitsForALaterFix()
    {
        var options = TwoFixes with { MinDwell = TimeSpan.FromMinutes(1) };
        var presence = InsideAlready();

        presence.Observe(inside: false, 15, 40, Seconds(10), options).ShouldBeNull();
        presence.Observe(inside: false, 15, 40, Seconds(30), options).ShouldBeNull();
        presence.Observe(inside: false, 15, 40, Seconds(69), options).ShouldBeNull();
        presence.CandidateSince.ShouldBe(Seconds(10));

        var transition = presence.Observe(inside: false, 15, 40, Seconds(70), options);

        transition.ShouldBe(new ZoneTransition(ZoneState.Inside, ZoneState.Outside, Seconds(70)));
    }

    [Fact]
    public void Observe_DwellElapsedButTooFewFixes_Waits()
    {
        var options = TwoFixes with { ConsecutiveFixes = 3, MinDwell = TimeSpan.FromSeconds(30) };
        var presence = InsideAlready();

        presence.Observe(inside: false, 15, 40, Seconds(10), options).ShouldBeNull();
        presence.Observe(inside: false, 15, 40, Seconds(600), options).ShouldBeNull();
        presence.Observe(inside: false, 15, 40, Seconds(610), options).ShouldNotBeNull().At.ShouldBe(Seconds(610));
    }

    [Fact]
    public void Observe_OneFixNeeded_ConfirmsAtOnce()
    {
        var options = TwoFixes with { ConsecutiveFixes = 1 };
        var presence = InsideAlready();

        presence.Observe(inside: false, 15, 2, Seconds(10), options).ShouldBe(new ZoneTransition(ZoneState.Inside, ZoneState.Outside, Seconds(10)));
        presence.Observe(inside: true, 15, 2, Seconds(20), options).ShouldBe(new ZoneTransition(ZoneState.Outside, ZoneState.Inside, Seconds(20)));
    }

    [Fact]
    public void Observe_FixAgreeingWithState_ReturnsNoTransition()
    {
        var presence = InsideAlready();

        presence.Observe(inside: true, 15, 200, Seconds(10), TwoFixes).ShouldBeNull();
        presence.Observe(inside: true, 15, 200, Seconds(20), TwoFixes).ShouldBeNull();
        presence.State.ShouldBe(ZoneState.Inside);
    }

    [Fact]
    public void Observe_RestoredState_NeedsConfirmationToChange()
    {
        var presence = new ZonePresence(ZoneState.Outside);

        presence.Observe(inside: true, 15, 5, Start, TwoFixes).ShouldBeNull();
        presence.Observe(inside: true, 15, 5, Seconds(10), TwoFixes).ShouldNotBeNull().From.ShouldBe(ZoneState.Outside);
    }

    [Fact]
    public void Options_Default_MatchesDocumentedValues()
    {
        ZonePresenceOptions.Default.ShouldBe(new ZonePresenceOptions(150, 2, TimeSpan.Zero));
        ZonePresenceOptions.Default.MinDwell.ShouldBe(TimeSpan.Zero);
    }

    [Fact]
    public void StoredValues_NeverChange() =>
        Enum.GetValues<ZoneState>().Select(s => (int)s).ShouldBe([0, 1, 2]);
}
