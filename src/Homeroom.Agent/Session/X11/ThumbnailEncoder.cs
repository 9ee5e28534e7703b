using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Homeroom.Agent.Session.X11;

/// <summary>Screen captures to thumbnails, off the X thread.</summary>
public static class ThumbnailEncoder
{
    public static async Task<byte[]> EncodeAsync(Task<(byte[] Rgb, int Width, int Height)> capture, int maxWidth, int maxBytes)
    {
        var (rgb, width, height) = await capture;
        return Encode(rgb, width, height, maxWidth, maxBytes);
    }

    /// <summary>JPEG at falling quality, then smaller, until it fits <paramref name="maxBytes"/>.</summary>
    public static byte[] Encode(byte[] rgb, int width, int height, int maxWidth, int maxBytes)
    {
        using var image = Image.LoadPixelData<Rgb24>(rgb, width, height);
        var targetWidth = Math.Clamp(maxWidth, 16, width);
        while (true)
        {
            var targetHeight = Math.Max(1, (int)((long)height * targetWidth / width));
            using var scaled = image.Clone(x => x.Resize(targetWidth, targetHeight, KnownResamplers.Box));
            foreach (var quality in (int[])[60, 45, 30, 20])
            {
                using var output = new MemoryStream();
                scaled.SaveAsJpeg(output, new JpegEncoder { Quality = quality });
                if (output.Length <= maxBytes || (quality == 20 && targetWidth <= 32))
                {
                    return output.ToArray();
                }
            }

            targetWidth /= 2;
        }
    }
}
