using Homeroom.Contracts.Agents;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Homeroom.Agent.Session;

/// <summary>What changed between two captures: regions that moved (to copy first, in order) and the tiles to send as pictures.</summary>
public sealed record ScreenDiff(List<RemoteCopy> Copies, List<(int X, int Y, int Width, int Height)> Tiles);

/// <summary>Which tiles of a screen changed since the previous capture (the first capture, or a new screen size: all of them).</summary>
public sealed class TileDiffer(int tileSize = TileDiffer.DefaultTileSize)
{
    public const int DefaultTileSize = 64;

    private byte[]? _previous;
    private int _width;
    private int _height;

    /// <summary>The changed tiles of <paramref name="rgb"/> (3 bytes a pixel, row by row); it becomes the previous capture.</summary>
    public List<(int X, int Y, int Width, int Height)> Changed(byte[] rgb, int width, int height) => Diff(rgb, width, height, detectMoves: false).Tiles;

    /// <summary>
    /// The changed tiles of <paramref name="rgb"/>, with those whose content only moved vertically (scrolling) turned into
    /// copies from the previous capture when <paramref name="detectMoves"/>; it becomes the previous capture.
    /// </summary>
    public ScreenDiff Diff(byte[] rgb, int width, int height, bool detectMoves = true)
    {
        var previous = _previous;
        var all = previous is null || width != _width || height != _height;
        var changed = new List<(int, int, int, int)>();
        for (var y = 0; y < height; y += tileSize)
        {
            var h = Math.Min(tileSize, height - y);
            for (var x = 0; x < width; x += tileSize)
            {
                var w = Math.Min(tileSize, width - x);
                if (all || !Same(rgb, previous!, width, x, y, w, h))
                {
                    changed.Add((x, y, w, h));
                }
            }
        }

        (_previous, _width, _height) = (rgb, width, height);
        return all || !detectMoves ? new ScreenDiff([], changed) : MoveDetector.Split(previous!, rgb, width, height, changed);
    }

    /// <summary>Forgets the previous capture: the next one sends every tile.</summary>
    public void Reset() => _previous = null;

