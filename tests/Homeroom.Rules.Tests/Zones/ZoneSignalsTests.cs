using System.Net;
using Homeroom.Rules.Zones;

namespace Homeroom.Rules.Tests.Zones;

public sealed class ZoneSignalsTests
{
    private static readonly DateTimeOffset Start = new(2026, 9, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly ZoneSignalOptions Options = new(new ZonePresenceOptions(150, 2), 3, TimeSpan.FromMinutes(2));

    private static DateTimeOffset Minutes(double m) => Start.AddMinutes(m);

    private static ZoneChange? Fix(ref ZoneSignals signals, bool inside, double minutes, double accuracy = 20) =>
        signals.ObserveFix(inside, 47.6, -122.3, accuracy, Minutes(minutes), Options);

    [Fact]
    public void ObserveNetwork_Match_IsInsideAtOnce_WithTheRangeAsTheReason()
    {
        var signals = new ZoneSignals();

        var change = signals.ObserveNetwork("10.12.0.0/16", "10.12.4.31", Start).ShouldNotBeNull();

        change.To.ShouldBe(ZoneState.Inside);
        change.Signal.ShouldBe(ZoneSignal.Network);
        change.Explanation.ShouldBe("Network range 10.12.0.0/16 matched (address 10.12.4.31).");
        signals.ObserveNetwork("10.12.0.0/16", "10.12.4.31", Minutes(1)).ShouldBeNull();
    }

    [Fact]
    public void ObserveFix_OutsideWhileTheNetworkMatches_NeedsSustainedFixesAndTime()
    {
        var signals = new ZoneSignals();
        signals.ObserveNetwork("203.0.113.0/24", "203.0.113.9", Start);

        Fix(ref signals, inside: false, 1).ShouldBeNull();
        Fix(ref signals, inside: false, 1.5).ShouldBeNull();
        Fix(ref signals, inside: false, 2).ShouldBeNull(); // three fixes, but only a minute
        var change = Fix(ref signals, inside: false, 3.5).ShouldNotBeNull();

        change.To.ShouldBe(ZoneState.Outside);
        change.Signal.ShouldBe(ZoneSignal.Gps);
        change.Explanation.ShouldContain("overruling network range 203.0.113.0/24");
    }

    [Fact]
    public void OverruledRange_DoesNotBringTheDeviceBack_UntilItWasLeft_ButTheGpsCan()
    {
        var signals = new ZoneSignals();
        signals.ObserveNetwork("203.0.113.0/24", "203.0.113.9", Start);
        Fix(ref signals, inside: false, 1);
        Fix(ref signals, inside: false, 2);
        Fix(ref signals, inside: false, 3).ShouldNotBeNull().To.ShouldBe(ZoneState.Outside);

        // The next heartbeats on the same range change nothing: no flapping.
        signals.ObserveNetwork("203.0.113.0/24", "203.0.113.9", Minutes(3.5)).ShouldBeNull();
        Fix(ref signals, inside: false, 4).ShouldBeNull();
        signals.ObserveNetwork("203.0.113.0/24", "203.0.113.9", Minutes(4.5)).ShouldBeNull();
        signals.State.ShouldBe(ZoneState.Outside);

        // The GPS brings it back on its normal count.
        Fix(ref signals, inside: true, 5).ShouldBeNull();
        Fix(ref signals, inside: true, 6).ShouldNotBeNull().Signal.ShouldBe(ZoneSignal.Gps);
        signals.State.ShouldBe(ZoneState.Inside);
    }

    [Fact]
    public void OverruledRange_LeftAndMatchedAgain_IsInsideAtOnce()
    {
        var signals = new ZoneSignals();
        signals.ObserveNetwork("203.0.113.0/24", "203.0.113.9", Start);
        Fix(ref signals, inside: false, 1);
        Fix(ref signals, inside: false, 2);
        Fix(ref signals, inside: false, 3).ShouldNotBeNull();

        signals.ObserveNetwork(null, null, Minutes(4));
        signals.ObserveNetwork("203.0.113.0/24", "203.0.113.9", Minutes(5)).ShouldNotBeNull().To.ShouldBe(ZoneState.Inside);
    }

    [Fact]
    public void ObserveFix_InsideWhileTheNetworkMatches_StartsTheSustainedCountAgain()
    {
        var signals = new ZoneSignals();
        signals.ObserveNetwork("203.0.113.0/24", "203.0.113.9", Start);
        Fix(ref signals, inside: false, 1);
        Fix(ref signals, inside: false, 2);
        Fix(ref signals, inside: true, 3);

        Fix(ref signals, inside: false, 4).ShouldBeNull();
        Fix(ref signals, inside: false, 5).ShouldBeNull();
        signals.State.ShouldBe(ZoneState.Inside);
    }

    [Fact]
    public void NetworkGone_StaysInsideWithoutFixes_ThenLeavesOnTheNormalGpsCount()
    {
        var signals = new ZoneSignals();
        signals.ObserveNetwork("10.12.0.0/16", "10.12.4.31", Start);

        signals.ObserveNetwork(null, null, Minutes(1)).ShouldBeNull();
        signals.State.ShouldBe(ZoneState.Inside);
        signals.NetworkLost.ShouldBe("10.12.0.0/16");

        Fix(ref signals, inside: false, 2).ShouldBeNull();
        var change = Fix(ref signals, inside: false, 2.1).ShouldNotBeNull();
        change.To.ShouldBe(ZoneState.Outside);
        change.Signal.ShouldBe(ZoneSignal.Gps);
        change.Explanation.ShouldBe("GPS fix 47.60000, -122.30000 (±20 m) outside; network range 10.12.0.0/16 no longer matched.");
    }

    [Fact]
    public void ObserveFix_Inaccurate_CountsForNothingInEitherRule()
    {
        var signals = new ZoneSignals();
        signals.ObserveNetwork("10.12.0.0/16", "10.12.4.31", Start);
        for (var i = 1; i < 10; i++)
        {
            Fix(ref signals, inside: false, i, accuracy: 2000).ShouldBeNull();
        }

        signals.ObserveNetwork(null, null, Minutes(11));
        Fix(ref signals, inside: false, 12, accuracy: 2000).ShouldBeNull();
        Fix(ref signals, inside: false, 13, accuracy: double.NaN).ShouldBeNull();
        signals.State.ShouldBe(ZoneState.Inside);
    }

    [Fact]
    public void ObserveNetwork_OutsideDevice_ComesBackAtOnce()
    {
        var signals = new ZoneSignals();
        Fix(ref signals, inside: false, 0).ShouldNotBeNull().To.ShouldBe(ZoneState.Outside);

        signals.ObserveNetwork("10.12.0.0/16", "10.12.1.1", Minutes(1)).ShouldNotBeNull().From.ShouldBe(ZoneState.Outside);
        signals.State.ShouldBe(ZoneState.Inside);
        signals.LastChange!.Signal.ShouldBe(ZoneSignal.Network);
    }

    [Theory]
    [InlineData("10.12.4.31", "10.12.0.0/16")]
    [InlineData("::ffff:10.12.4.31", "10.12.0.0/16")]
    [InlineData("2001:db8:0:1::5", "2001:db8::/48")]
    [InlineData("203.0.113.7", "203.0.113.7/32")]
    [InlineData("10.13.0.1", null)]
    public void NetworkRanges_Match_FindsTheContainingNetwork(string address, string? expected)
    {
        var ranges = NetworkRanges.Parse(["10.12.0.0/16", "2001:db8::/48", "203.0.113.7"], out var errors).ShouldNotBeNull();
        errors.ShouldBeEmpty();

        ranges.Match(IPAddress.Parse(address)).ShouldBe(expected);
    }

    [Theory]
    [InlineData("10.0.0.1/8")]
    [InlineData("0.0.0.0/0")]
    [InlineData("10.0.0.0/7")]
    [InlineData("::/0")]
    [InlineData("2001:db8::/31")]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0")]
    [InlineData("fe80::1%eth0")]
    [InlineData("")]
    public void NetworkRanges_Parse_RefusesMalformedOrTooBroadNetworks(string entry)
    {
        NetworkRanges.Parse([entry], out var errors).ShouldBeNull();
        errors.Count.ShouldBe(1);
        errors[0].ShouldStartWith("[0]");
    }

    [Fact]
    public void NetworkRanges_Parse_RefusesTooManyAndDuplicates()
    {
        NetworkRanges.Parse([.. Enumerable.Range(0, NetworkRanges.MaxRanges + 1).Select(i => $"10.{i}.0.0/16")], out var many).ShouldBeNull();
        many.Single().ShouldContain("At most");
        NetworkRanges.Parse(["10.0.0.0/8", "10.0.0.0/8"], out var twice).ShouldBeNull();
        twice.Single().ShouldContain("twice");
    }
}
