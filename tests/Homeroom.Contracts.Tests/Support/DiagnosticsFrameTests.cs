using Homeroom.Contracts.Agents;

namespace Homeroom.Contracts.Tests.Support;

public sealed class DiagnosticsFrameTests
{
    private static readonly DiagnosticsReport Typical = new(
        new DateTimeOffset(2026, 12, 3, 10, 0, 0, TimeSpan.Zero), "Debian GNU/Linux", "12", "Linux 6.1.0", "homeroom-agent/1.0.0", 60,
        [new DiskReport("/", "ext4", 100, 40)], new MemoryReport(100, 50), [new BatteryReport("BAT0", 50, "Charging", 90, 10)],
        [new InterfaceReport("eth0", true, "ethernet", ["10.0.0.2"])],
        [new ConnectivityCheck(ConnectivityTargets.Homeroom, "https://homeroom.example/healthz", true, 5, 200, null)],
        ["line"], new PolicyReport(3, true, null), ["battery: none"], new Dictionary<string, string> { ["IsSupervised"] = "yes" });

    [Fact]
    public void Validate_TypicalReport_IsValidAndRoundTrips()
    {
        var frame = new DiagnosticsFrame(Guid.NewGuid(), Typical);
        AgentFrameValidator.Validate(frame).ShouldBeNull();

        AgentFrameCodec.TryRead(AgentFrameCodec.Serialize(frame), out var read, out _).ShouldBe(FrameReadError.None);
        var back = read.ShouldBeOfType<DiagnosticsFrame>();
        back.Report.Disks![0].ShouldBe(Typical.Disks![0]);
        back.Report.Facts!["IsSupervised"].ShouldBe("yes");
    }

    [Fact]
    public void Validate_BrokenParts_AreRejected()
    {
        var id = Guid.NewGuid();
        AgentFrameValidator.Validate(new DiagnosticsFrame(Guid.Empty, Typical)).ShouldNotBeNull();
        AgentFrameValidator.Validate(new DiagnosticsFrame(id, Typical with { GatheredAt = default })).ShouldNotBeNull();
        AgentFrameValidator.Validate(new DiagnosticsFrame(id, Typical with { Disks = [new DiskReport("/", null, 10, 11)] })).ShouldNotBeNull();
        AgentFrameValidator.Validate(new DiagnosticsFrame(id, Typical with { Memory = new MemoryReport(10, 11) })).ShouldNotBeNull();
        AgentFrameValidator.Validate(new DiagnosticsFrame(id, Typical with { Batteries = [new BatteryReport("BAT0", 101, null, null, null)] })).ShouldNotBeNull();
        AgentFrameValidator.Validate(new DiagnosticsFrame(id, Typical with { Interfaces = [new InterfaceReport("eth0", true, null, Enumerable.Repeat("::1", 17).ToList())] })).ShouldNotBeNull();
        AgentFrameValidator.Validate(new DiagnosticsFrame(id, Typical with { Connectivity = Enumerable.Repeat(Typical.Connectivity![0], 9).ToList() })).ShouldNotBeNull();
        AgentFrameValidator.Validate(new DiagnosticsFrame(id, Typical with { LogLines = [new string('x', DiagnosticsLimits.MaxLogLineLength + 1)] })).ShouldNotBeNull();
        AgentFrameValidator.Validate(new DiagnosticsFrame(id, Typical with { Facts = new Dictionary<string, string> { [""] = "x" } })).ShouldNotBeNull();
    }

    [Theory]
    [InlineData("", 0, null)]
    [InlineData("https://a.example/ https://b.example/path?q=1", 2, null)]
    [InlineData("http://plain.example/", 0, "not an https URL")]
    [InlineData("https://user:pw@a.example/", 0, "not an https URL")]
    [InlineData("https://1.example/ https://2.example/ https://3.example/ https://4.example/ https://5.example/ https://6.example/ https://7.example/ https://8.example/", 0, "At most 7")]
    public void ParseSites_HttpsOnlyAndAtMostSeven(string text, int count, string? error)
    {
        var problem = DiagnosticsLimits.ParseSites(text, out var sites);

        if (error is null)
        {
            problem.ShouldBeNull();
            sites.Count.ShouldBe(count);
        }
        else
        {
            problem!.ShouldContain(error);
        }
    }
}
