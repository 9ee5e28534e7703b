using System.Buffers.Binary;

namespace Homeroom.Contracts.Agents;

/// <summary>Image formats a thumbnail may use.</summary>
public enum ThumbnailFormat : byte
{
    /// <summary>JPEG.</summary>
    Jpeg = 1,
    /// <summary>WebP.</summary>
    Webp = 2,
    /// <summary>PNG.</summary>
    Png = 3,
}

/// <summary>
/// A binary frame carrying one screen thumbnail. Layout (big-endian): byte 0 is the frame kind
/// (<see cref="Kind"/>), byte 1 the <see cref="ThumbnailFormat"/>, bytes 2 to 9 the capture time in
/// Unix milliseconds, and the rest the encoded image. The server passes the image through unread.
/// </summary>
public static class ThumbnailFrame
{
    /// <summary>The frame kind byte for thumbnails.</summary>
    public const byte Kind = 1;

    /// <summary>Bytes before the image.</summary>
    public const int HeaderLength = 10;

    /// <summary>Writes the header and image into one array.</summary>
    public static byte[] Encode(ThumbnailFormat format, DateTimeOffset capturedAt, ReadOnlySpan<byte> image)
    {
        var frame = new byte[HeaderLength + image.Length];
        frame[0] = Kind;
        frame[1] = (byte)format;
        BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(2), capturedAt.ToUnixTimeMilliseconds());
        image.CopyTo(frame.AsSpan(HeaderLength));
        return frame;
    }

    /// <summary>Reads the header; false when the frame is not a well-formed thumbnail.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> frame, out ThumbnailFormat format, out DateTimeOffset capturedAt, out int imageOffset)
    {
        imageOffset = HeaderLength;
        return TryReadImageHeader(frame, Kind, HeaderLength, out format, out capturedAt);
    }

    /// <summary>
    /// Reads the part every image frame shares (kind, format, capture time); false when the kind is
    /// not <paramref name="kind"/>, the format or time is invalid, or no image byte follows <paramref name="headerLength"/>.
    /// </summary>
    internal static bool TryReadImageHeader(ReadOnlySpan<byte> frame, byte kind, int headerLength, out ThumbnailFormat format, out DateTimeOffset capturedAt)
    {
        format = default;
        capturedAt = default;
        if (frame.Length <= headerLength || frame[0] != kind || !Enum.IsDefined((ThumbnailFormat)frame[1]))
        {
            return false;
        }

        var millis = BinaryPrimitives.ReadInt64BigEndian(frame[2..]);
        if (millis is < 0 or > 253_402_300_799_999)
        {
            return false;
        }

        format = (ThumbnailFormat)frame[1];
        capturedAt = DateTimeOffset.FromUnixTimeMilliseconds(millis);
        return true;
    }
}