    private static bool Same(byte[] a, byte[] b, int width, int x, int y, int w, int h)
    {
        for (var row = y; row < y + h; row++)
        {
            var at = ((row * width) + x) * 3;
            if (!a.AsSpan(at, w * 3).SequenceEqual(b.AsSpan(at, w * 3)))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// Finds changed tiles whose content is the previous capture's moved up or down (a scrolled page, list or document), in
/// the manner of VNC's CopyRect: per column band of tiles, each changed row's hash is looked up among the previous
/// capture's rows of that band (a row whose hash occurs twice, such as a blank one, cannot vote), and each hit votes for
/// the distance it moved; those distances and every short one are scored by how many changed rows they explain. The best
/// is then checked tile by tile, pixel for pixel; the tiles that
/// match are merged into rectangles and become copies, and only the rest (newly exposed content, other changes) are
/// encoded. One distance per update: all copies move by the same vector, so ordering them along it (top first when
/// content moved up, bottom first when it moved down) never lets one copy overwrite another's source.
/// </summary>
public static class MoveDetector
{
    /// <summary>Fewer changed tiles than this are sent as they are: nothing worth finding.</summary>
    public const int MinChangedTiles = 4;

    /// <summary>Rows that must agree on a distance before it is tried.</summary>
    public const int MinVotes = 8;

    /// <summary>Distances up to this are always tried.</summary>
    public const int NearShift = 64;

    /// <summary>Splits <paramref name="changed"/> tiles into copies and tiles still to send.</summary>
    public static ScreenDiff Split(byte[] previous, byte[] current, int width, int height, List<(int X, int Y, int Width, int Height)> changed)
    {
        if (changed.Count < MinChangedTiles)
        {
            return new ScreenDiff([], changed);
        }

        var shift = BestShift(previous, current, width, height, changed);
        if (shift == 0)
        {
            return new ScreenDiff([], changed);
        }

        var moved = new List<(int X, int Y, int Width, int Height)>();
        var tiles = new List<(int X, int Y, int Width, int Height)>();
        foreach (var tile in changed)
        {
            (Moved(previous, current, width, height, tile, shift) ? moved : tiles).Add(tile);
        }

        var copies = new List<RemoteCopy>();
        foreach (var rect in Merge(moved))
        {
            if (copies.Count == RemoteLimits.MaxCopiesPerFrame)
            {
                // Too many separate moved regions: the rest is sent as pictures, tile by tile.
                tiles.AddRange(moved.Where(t => t.X >= rect.X && t.X < rect.X + rect.Width && t.Y >= rect.Y && t.Y < rect.Y + rect.Height));
                continue;
            }

            copies.Add(new RemoteCopy(SourceX: rect.X, SourceY: rect.Y - shift, Width: rect.Width, Height: rect.Height, X: rect.X, Y: rect.Y));
        }

        // Content moved up (shift < 0): every source lies below its destination, so the topmost copy goes first.
        copies.Sort((a, b) => shift < 0 ? a.Y.CompareTo(b.Y) : b.Y.CompareTo(a.Y));
        return new ScreenDiff(copies, tiles);
    }

    /// <summary>
    /// The vertical distance (destination row minus source row) most changed rows moved by; 0 when none is clear. The
    /// distances tried are those that rows with a unique hash vote for (any length of scroll) and every distance up to
    /// <see cref="NearShift"/> (short scrolls of repetitive content, where no row is unique); each is scored by the changed
    /// rows it explains, and the shortest wins a tie.
    /// </summary>
    private static int BestShift(byte[] previous, byte[] current, int width, int height, List<(int X, int Y, int Width, int Height)> changed)
    {
        var bands = new List<(int[] Before, int[] After, List<int> Rows)>();
        var candidates = new Dictionary<int, int>();
        var unique = new Dictionary<int, int>();
        foreach (var band in changed.GroupBy(t => (t.X, t.Width)))
        {
            var (x, w) = band.Key;
            var before = new int[height];
            var after = new int[height];
            unique.Clear();
            for (var y = 0; y < height; y++)
            {
                before[y] = RowHash(previous, width, x, y, w);
                unique[before[y]] = unique.ContainsKey(before[y]) ? -1 : y;
            }

            var rows = new List<int>();
            foreach (var tile in band)
            {
                for (var y = tile.Y; y < tile.Y + tile.Height; y++)
                {
                    after[y] = RowHash(current, width, x, y, w);
                    if (after[y] == before[y])
                    {
                        continue; // an unchanged row cannot tell how far anything moved
                    }

                    rows.Add(y);
                    if (unique.TryGetValue(after[y], out var from) && from >= 0)
                    {
                        candidates[y - from] = candidates.GetValueOrDefault(y - from) + 1;
                    }
                }
            }

            bands.Add((before, after, rows));
        }

        var tried = candidates.Where(c => c.Value >= MinVotes).Select(c => c.Key)
            .Concat(Enumerable.Range(-NearShift, (2 * NearShift) + 1)).Where(s => s != 0).Distinct();
        var (best, bestScore) = (0, MinVotes - 1);
        foreach (var shift in tried)
        {
            var score = 0;
            foreach (var (before, after, rows) in bands)
            {
                foreach (var y in rows)
                {
                    if (y - shift >= 0 && y - shift < height && after[y] == before[y - shift])
                    {
                        score++;
                    }
                }
            }

            if (score > bestScore || (score == bestScore && best != 0 && Math.Abs(shift) < Math.Abs(best)))
            {
                (best, bestScore) = (shift, score);
            }
        }

        return best;
    }

    private static int RowHash(byte[] rgb, int width, int x, int y, int w)
    {
        var hash = default(HashCode);
        hash.AddBytes(rgb.AsSpan(((y * width) + x) * 3, w * 3));
        return hash.ToHashCode();
    }

    /// <summary>Whether every row of the tile in <paramref name="current"/> is the previous capture's row <paramref name="shift"/> above it.</summary>
    private static bool Moved(byte[] previous, byte[] current, int width, int height, (int X, int Y, int Width, int Height) tile, int shift)
    {
        if (tile.Y - shift < 0 || tile.Y - shift + tile.Height > height)
        {
            return false;
        }

        for (var y = tile.Y; y < tile.Y + tile.Height; y++)
        {
            if (!current.AsSpan(((y * width) + tile.X) * 3, tile.Width * 3).SequenceEqual(previous.AsSpan((((y - shift) * width) + tile.X) * 3, tile.Width * 3)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Moved tiles merged into fewer rectangles: runs down each column, then side by side runs of the same rows.</summary>
    private static List<(int X, int Y, int Width, int Height)> Merge(List<(int X, int Y, int Width, int Height)> moved)
    {
        var runs = new List<(int X, int Y, int Width, int Height)>();
        foreach (var column in moved.GroupBy(t => (t.X, t.Width)).OrderBy(c => c.Key.X))
        {
            (int X, int Y, int Width, int Height)? run = null;
            foreach (var tile in column.OrderBy(t => t.Y))
            {
                if (run is { } r && r.Y + r.Height == tile.Y)
                {
                    run = (r.X, r.Y, r.Width, r.Height + tile.Height);
                    continue;
                }

                if (run is { } done)
                {
                    runs.Add(done);
                }

                run = tile;
            }

            if (run is { } last)
            {
                runs.Add(last);
            }
        }

        var merged = new List<(int X, int Y, int Width, int Height)>();
        foreach (var run in runs.OrderBy(r => r.Y).ThenBy(r => r.Height).ThenBy(r => r.X))
        {
            if (merged.Count > 0 && merged[^1] is var m && m.Y == run.Y && m.Height == run.Height && m.X + m.Width == run.X)
            {
                merged[^1] = (m.X, m.Y, m.Width + run.Width, m.Height);
            }
            else
            {
                merged.Add(run);
            }
        }

        return merged;
    }
}

/// <summary>
/// Streams a remote session's screen: captures at up to the session's rate, sends only the tiles that changed (each a
/// JPEG, except content that scrolled, sent as a copy of what the viewer already has: <see cref="MoveDetector"/>) as <see cref="RemoteScreenFrame"/>s, and adapts to the server's acknowledgements: while more than
/// <see cref="WindowBytes"/> are unacknowledged it skips captures and lowers the JPEG quality; once the backlog is small
/// again it raises the quality step by step. An update larger than <see cref="SessionMessages.MaxRemoteFrameBytes"/> is
/// split into several frames.
/// </summary>
public sealed class RemoteStreamer(Guid sessionId, Func<Task<(byte[] Rgb, int Width, int Height)>> capture, Func<byte[], Task> send)
{
    /// <summary>Unacknowledged bytes above which the streamer waits and lowers quality.</summary>
    public const int WindowBytes = 384 * 1024;

    public const int MaxQuality = 70;
    public const int MinQuality = 25;

    private readonly TileDiffer _differ = new();
    private readonly Queue<(long Sequence, long Cumulative)> _inFlight = new();
    private readonly Lock _gate = new();
    private long _sequence;
    private long _sentBytes;
    private long _ackedBytes;

    /// <summary>The JPEG quality in use.</summary>
    public int Quality { get; private set; } = 60;

    /// <summary>Frames sent.</summary>
    public long Frames => Interlocked.Read(ref _sequence);

    /// <summary>Bytes sent.</summary>
    public long SentBytes => Interlocked.Read(ref _sentBytes);

    /// <summary>Moved regions sent as copies instead of pictures.</summary>
    public long Copied { get; private set; }

    /// <summary>Captures skipped because too much was unacknowledged.</summary>
    public long Skipped { get; private set; }

    /// <summary>Bytes sent but not yet acknowledged.</summary>
    public long Unacknowledged
    {
        get
        {
            lock (_gate)
            {
                return _sentBytes - _ackedBytes;
            }
        }
    }

    /// <summary>The server delivered every frame up to <paramref name="sequence"/>.</summary>
    public void Acknowledge(long sequence)
    {
        lock (_gate)
        {
            while (_inFlight.TryPeek(out var head) && head.Sequence <= sequence)
            {
                _ackedBytes = _inFlight.Dequeue().Cumulative;
            }
        }
    }

    /// <summary>Captures and sends every <paramref name="interval"/> until cancelled.</summary>
    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        do
        {
            await TickAsync();
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    /// <summary>One capture: sends the changed tiles (nothing when none changed or the backlog is too large). True when something was sent.</summary>
    public async Task<bool> TickAsync()
    {
        if (Unacknowledged > WindowBytes)
        {
            Quality = Math.Max(MinQuality, Quality - 10);
            Skipped++;
            return false;
        }

        var (rgb, width, height) = await capture();
        var diff = _differ.Diff(rgb, width, height);
        if (diff.Copies.Count == 0 && diff.Tiles.Count == 0)
        {
            return false;
        }

        Copied += diff.Copies.Count;
        var quality = Quality;
        var copies = diff.Copies; // in the first frame of the update only: the viewer applies them before any tile
        var tiles = new List<RemoteTile>();
        var size = RemoteScreenFrame.HeaderLength + (copies.Count == 0 ? 0 : RemoteScreenFrame.CopyCountLength + (copies.Count * RemoteScreenFrame.CopyLength));
        foreach (var (x, y, w, h) in diff.Tiles)
        {
            var jpeg = EncodeTile(rgb, width, x, y, w, h, quality);
            if (tiles.Count > 0 && (size + RemoteScreenFrame.TileHeaderLength + jpeg.Length > SessionMessages.MaxRemoteFrameBytes || tiles.Count == RemoteLimits.MaxTilesPerFrame))
            {
                await SendAsync(copies, tiles, width, height);
                copies = [];
                tiles.Clear();
                size = RemoteScreenFrame.HeaderLength;
            }

            tiles.Add(new RemoteTile(x, y, w, h, jpeg));
            size += RemoteScreenFrame.TileHeaderLength + jpeg.Length;
        }

        await SendAsync(copies, tiles, width, height);
        if (Unacknowledged < WindowBytes / 4 && Quality < MaxQuality)
        {
            Quality = Math.Min(MaxQuality, Quality + 5);
        }

        return true;
    }

    private async Task SendAsync(List<RemoteCopy> copies, List<RemoteTile> tiles, int width, int height)
    {
        var sequence = Interlocked.Increment(ref _sequence);
        var frame = RemoteScreenFrame.Encode(sessionId, sequence, width, height, copies, tiles);
        lock (_gate)
        {
            _sentBytes += frame.Length;
            _inFlight.Enqueue((sequence, _sentBytes));
        }

        await send(frame);
    }

    /// <summary>One tile of a capture as a JPEG.</summary>
    public static byte[] EncodeTile(byte[] rgb, int screenWidth, int x, int y, int w, int h, int quality)
    {
        var pixels = new byte[w * h * 3];
        for (var row = 0; row < h; row++)
        {
            rgb.AsSpan((((y + row) * screenWidth) + x) * 3, w * 3).CopyTo(pixels.AsSpan(row * w * 3));
        }

        using var image = Image.LoadPixelData<Rgb24>(pixels, w, h);
        using var output = new MemoryStream();
        image.SaveAsJpeg(output, new JpegEncoder { Quality = quality });
        return output.ToArray();
    }
}
