using System.Text;
using System.Text.Json;
using Homeroom.Contracts.Agents;

namespace Homeroom.Contracts.Tests;

public sealed class AgentFrameCodecTests
{
    private static readonly DateTimeOffset At = new(2026, 9, 1, 8, 30, 0, TimeSpan.Zero);

    public static TheoryData<AgentFrame> EveryFrame() => new()
    {
        new AuthFrame(Guid.NewGuid(), "hrd_secret", 1, "agent/1.2"),
        new WelcomeFrame(Guid.NewGuid(), At, 30, 41, 7, 65536, 20),
        new HeartbeatFrame(new BatteryState(80, true), new NetworkState("wifi", "District", "10.0.0.2"), new LocationFix(41.9, -87.6, 12.5, At)),
        new InventoryFrame("ChromeOS", "129.0", "Chromebook 311", "Acer", 64, 32, [new InstalledApp("ext.a", "Reader", "1.0")]),
        new ActivityFrame([new ActivityEvent(1, At, ActivityKinds.WebVisit, "https://example.org", "Example", DurationSeconds: 30)]),
        new ActivityAckFrame(99),
        new CommandFrame(Guid.NewGuid(), CommandKinds.Message, new Dictionary<string, string> { ["text"] = "hi" }, At, At.AddHours(1)),
        new CommandFrame(Guid.NewGuid(), CommandKinds.InstallPackage, new Dictionary<string, string> { ["package"] = "libreoffice-writer" }, At, At.AddHours(1)),
        new CommandStatusFrame(Guid.NewGuid(), CommandStatusValues.Failed, "no screen", null),
        new PolicyFrame(3, JsonDocument.Parse("{\"filter\":{\"mode\":\"block\"}}").RootElement),
        new PolicyStatusFrame(3, false, ["camera: not supported"]),
        new ScreenViewFrame(true, "Ms. Rivera", 1000, 400),
    };

    [Theory]
    [MemberData(nameof(EveryFrame))]
    public void SerializeThenRead_EveryFrame_RoundTrips(AgentFrame frame)
    {
        var bytes = AgentFrameCodec.Serialize(frame);

        AgentFrameCodec.TryRead(bytes, out var read, out var type).ShouldBe(FrameReadError.None);
        read.ShouldNotBeNull();
        read.GetType().ShouldBe(frame.GetType());
        AgentFrameCodec.Serialize(read).ShouldBe(bytes);
        Encoding.UTF8.GetString(bytes).ShouldStartWith($"{{\"type\":\"{type}\"");
    }

    [Fact]
    public void Serialize_UsesCamelCaseAndOmitsNulls()
    {
        var json = Encoding.UTF8.GetString(AgentFrameCodec.Serialize(new CommandStatusFrame(Guid.Empty, CommandStatusValues.Succeeded, Result: "ok")));

        json.ShouldBe("{\"type\":\"commandStatus\",\"commandId\":\"00000000-0000-0000-0000-000000000000\",\"status\":\"succeeded\",\"result\":\"ok\"}");
    }

    [Fact]
    public void TryRead_TypeNotFirst_StillReads()
    {
        var json = "{\"battery\":{\"level\":5,\"charging\":false},\"type\":\"heartbeat\"}"u8;

        AgentFrameCodec.TryRead(json, out var frame, out _).ShouldBe(FrameReadError.None);
        frame.ShouldBeOfType<HeartbeatFrame>().Battery!.Level.ShouldBe(5);
    }

    [Fact]
    public void TryRead_UnknownProperties_AreIgnored()
    {
        AgentFrameCodec.TryRead("{\"type\":\"activityAck\",\"throughSeq\":4,\"futureField\":{\"a\":[1,2]}}"u8, out var frame, out _).ShouldBe(FrameReadError.None);
        frame.ShouldBeOfType<ActivityAckFrame>().ThroughSeq.ShouldBe(4);
    }

    [Fact]
    public void TryRead_UnknownType_IsUnknownTypeNotMalformed()
    {
        AgentFrameCodec.TryRead("{\"type\":\"teleport\"}"u8, out var frame, out var type).ShouldBe(FrameReadError.UnknownType);
        frame.ShouldBeNull();
        type.ShouldBe("teleport");
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("{}")]
    [InlineData("{\"type\":7}")]
    [InlineData("{\"type\":\"heartbeat\"")]
    [InlineData("{\"type\":\"heartbeat\",\"battery\":{\"level\":\"high\"}}")]
    [InlineData("{\"type\":\"auth\",\"deviceId\":\"not-a-guid\",\"credential\":\"x\",\"protocolVersion\":1}")]
    [InlineData("{\"type\":\"activityAck\",\"throughSeq\":1e400}")]
    public void TryRead_MalformedInput_IsMalformed(string json) =>
        AgentFrameCodec.TryRead(Encoding.UTF8.GetBytes(json), out _, out _).ShouldBe(FrameReadError.Malformed);

    [Fact]
    public void TryRead_DeepNesting_IsMalformedNotACrash()
    {
        var json = "{\"type\":\"heartbeat\",\"x\":" + new string('[', 5000) + new string(']', 5000) + "}";

        AgentFrameCodec.TryRead(Encoding.UTF8.GetBytes(json), out _, out _).ShouldBe(FrameReadError.Malformed);
    }

    [Theory]
    [InlineData("gimp", true)]
    [InlineData("g++", true)]
    [InlineData("Mozilla.Firefox", true)]
    [InlineData("9NBLGGH4NNS1", true)]
    [InlineData("Microsoft.WindowsCalculator_8wekyb3d8bbwe", true)]
    [InlineData("", false)]
    [InlineData("-y", false)]
    [InlineData("--force-all", false)]
    [InlineData("../etc/passwd", false)]
    [InlineData("/tmp/x.deb", false)]
    [InlineData("a b", false)]
    [InlineData("a;rm", false)]
    [InlineData("gimp.", false)]
    [InlineData("a..b", false)]
    public void PackageIds_IsValid_OnlyNamesThatCannotBeReadAsOptionsOrPaths(string value, bool expected) =>
        PackageIds.IsValid(value).ShouldBe(expected);

    [Fact]
    public void PackageIds_IsValid_BoundedLength()
    {
        PackageIds.IsValid(new string('a', PackageIds.MaxLength)).ShouldBeTrue();
        PackageIds.IsValid(new string('a', PackageIds.MaxLength + 1)).ShouldBeFalse();
    }

    [Fact]
    public void CapabilityFor_PackageCommands_IsAppInstall()
    {
        CapabilityNames.ForCommand(CommandKinds.InstallPackage).ShouldBe(CapabilityNames.AppInstall);
        CapabilityNames.ForCommand(CommandKinds.RemovePackage).ShouldBe(CapabilityNames.AppInstall);
    }
}
