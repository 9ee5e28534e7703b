using Homeroom.Agent.Session;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The local channel's checks of the safety screenshot messages (<see cref="SessionMessages.Validate"/>): the service reads
/// a helper's <c>safetyScreenshot</c> only as a JPEG within its limit, or as a short reason without an image; a message that
/// breaks them closes that helper's connection (<see cref="SessionChannel.ReadAsync"/>).
/// </summary>
public sealed class SafetyScreenshotMessageTests
{
    private static byte[] Jpeg(int length)
    {
        var image = new byte[length];
        image[0] = 0xFF;
        image[1] = 0xD8;
        image[2] = 0xFF;
        return image;
    }

    private static SessionMessage Shot(byte[]? image, bool ok = true, string? text = null) =>
        new(SessionMessages.SafetyScreenshot, Guid.NewGuid(), Ok: ok, Image: image, Text: text, CapturedAt: ok ? DateTimeOffset.UtcNow : null);

    [Fact]
    public void Validate_AJpegWithinTheLimit_IsTaken()
    {
        SessionMessages.Validate(Shot(Jpeg(SessionMessages.MaxSafetyScreenshotBytes)), fromHelper: true).ShouldBeNull();
        SessionMessages.Validate(Shot(null, ok: false, text: "the screen could not be captured: no display"), fromHelper: true).ShouldBeNull();
        SessionMessages.Validate(new SessionMessage(SessionMessages.SafetyCapture, Guid.NewGuid()), fromHelper: false).ShouldBeNull();
    }

    [Fact]
    public void Validate_AnOversizedImage_IsRefused() =>
        SessionMessages.Validate(Shot(Jpeg(SessionMessages.MaxSafetyScreenshotBytes + 1)), fromHelper: true)
            .ShouldBe("safetyScreenshot needs a JPEG of at most 192 KiB and its capture time");

    [Fact]
    public void Validate_AnImageThatIsNotAJpeg_IsRefused() =>
        SessionMessages.Validate(Shot("GIF89a-not-a-jpeg"u8.ToArray()), fromHelper: true).ShouldBe("safetyScreenshot is not a JPEG");

    [Fact]
    public void Validate_AnImageWithoutItsCaptureTimeOrId_IsRefused()
    {
        SessionMessages.Validate(Shot(Jpeg(100)) with { CapturedAt = null }, fromHelper: true).ShouldBe("safetyScreenshot needs a JPEG of at most 192 KiB and its capture time");
        SessionMessages.Validate(Shot(Jpeg(100)) with { Id = null }, fromHelper: true).ShouldBe("safetyScreenshot needs the capture id and ok");
        SessionMessages.Validate(Shot(Jpeg(100)) with { Id = Guid.Empty }, fromHelper: true).ShouldBe("safetyScreenshot needs the capture id and ok");
    }

    [Fact]
    public void Validate_AFailureWithAnImageOrWithoutAShortReason_IsRefused()
    {
        const string Reason = "safetyScreenshot without an image needs a short reason and no image";
        SessionMessages.Validate(Shot(Jpeg(100), ok: false, text: "failed"), fromHelper: true).ShouldBe(Reason);
        SessionMessages.Validate(Shot(null, ok: false), fromHelper: true).ShouldBe(Reason);
        SessionMessages.Validate(Shot(null, ok: false, text: new string('x', ProtocolLimits.MaxShortText + 1)), fromHelper: true).ShouldBe(Reason);
    }

    [Fact]
    public void Validate_EachMessage_OnlyFromItsOwnSide()
    {
        // A helper cannot send the service a capture request, nor the service send a helper a screenshot.
        SessionMessages.Validate(new SessionMessage(SessionMessages.SafetyCapture, Guid.NewGuid()), fromHelper: true).ShouldBe("unexpected message type 'safetyCapture'");
        SessionMessages.Validate(Shot(Jpeg(100)), fromHelper: false).ShouldBe("unexpected message type 'safetyScreenshot'");
        SessionMessages.Validate(new SessionMessage(SessionMessages.SafetyCapture), fromHelper: false).ShouldBe("safetyCapture needs the capture id");
    }
}
