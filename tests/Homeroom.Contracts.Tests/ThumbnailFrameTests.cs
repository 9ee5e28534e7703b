using System.Text.Json;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;

namespace Homeroom.Contracts.Tests;

public sealed class ThumbnailFrameTests
{
    [Fact]
    public void EncodeThenDecode_RoundTripsHeaderAndImage()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_123);
        var frame = ThumbnailFrame.Encode(ThumbnailFormat.Webp, at, [1, 2, 3]);

        ThumbnailFrame.TryDecode(frame, out var format, out var capturedAt, out var offset).ShouldBeTrue();
        format.ShouldBe(ThumbnailFormat.Webp);
        capturedAt.ShouldBe(at);
        frame[offset..].ShouldBe(new byte[] { 1, 2, 3 });
    }

    [Fact]
    public void TryDecode_WrongKind_IsFalse()
    {
        var frame = ThumbnailFrame.Encode(ThumbnailFormat.Jpeg, DateTimeOffset.UtcNow, [1]);
        frame[0] = 2;

        ThumbnailFrame.TryDecode(frame, out _, out _, out _).ShouldBeFalse();
    }

    [Fact]
    public void TryDecode_UnknownFormat_IsFalse()
    {
        var frame = ThumbnailFrame.Encode(ThumbnailFormat.Jpeg, DateTimeOffset.UtcNow, [1]);
        frame[1] = 99;

        ThumbnailFrame.TryDecode(frame, out _, out _, out _).ShouldBeFalse();
    }

    [Fact]
    public void TryDecode_HeaderOnly_IsFalse() =>
        ThumbnailFrame.TryDecode(ThumbnailFrame.Encode(ThumbnailFormat.Png, DateTimeOffset.UtcNow, []), out _, out _, out _).ShouldBeFalse();

    [Fact]
    public void TryDecode_NegativeTimestamp_IsFalse()
    {
        var frame = ThumbnailFrame.Encode(ThumbnailFormat.Png, DateTimeOffset.UtcNow, [1]);
        frame[2] = 0xFF;

        ThumbnailFrame.TryDecode(frame, out _, out _, out _).ShouldBeFalse();
    }

    [Fact]
    public void EnrollRequest_PlatformsAreLowerCaseOnTheWire()
    {
        var json = JsonSerializer.Serialize(new EnrollRequest("t", DevicePlatform.IPadOS, "S1"), AgentJsonContext.Default.EnrollRequest);

        json.ShouldContain("\"platform\":\"ipados\"");
        JsonSerializer.Deserialize("{\"token\":\"t\",\"platform\":\"chromeos\",\"serial\":\"S\"}", AgentJsonContext.Default.EnrollRequest)!.Platform.ShouldBe(DevicePlatform.ChromeOS);
        Enum.GetValues<DevicePlatform>().Select(p => JsonSerializer.Serialize(p, AgentJsonContext.Default.Options))
            .ShouldBe(["\"chromeos\"", "\"ipados\"", "\"ios\"", "\"macos\"", "\"windows\"", "\"android\"", "\"linux\""]);
    }
}
