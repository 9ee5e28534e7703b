using Homeroom.Contracts.Agents;

namespace Homeroom.Contracts.Tests;

public sealed class AgentFrameValidatorTests
{
    private static readonly DateTimeOffset At = new(2026, 9, 1, 8, 0, 0, TimeSpan.Zero);

    private static ActivityEvent Event(long seq, string kind = ActivityKinds.WebVisit) => new(seq, At, kind, "https://example.org");

    [Fact]
    public void Validate_TypicalAgentFrames_AreValid()
    {
        AgentFrameValidator.Validate(new HeartbeatFrame(new BatteryState(0, false), new NetworkState("wifi", null, null), new LocationFix(-90, 180, 0, At))).ShouldBeNull();
        AgentFrameValidator.Validate(new ActivityFrame([Event(1), Event(2), Event(10)])).ShouldBeNull();
        AgentFrameValidator.Validate(new CommandStatusFrame(Guid.NewGuid(), CommandStatusValues.Acknowledged)).ShouldBeNull();
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null)).ShouldBeNull();
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(101)]
    public void Validate_BatteryOutOfRange_IsRejected(int level) =>
        AgentFrameValidator.Validate(new HeartbeatFrame(new BatteryState(level, false), null, null)).ShouldNotBeNull();

    [Theory]
    [InlineData(91, 0, 10)]
    [InlineData(0, -181, 10)]
    [InlineData(double.NaN, 0, 10)]
    [InlineData(0, double.PositiveInfinity, 10)]
    [InlineData(0, 0, -1)]
    public void Validate_LocationOutOfRange_IsRejected(double latitude, double longitude, double accuracy) =>
        AgentFrameValidator.Validate(new HeartbeatFrame(null, null, new LocationFix(latitude, longitude, accuracy, At))).ShouldNotBeNull();

    [Fact]
    public void Validate_TooManyApps_IsRejected() =>
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null,
            Enumerable.Range(0, ProtocolLimits.MaxInventoryApps + 1).Select(i => new InstalledApp($"app{i}", null, null)).ToList())).ShouldBe("too many apps");

    [Theory]
    [InlineData("ada.lovelace@north.example.org", "1234567890")]
    [InlineData("ADA@Example.ORG", null)]
    [InlineData(null, "s-1042")]
    [InlineData("", "")]
    [InlineData(null, null)]
    public void Validate_SignedInUser_WellFormed_IsValid(string? email, string? id) =>
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null, SignedInUser: new SignedInUser(email, id))).ShouldBeNull();

    [Theory]
    [InlineData("not-an-address", null, "signedInUser.email is not an e-mail address")]
    [InlineData("two@at@example.org", null, "signedInUser.email is not an e-mail address")]
    [InlineData("@example.org", null, "signedInUser.email is not an e-mail address")]
    [InlineData("ada@", null, "signedInUser.email is not an e-mail address")]
    [InlineData("ada@localhost", null, "signedInUser.email is not an e-mail address")]
    [InlineData("ada@.example.org", null, "signedInUser.email is not an e-mail address")]
    [InlineData("ada lovelace@example.org", null, "signedInUser.email is not an e-mail address")]
    [InlineData("ada@example.org\n", null, "signedInUser.email is not an e-mail address")]
    [InlineData("ada@example.org", "has space", "signedInUser.id has spaces or control characters")]
    public void Validate_SignedInUser_Malformed_IsRejected(string email, string? id, string reason) =>
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null,
            SignedInUser: new SignedInUser(email, id))).ShouldBe(reason);

    [Fact]
    public void Validate_SignedInUser_OverTheLimits_IsRejected()
    {
        var longest = new string('a', ProtocolLimits.MaxSignedInEmailLength - "@example.org".Length) + "@example.org";
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null, SignedInUser: new SignedInUser(longest))).ShouldBeNull();
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null, SignedInUser: new SignedInUser("a" + longest)))
            .ShouldBe("signedInUser.email too long");
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null,
            SignedInUser: new SignedInUser(null, new string('9', ProtocolLimits.MaxShortText + 1)))).ShouldBe("signedInUser.id too long");
    }

    [Fact]
    public void Validate_InventoryWithCapabilities_IsValidWithinTheLimits() =>
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null,
            [new AgentCapability(CapabilityNames.Restart, true), new AgentCapability(CapabilityNames.Lock, false, new string('r', ProtocolLimits.MaxShortText))])).ShouldBeNull();

    [Fact]
    public void Validate_CapabilitiesOverTheLimits_AreRejected()
    {
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null,
            Enumerable.Range(0, ProtocolLimits.MaxCapabilities + 1).Select(i => new AgentCapability($"c{i}", true)).ToList())).ShouldBe("capabilities invalid");
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null, [new AgentCapability("", true)])).ShouldBe("capabilities invalid");
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null, [new AgentCapability(new string('n', 65), true)])).ShouldBe("capabilities invalid");
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, null,
            [new AgentCapability("screen.lock", false, new string('r', ProtocolLimits.MaxShortText + 1))])).ShouldBe("capabilities invalid");
    }

    [Theory]
    [InlineData(CommandKinds.Restart, CapabilityNames.Restart)]
    [InlineData(CommandKinds.Unlock, CapabilityNames.Lock)]
    [InlineData(CommandKinds.CloseTab, CapabilityNames.OpenUrl)]
    [InlineData(CommandKinds.Ping, null)]
    public void ForCommand_NamesTheCapabilityACommandNeeds(string kind, string? capability) =>
        CapabilityNames.ForCommand(kind).ShouldBe(capability);

    [Fact]
    public void Validate_AppWithoutId_IsRejected() =>
        AgentFrameValidator.Validate(new InventoryFrame(null, null, null, null, null, null, [new InstalledApp("", "x", "1")])).ShouldNotBeNull();

    [Fact]
    public void Validate_TooManyEvents_IsRejected() =>
        AgentFrameValidator.Validate(new ActivityFrame(Enumerable.Range(1, ProtocolLimits.MaxActivityEventsPerFrame + 1).Select(i => Event(i)).ToList()))
            .ShouldBe("too many activity events");

    [Fact]
    public void Validate_EmptyActivity_IsRejected() => AgentFrameValidator.Validate(new ActivityFrame([])).ShouldNotBeNull();

    [Theory]
    [InlineData(0L, 1L)]
    [InlineData(2L, 2L)]
    [InlineData(3L, 2L)]
    public void Validate_SequenceNotPositiveAndIncreasing_IsRejected(long first, long second) =>
        AgentFrameValidator.Validate(new ActivityFrame([Event(first), Event(second)])).ShouldBe("activity seq must be positive and increasing");

    [Fact]
    public void Validate_UnknownActivityKind_IsRejected() =>
        AgentFrameValidator.Validate(new ActivityFrame([Event(1, "keylogger")])).ShouldBe("unknown activity kind");

    [Fact]
    public void Validate_TooLongUrl_IsRejected() =>
        AgentFrameValidator.Validate(new ActivityFrame([new ActivityEvent(1, At, ActivityKinds.WebVisit, "https://x.org/" + new string('a', ProtocolLimits.MaxUrlLength))]))
            .ShouldBe("url too long");

    private static ActivityEvent Usage(string? url = "https://www.khanacademy.org/", int? seconds = 60, string? detail = ActivityKinds.WebUsageFocused) =>
        new(1, At, ActivityKinds.WebUsage, url, DurationSeconds: seconds, Detail: detail);

    [Theory]
    [InlineData("https://www.khanacademy.org/", 1, "focused")]
    [InlineData("http://intranet.school.example:8080/", 3600, "unfocused")]
    [InlineData("https://xn--bcher-kva.example/", 42, "focused")]
    public void Validate_WebUsageOfAnOrigin_IsValid(string url, int seconds, string detail) =>
        AgentFrameValidator.Validate(new ActivityFrame([Usage(url, seconds, detail)])).ShouldBeNull();

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(3601)]
    [InlineData(108_000)]
    [InlineData(null)]
    public void Validate_WebUsageDurationOutOfRange_IsRejected(int? seconds) =>
        AgentFrameValidator.Validate(new ActivityFrame([Usage(seconds: seconds)])).ShouldNotBeNull();

    [Theory]
    [InlineData("https://www.khanacademy.org/math/algebra")]
    [InlineData("https://www.google.com/?q=private")]
    [InlineData("https://www.google.com/search?q=private")]
    [InlineData("https://example.org/#section")]
    [InlineData("https://user:pw@example.org/")]
    [InlineData("https://example.org")]
    [InlineData("ftp://example.org/")]
    [InlineData("example.org")]
    [InlineData(null)]
    public void Validate_WebUsageUrlNotAnOrigin_IsRejected(string? url) =>
        AgentFrameValidator.Validate(new ActivityFrame([Usage(url)])).ShouldBe("web.usage url must be an origin (https://host/) without path or query");

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("visible")]
    public void Validate_WebUsageWithoutFocusDetail_IsRejected(string? detail) =>
        AgentFrameValidator.Validate(new ActivityFrame([Usage(detail: detail)])).ShouldBe("web.usage detail must be focused or unfocused");

    [Fact]
    public void Validate_AppInventory_NeedsAnAppId()
    {
        AgentFrameValidator.Validate(new ActivityFrame([new ActivityEvent(1, At, ActivityKinds.AppInventory, Title: "Kami", AppId: "ecnphlgnajanjnkcmbpancdjoidceilk", Detail: "3.1.0 enabled")])).ShouldBeNull();
        AgentFrameValidator.Validate(new ActivityFrame([new ActivityEvent(1, At, ActivityKinds.AppInventory, Title: "Kami")])).ShouldBe("app.inventory needs an appId");
    }

    [Fact]
    public void Validate_OtherKindsKeepTheirRules_PathsAndLongDurationsAllowed() =>
        AgentFrameValidator.Validate(new ActivityFrame([new ActivityEvent(1, At, ActivityKinds.WebVisit, "https://example.org/a?b=c", DurationSeconds: 7200)])).ShouldBeNull();

    [Fact]
    public void Validate_UnknownCommandStatus_IsRejected() =>
        AgentFrameValidator.Validate(new CommandStatusFrame(Guid.NewGuid(), "maybe")).ShouldBe("unknown command status");

    [Fact]
    public void Validate_ServerOnlyFrameFromAnAgent_IsRejected()
    {
        AgentFrameValidator.Validate(new WelcomeFrame(Guid.NewGuid(), At, 30, 0, 0, 1, 1)).ShouldBe("frame type is not sent by agents");
        AgentFrameValidator.Validate(new CommandFrame(Guid.NewGuid(), "lock", null, At, At)).ShouldBe("frame type is not sent by agents");
    }

    [Fact]
    public void Validate_AuthWithoutCredential_IsRejected() =>
        AgentFrameValidator.Validate(new AuthFrame(Guid.NewGuid(), "", 1, null)).ShouldNotBeNull();
}
