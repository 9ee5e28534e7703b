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
/// is then checked row by row, pixel for pixel, in each column band: runs of changed rows that are the previous rows
/// moved become copies (side by side runs of the same rows merged into one rectangle), and of each changed tile only the
/// rows no copy rebuilds are encoded (newly exposed content, other changes). One distance per update: all copies move by the same vector, so ordering them along it (top first when
/// content moved up, bottom first when it moved down) never lets one copy overwrite another's source.
/// </summary>
public static class MoveDetector
{
    /// <summary>Fewer changed tiles than this are sent as they are: nothing worth finding.</summary>
    public const int MinChangedTiles = 4;

    /// <summary>Rows that must agree on a distance before it is tried.</summary>
    public const int MinVotes = 8;

    /// <summary>Fewer moved rows than this in a column are sent as pictures rather than copied.</summary>
    public const int MinRunRows = 8;

    /// <summary>Distances up to this are always tried.</summary>
    public const int NearShift = 64;

    /// <summary>Splits <paramref name="changed"/> tiles into copies and the parts of tiles still to send.</summary>
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

        // Per column band: which rows changed, and runs of changed rows that are the previous rows `shift` above (pixel for pixel).
        var bands = new Dictionary<(int X, int Width), (bool[] Changed, List<(int From, int To)> Runs)>();
        foreach (var band in changed.GroupBy(t => (t.X, t.Width)))
        {
            var (x, w) = band.Key;
            var changedRows = new bool[height];
            var runs = new List<(int From, int To)>();
            int runStart = -1, firstChanged = -1, lastChanged = -1, previousRow = -2;
            foreach (var tile in band.OrderBy(t => t.Y))
            {
                for (var y = tile.Y; y < tile.Y + tile.Height; y++)
                {
                    changedRows[y] = !RowEquals(current, y, previous, y, width, x, w);
                    var moved = y - shift >= 0 && y - shift < height && RowEquals(current, y, previous, y - shift, width, x, w);
                    if (!moved || y != previousRow + 1)
                    {
                        EndRun();
                    }

                    if (moved)
                    {
                        runStart = runStart < 0 ? y : runStart;
                        if (changedRows[y])
                        {
                            firstChanged = firstChanged < 0 ? y : firstChanged;
                            lastChanged = y;
                        }
                    }

                    previousRow = y;
                }
            }

            EndRun();
            bands[band.Key] = (changedRows, runs);

            // A run is copied from its first to its last changed row (unchanged rows at its ends need nothing).
            void EndRun()
            {
                if (runStart >= 0 && firstChanged >= 0 && lastChanged - firstChanged + 1 >= MinRunRows)
                {
                    runs.Add((firstChanged, lastChanged + 1));
                }

                (runStart, firstChanged, lastChanged) = (-1, -1, -1);
            }
        }

        // Runs of the same rows in neighbouring bands become one rectangle; past the limit, runs stay uncopied.
        var rects = new List<(int X, int Y, int Width, int Height)>();
        foreach (var (key, (_, runs)) in bands.OrderBy(b => b.Key.X))
        {
            foreach (var (from, to) in runs)
            {
                var at = rects.FindIndex(r => r.Y == from && r.Height == to - from && r.X + r.Width == key.X);
                if (at >= 0)
                {
                    rects[at] = (rects[at].X, rects[at].Y, rects[at].Width + key.Width, rects[at].Height);
                }
                else
                {
                    rects.Add((key.X, from, key.Width, to - from));
                }
            }
        }

        var copies = new List<RemoteCopy>();
        var covered = bands.ToDictionary(b => b.Key, _ => new bool[height]);
        foreach (var rect in rects.Take(RemoteLimits.MaxCopiesPerFrame))
        {
            copies.Add(new RemoteCopy(SourceX: rect.X, SourceY: rect.Y - shift, Width: rect.Width, Height: rect.Height, X: rect.X, Y: rect.Y));
            foreach (var (_, rows) in covered.Where(c => c.Key.X >= rect.X && c.Key.X < rect.X + rect.Width))
            {
                Array.Fill(rows, true, rect.Y, rect.Height);
            }
        }

        // Content moved up (shift < 0): every source lies below its destination, so the topmost copy goes first.
        copies.Sort((a, b) => shift < 0 ? a.Y.CompareTo(b.Y) : b.Y.CompareTo(a.Y));

        // What is left of each changed tile: its rows from the first to the last that changed and no copy rebuilds.
        var tiles = new List<(int X, int Y, int Width, int Height)>();
        foreach (var tile in changed)
        {
            var (rowsChanged, _) = bands[(tile.X, tile.Width)];
            var rowsCovered = covered[(tile.X, tile.Width)];
            int first = -1, last = -1;
            for (var y = tile.Y; y < tile.Y + tile.Height; y++)
            {
                if (rowsChanged[y] && !rowsCovered[y])
                {
                    first = first < 0 ? y : first;
                    last = y;
                }
            }

            if (first >= 0)
            {
                tiles.Add((tile.X, first, tile.Width, last - first + 1));
            }
        }

        return new ScreenDiff(copies, tiles);
    }

    private static bool RowEquals(byte[] a, int rowA, byte[] b, int rowB, int width, int x, int w) =>
        a.AsSpan(((rowA * width) + x) * 3, w * 3).SequenceEqual(b.AsSpan(((rowB * width) + x) * 3, w * 3));

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
