using Homeroom.Contracts.Agents;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Homeroom.Agent.Session;

/// <summary>Which tiles of a screen changed since the previous capture (the first capture, or a new screen size: all of them).</summary>
public sealed class TileDiffer(int tileSize = TileDiffer.DefaultTileSize)
{
    public const int DefaultTileSize = 64;

    private byte[]? _previous;
    private int _width;
    private int _height;

    /// <summary>The changed tiles of <paramref name="rgb"/> (3 bytes a pixel, row by row); it becomes the previous capture.</summary>
    public List<(int X, int Y, int Width, int Height)> Changed(byte[] rgb, int width, int height)
    {
        var all = _previous is null || width != _width || height != _height;
        var changed = new List<(int, int, int, int)>();
        for (var y = 0; y < height; y += tileSize)
        {
            var h = Math.Min(tileSize, height - y);
            for (var x = 0; x < width; x += tileSize)
            {
                var w = Math.Min(tileSize, width - x);
                if (all || !Same(rgb, _previous!, width, x, y, w, h))
                {
                    changed.Add((x, y, w, h));
                }
            }
        }

        (_previous, _width, _height) = (rgb, width, height);
        return changed;
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
/// Streams a remote session's screen: captures at up to the session's rate, sends only the tiles that changed (each a
/// JPEG) as <see cref="RemoteScreenFrame"/>s, and adapts to the server's acknowledgements: while more than
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
        var changed = _differ.Changed(rgb, width, height);
        if (changed.Count == 0)
        {
            return false;
        }

        var quality = Quality;
        var tiles = new List<RemoteTile>();
        var size = RemoteScreenFrame.HeaderLength;
        foreach (var (x, y, w, h) in changed)
        {
            var jpeg = EncodeTile(rgb, width, x, y, w, h, quality);
            if (tiles.Count > 0 && (size + RemoteScreenFrame.TileHeaderLength + jpeg.Length > SessionMessages.MaxRemoteFrameBytes || tiles.Count == RemoteLimits.MaxTilesPerFrame))
            {
                await SendAsync(tiles, width, height);
                tiles.Clear();
                size = RemoteScreenFrame.HeaderLength;
            }

            tiles.Add(new RemoteTile(x, y, w, h, jpeg));
            size += RemoteScreenFrame.TileHeaderLength + jpeg.Length;
        }

        await SendAsync(tiles, width, height);
        if (Unacknowledged < WindowBytes / 4 && Quality < MaxQuality)
        {
            Quality = Math.Min(MaxQuality, Quality + 5);
        }

        return true;
    }

    private async Task SendAsync(List<RemoteTile> tiles, int width, int height)
    {
        var sequence = Interlocked.Increment(ref _sequence);
        var frame = RemoteScreenFrame.Encode(sessionId, sequence, width, height, tiles);
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
