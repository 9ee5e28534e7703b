using System.Text;
using Homeroom.Contracts.Agents;

namespace Homeroom.Contracts.Tests.Support;

public sealed class HelpFrameTests
{
    private static readonly DateTimeOffset At = new(2026, 9, 2, 10, 0, 0, TimeSpan.Zero);

    private static byte[] Jpeg(int length)
    {
        var image = new byte[length];
        image[0] = 0xFF; image[1] = 0xD8; image[2] = 0xFF; image[3] = 0xE0;
        image[^2] = 0xFF; image[^1] = 0xD9;
        return image;
    }

    [Fact]
    public void Validate_AtTheLimits_Accepts_AndOneOver_Refuses()
    {
        HelpRequestLimits.Validate(new HelpRequestFrame(Guid.NewGuid(), At)).ShouldBeNull();
        HelpRequestLimits.Validate(new HelpRequestFrame(Guid.NewGuid(), At, new string('a', HelpRequestLimits.MaxNoteLength), Jpeg(HelpRequestLimits.MaxScreenshotBytes))).ShouldBeNull();
        HelpRequestLimits.Validate(new HelpRequestFrame(Guid.NewGuid(), At, new string('a', HelpRequestLimits.MaxNoteLength + 1))).ShouldBe("help note too long");
        HelpRequestLimits.Validate(new HelpRequestFrame(Guid.NewGuid(), At, null, Jpeg(HelpRequestLimits.MaxScreenshotBytes + 1))).ShouldBe("help screenshot too large");
        HelpRequestLimits.Validate(new HelpRequestFrame(Guid.Empty, At)).ShouldBe("help requestId missing");
        HelpRequestLimits.Validate(new HelpRequestFrame(Guid.NewGuid(), default)).ShouldBe("help createdAt missing");
    }

    [Theory]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0 })]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xD9 })]
    public void Validate_NotAJpeg_Refuses(byte[] image) =>
        AgentFrameValidator.Validate(new HelpRequestFrame(Guid.NewGuid(), At, null, image)).ShouldBe("help screenshot is not a JPEG");

    [Fact]
    public void Codec_HelpFrames_RoundTrip_WithTheScreenshotAsBase64()
    {
        var image = Jpeg(1000);
        var frame = new HelpRequestFrame(Guid.NewGuid(), At, "my screen froze", image);
        var json = Encoding.UTF8.GetString(AgentFrameCodec.Serialize(frame));
        json.ShouldContain("\"type\":\"helpRequest\"");
        json.ShouldContain($"\"screenshot\":\"{Convert.ToBase64String(image)}\"");
        AgentFrameCodec.TryRead(Encoding.UTF8.GetBytes(json), out var read, out _).ShouldBe(FrameReadError.None);
        var back = read.ShouldBeOfType<HelpRequestFrame>();
        (back.RequestId, back.CreatedAt, back.Note).ShouldBe((frame.RequestId, frame.CreatedAt, frame.Note));
        back.Screenshot.ShouldBe(image);

        foreach (AgentFrame answer in new AgentFrame[] { new HelpRequestAckFrame(frame.RequestId, HelpStatuses.WithTeacher), new HelpRequestAckFrame(frame.RequestId, Refused: HelpRefusals.TooManyOpen), new HelpStatusFrame(frame.RequestId, HelpStatuses.Resolved, true) })
        {
            AgentFrameCodec.TryRead(AgentFrameCodec.Serialize(answer), out var again, out _).ShouldBe(FrameReadError.None);
            again.ShouldBe(answer);
        }
    }

    [Fact]
    public void Codec_ScreenshotThatIsNotBase64_IsMalformed()
    {
        var json = $$"""{"type":"helpRequest","requestId":"{{Guid.NewGuid()}}","createdAt":"2026-09-02T10:00:00+00:00","screenshot":"not*base64"}""";
        AgentFrameCodec.TryRead(Encoding.UTF8.GetBytes(json), out _, out _).ShouldNotBe(FrameReadError.None);
    }
}
