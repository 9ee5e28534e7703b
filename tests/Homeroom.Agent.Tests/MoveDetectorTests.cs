using Homeroom.Agent.Session;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The streamer's diff with moved regions against a plain reference: the viewer's picture is the previous capture, each
/// copy is applied one after the other with a naive pixel-by-pixel copy (the source read whole first), then each tile is
/// painted with the new capture's pixels; the result must be the new capture exactly, on many random screens with random
/// scrolls and changes.
/// </summary>
public sealed class MoveDetectorTests
{
    [Fact]
    public void Diff_RandomScreensScrollsAndChanges_RebuildsTheNewCaptureExactly()
    {
        var random = new Random(2126);
        var copiesSeen = 0;
        var tilesSaved = 0;
        for (var round = 0; round < 300; round++)
        {
            var width = random.Next(1, 7) * 64 + random.Next(0, 64);
            var height = random.Next(1, 6) * 64 + random.Next(0, 64);
            var previous = Screen(random, width, height);
            var current = previous.ToArray();
            var scrolls = random.Next(0, 3);
            for (var s = 0; s < scrolls; s++)
            {
                Scroll(random, current, width, height);
            }

            for (var c = random.Next(0, 4); c > 0; c--)
            {
                int w = random.Next(1, 40), h = random.Next(1, 40);
                Noise(random, current, width, random.Next(0, width - Math.Min(w, width) + 1), random.Next(0, height - Math.Min(h, height) + 1), Math.Min(w, width), Math.Min(h, height));
            }

            var differ = new TileDiffer();
            differ.Diff(previous, width, height).Copies.ShouldBeEmpty();
            var naive = new TileDiffer();
            naive.Changed(previous, width, height);
            var plain = naive.Changed(current, width, height);
            var diff = differ.Diff(current, width, height);

            var picture = previous.ToArray();
            foreach (var copy in diff.Copies)
            {
                (copy.SourceX + copy.Width).ShouldBeLessThanOrEqualTo(width);
                (copy.SourceY + copy.Height).ShouldBeLessThanOrEqualTo(height);
                (copy.X + copy.Width).ShouldBeLessThanOrEqualTo(width);
                (copy.Y + copy.Height).ShouldBeLessThanOrEqualTo(height);
                var source = picture.ToArray();
                for (var y = 0; y < copy.Height; y++)
                {
                    for (var x = 0; x < copy.Width; x++)
                    {
                        for (var b = 0; b < 3; b++)
                        {
                            picture[((((copy.Y + y) * width) + copy.X + x) * 3) + b] = source[((((copy.SourceY + y) * width) + copy.SourceX + x) * 3) + b];
                        }
                    }
                }
            }

            foreach (var (tx, ty, tw, th) in diff.Tiles)
            {
                tw.ShouldBeLessThanOrEqualTo(TileDiffer.DefaultTileSize);
                th.ShouldBeLessThanOrEqualTo(TileDiffer.DefaultTileSize);
                for (var y = ty; y < ty + th; y++)
                {
                    for (var x = tx; x < tx + tw; x++)
                    {
                        for (var b = 0; b < 3; b++)
                        {
                            picture[(((y * width) + x) * 3) + b] = current[(((y * width) + x) * 3) + b];
                        }
                    }
                }
            }

            picture.SequenceEqual(current).ShouldBeTrue($"round {round}: {width}x{height}, {diff.Copies.Count} copies, {diff.Tiles.Count} tiles");
            diff.Tiles.Count.ShouldBeLessThanOrEqualTo(plain.Count);
            copiesSeen += diff.Copies.Count;
            tilesSaved += plain.Count - diff.Tiles.Count;
        }

        // The rounds with scrolls must actually have been sent as copies, or the comparison above proved little.
        copiesSeen.ShouldBeGreaterThan(40);
        tilesSaved.ShouldBeGreaterThan(100);
    }

    [Fact]
    public void Diff_PageScrolledUp40Pixels_SendsOneCopyAndOnlyTheExposedRows()
    {
        const int width = 1366, height = 768;
        var random = new Random(21);
        var previous = Screen(random, width, height);
        var current = previous.ToArray();
        // The region x 128 to 1024, y 64 to 704 scrolls up by 40 pixels; 40 new rows appear at its bottom.
        for (var y = 64; y < 704 - 40; y++)
        {
            Array.Copy(previous, (((y + 40) * width) + 128) * 3, current, ((y * width) + 128) * 3, 896 * 3);
        }

        Noise(random, current, width, 128, 664, 896, 40);
        var differ = new TileDiffer();
        differ.Diff(previous, width, height);

        var diff = differ.Diff(current, width, height);

        // One copy of the moved rows, from the first to the last that changed (a blank row scrolled onto a blank row did not).
        bool RowChanged(int y) => !previous.AsSpan(((y * width) + 128) * 3, 896 * 3).SequenceEqual(current.AsSpan(((y * width) + 128) * 3, 896 * 3));
        var first = Enumerable.Range(64, 600).First(RowChanged);
        var last = Enumerable.Range(64, 600).Last(RowChanged);
        diff.Copies.ShouldBe([new RemoteCopy(128, first + 40, 896, last - first + 1, 128, first)]);
        // Only the 40 new rows are sent, as the lower part of each tile of the region's last row of tiles.
        diff.Tiles.ShouldBe([.. Enumerable.Range(2, 14).Select(c => (c * 64, 664, 64, 40))]);
    }

    [Fact]
    public void Diff_ContentThatDidNotMove_HasNoCopies()
    {
        var random = new Random(7);
        var previous = Screen(random, 640, 480);
        var current = Screen(random, 640, 480);
        var differ = new TileDiffer();
        differ.Diff(previous, 640, 480);

        var diff = differ.Diff(current, 640, 480);

        diff.Copies.ShouldBeEmpty();
        diff.Tiles.Count.ShouldBe(10 * 8);
    }

    // A page-like screen: rows of text-like noise between blank bands (blank rows repeat, so they cannot vote).
    private static byte[] Screen(Random random, int width, int height)
    {
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)0xF0);
        for (var y = 0; y < height; y++)
        {
            if (random.Next(4) > 0)
            {
                Noise(random, rgb, width, 0, y, width, 1);
            }
        }

        return rgb;
    }

    private static void Noise(Random random, byte[] rgb, int width, int x, int y, int w, int h)
    {
        for (var row = y; row < y + h; row++)
        {
            random.NextBytes(rgb.AsSpan(((row * width) + x) * 3, w * 3));
        }
    }

    // A random region's content moves up or down by a random distance; what scrolls in is new.
    private static void Scroll(Random random, byte[] rgb, int width, int height)
    {
        // Half of them a window-sized region moved a little (as a page scrolls), half anything at all.
        var large = random.Next(2) == 0;
        int w = large ? random.Next((width / 2) + 1, width + 1) : random.Next(1, width + 1);
        int h = large ? random.Next((height / 2) + 2, height + 1) : random.Next(2, height + 1);
        int x = random.Next(0, width - w + 1), y = random.Next(0, height - h + 1);
        var shift = random.Next(1, large ? Math.Max(2, h / 3) : h) * (random.Next(2) == 0 ? -1 : 1);
        var before = rgb.ToArray();
        for (var row = y; row < y + h; row++)
        {
            var from = row - shift;
            if (from >= y && from < y + h)
            {
                Array.Copy(before, ((from * width) + x) * 3, rgb, ((row * width) + x) * 3, w * 3);
            }
            else
            {
                Noise(random, rgb, width, x, row, w, 1);
            }
        }
    }
}
