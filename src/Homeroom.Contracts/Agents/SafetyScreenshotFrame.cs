using System.Buffers.Binary;

namespace Homeroom.Contracts.Agents;

/// <summary>
/// A binary frame carrying the screenshot a <see cref="SafetyCaptureFrame"/> asked for. Layout
/// (big-endian): byte 0 is the frame kind (<see cref="Kind"/>), byte 1 the image format (as
/// <see cref="ThumbnailFormat"/>), bytes 2 to 9 the capture time in Unix milliseconds, bytes 10 to 25
/// the capture id (RFC 4122 byte order), and the rest the encoded image (at least one byte).
/// </summary>
public static class SafetyScreenshotFrame
{
    /// <summary>The frame kind byte for safety screenshots.</summary>
    public const byte Kind = 2;

    /// <summary>Bytes before the image.</summary>
    public const int HeaderLength = 26;

    /// <summary>Writes the header and image into one array.</summary>
    public static byte[] Encode(ThumbnailFormat format, DateTimeOffset capturedAt, Guid captureId, ReadOnlySpan<byte> image)
    {
        var frame = new byte[HeaderLength + image.Length];
        frame[0] = Kind;
        frame[1] = (byte)format;
        BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(2), capturedAt.ToUnixTimeMilliseconds());
        captureId.TryWriteBytes(frame.AsSpan(10, 16), bigEndian: true, out _);
        image.CopyTo(frame.AsSpan(HeaderLength));
        return frame;
    }

    /// <summary>Reads the header; false when the frame is not a well-formed safety screenshot.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> frame, out ThumbnailFormat format, out DateTimeOffset capturedAt, out Guid captureId, out int imageOffset)
    {
        captureId = default;
        imageOffset = HeaderLength;
        if (!ThumbnailFrame.TryReadImageHeader(frame, Kind, HeaderLength, out format, out capturedAt))
        {
            return false;
        }

        captureId = new Guid(frame.Slice(10, 16), bigEndian: true);
        return true;
    }
}
