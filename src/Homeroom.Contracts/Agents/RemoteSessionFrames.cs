using System.Buffers.Binary;

namespace Homeroom.Contracts.Agents;

/// <summary>What a remote session may do.</summary>
public static class RemoteModes
{
    /// <summary>The technician sees the screen.</summary>
    public const string View = "view";

    /// <summary>The technician sees the screen and sends pointer and keyboard input.</summary>
    public const string Control = "control";

    /// <summary>Whether <paramref name="mode"/> is a known mode.</summary>
    public static bool IsKnown(string? mode) => mode is View or Control;
}

/// <summary>The states a <see cref="RemoteSessionStatusFrame"/> reports.</summary>
public static class RemoteSessionStatuses
{
    /// <summary>The student accepted, or only a notice was required: screen updates follow.</summary>
    public const string Accepted = "accepted";

    /// <summary>The student declined, or did not answer in time: nothing streams and the session is over.</summary>
    public const string Declined = "declined";

    /// <summary>The session ended on the device (the student ended it from the banner, or the helper went away).</summary>
    public const string Ended = "ended";
}

/// <summary>
/// Server → agent: starts (<paramref name="Active"/> true) or stops a remote support session. Sent only to an agent
/// that reports the <see cref="CapabilityNames.RemoteSession"/> capability as available, or (in
/// <see cref="RemoteModes.View"/> only) <see cref="CapabilityNames.RemoteView"/>; an agent that does not know this frame
/// is never sent it. While a session is active the device shows a banner naming the technician; when
/// <paramref name="ConsentRequired"/> the student is asked first and nothing is captured before they accept.
/// </summary>
/// <param name="SessionId">The session.</param>
/// <param name="Active">True to start, false to stop.</param>
/// <param name="TechnicianName">Who connects, shown to the student.</param>
/// <param name="Mode"><see cref="RemoteModes.View"/> or <see cref="RemoteModes.Control"/>.</param>
/// <param name="ConsentRequired">Ask the student first (else a notice is enough).</param>
/// <param name="MaxFramesPerSecond">The highest capture rate the agent may use (1 to 30).</param>
public sealed record RemoteSessionFrame(Guid SessionId, bool Active, string? TechnicianName, string? Mode, bool ConsentRequired, int MaxFramesPerSecond) : AgentFrame;

/// <summary>Agent → server: the student's answer to a remote session, or its end on the device.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Status">One of <see cref="RemoteSessionStatuses"/>.</param>
/// <param name="Reason">Why it was declined or ended, for the technician and the record (at most 256 characters).</param>
public sealed record RemoteSessionStatusFrame(Guid SessionId, string Status, string? Reason) : AgentFrame;

/// <summary>
/// One input event. Kinds: <c>move</c> (<paramref name="X"/>, <paramref name="Y"/> in screen pixels), <c>down</c> and
/// <c>up</c> (a <paramref name="Button"/> 1 to 3, with the position), <c>wheel</c> (<paramref name="Delta"/> −10 to 10, negative
/// is up, with the position), <c>keyDown</c> and <c>keyUp</c> (an X <paramref name="Keysym"/>; the console maps the browser's
/// key to it).
/// </summary>
/// <param name="Kind">The event kind.</param>
/// <param name="X">Horizontal position, 0 to the screen width.</param>
/// <param name="Y">Vertical position, 0 to the screen height.</param>
/// <param name="Button">1 left, 2 middle, 3 right.</param>
/// <param name="Delta">Wheel steps.</param>
/// <param name="Keysym">An X keysym (1 to 0x1FFFFFFF).</param>
public sealed record RemoteInputEvent(string Kind, int? X = null, int? Y = null, int? Button = null, int? Delta = null, int? Keysym = null);

/// <summary>Server → agent: input events for a session in control mode, in order.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Events">At most <see cref="RemoteLimits.MaxInputEventsPerFrame"/> events.</param>
public sealed record RemoteInputFrame(Guid SessionId, IReadOnlyList<RemoteInputEvent> Events) : AgentFrame;

/// <summary>
/// Server → agent: text the technician puts on the device's clipboard, in an accepted control session whose school allows
/// the clipboard, sent only to an agent that reports <see cref="CapabilityNames.RemoteClipboard"/> as available.
/// </summary>
/// <param name="SessionId">The session.</param>
/// <param name="Text">At most <see cref="RemoteLimits.MaxClipboardBytes"/> bytes of UTF-8, no control characters but tab and line breaks (<see cref="RemoteLimits.ValidateClipboard"/>).</param>
public sealed record RemoteClipboardFrame(Guid SessionId, string Text) : AgentFrame;

/// <summary>
/// Server → agent: the technician asks for the text on the device's clipboard, in an accepted control session whose school
/// allows the clipboard, sent only to an agent that reports <see cref="CapabilityNames.RemoteClipboardRead"/> as available.
/// The agent answers with one <see cref="RemoteClipboardContentFrame"/> of the same <paramref name="RequestId"/>.
/// </summary>
/// <param name="SessionId">The session.</param>
/// <param name="RequestId">This read; the answer names it.</param>
public sealed record RemoteClipboardReadFrame(Guid SessionId, Guid RequestId) : AgentFrame;

/// <summary>
/// Agent → server: the answer to a <see cref="RemoteClipboardReadFrame"/>: the device's clipboard text (<paramref name="Text"/>),
/// or why none is sent (<paramref name="Reason"/>: no text on the clipboard, more than <see cref="RemoteLimits.MaxClipboardBytes"/>,
/// control characters, not a control session). Exactly one of the two.
/// </summary>
/// <param name="SessionId">The session.</param>
/// <param name="RequestId">The read it answers.</param>
/// <param name="Text">The clipboard's text, as <see cref="RemoteLimits.ValidateClipboard"/> allows it.</param>
/// <param name="Reason">Why nothing was sent (at most 256 characters).</param>
public sealed record RemoteClipboardContentFrame(Guid SessionId, Guid RequestId, string? Text, string? Reason) : AgentFrame;

/// <summary>Server → agent: every screen update up to <paramref name="Sequence"/> reached the technician (the agent adapts its rate and quality to what is not yet acknowledged).</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Sequence">The highest <see cref="RemoteScreenFrame"/> sequence number delivered.</param>
public sealed record RemoteAckFrame(Guid SessionId, long Sequence) : AgentFrame;

/// <summary>The limits of remote sessions.</summary>
public static class RemoteLimits
{
    /// <summary>Most events in one <see cref="RemoteInputFrame"/> (and in one message from the technician's browser).</summary>
    public const int MaxInputEventsPerFrame = 32;

    /// <summary>Largest screen side, in pixels.</summary>
    public const int MaxScreenSide = 8192;

    /// <summary>Most tiles in one screen update.</summary>
    public const int MaxTilesPerFrame = 1024;

    /// <summary>Most copies (moved regions) in one screen update.</summary>
    public const int MaxCopiesPerFrame = 256;

    /// <summary>Largest tile side, in pixels.</summary>
    public const int MaxTileSide = 256;

    /// <summary>
    /// Largest clipboard text, in UTF-8 bytes. Small enough that a <see cref="RemoteClipboardFrame"/> fits the text frame
    /// limit even when every character is escaped in its JSON (six bytes each).
    /// </summary>
    public const int MaxClipboardBytes = 8 * 1024;

    /// <summary>Null when <paramref name="text"/> is clipboard text the agent may take, otherwise why not.</summary>
    public static string? ValidateClipboard(string? text) =>
        string.IsNullOrEmpty(text) ? "clipboard text missing"
        : System.Text.Encoding.UTF8.GetByteCount(text) > MaxClipboardBytes ? "clipboard text over 8 KiB"
        : text.Any(c => char.IsControl(c) && c is not ('\t' or '\n' or '\r')) ? "clipboard text has control characters"
        : null;

    /// <summary>Null when the clipboard answer is valid (ids, exactly one of text and reason, each within its limits), otherwise why not.</summary>
    public static string? Validate(RemoteClipboardContentFrame f) =>
        f.SessionId == Guid.Empty || f.RequestId == Guid.Empty ? "remoteClipboardContent ids missing"
        : (f.Text is null) == (f.Reason is null) ? "remoteClipboardContent needs either text or a reason"
        : f.Text is not null && ValidateClipboard(f.Text) is { } bad ? $"remoteClipboardContent {bad}"
        : f.Reason is { Length: 0 or > ProtocolLimits.MaxShortText } ? "remoteClipboardContent reason empty or too long"
        : null;

    /// <summary>Largest keysym (X keysyms are 29-bit).</summary>
    public const int MaxKeysym = 0x1FFF_FFFF;

    /// <summary>Every input event kind.</summary>
    public static readonly IReadOnlySet<string> InputKinds = new HashSet<string>(StringComparer.Ordinal) { "move", "down", "up", "wheel", "keyDown", "keyUp" };

    /// <summary>Null when the status frame is valid, otherwise why not.</summary>
    public static string? Validate(RemoteSessionStatusFrame f) =>
        f.SessionId == Guid.Empty ? "remoteSessionStatus sessionId missing"
        : f.Status is not (RemoteSessionStatuses.Accepted or RemoteSessionStatuses.Declined or RemoteSessionStatuses.Ended) ? "remoteSessionStatus status unknown"
        : f.Reason is { Length: > ProtocolLimits.MaxShortText } ? "remoteSessionStatus reason too long"
        : null;

    /// <summary>Null when every event is well formed for a screen of <paramref name="width"/> × <paramref name="height"/>, otherwise why not.</summary>
    public static string? ValidateInput(IReadOnlyList<RemoteInputEvent>? events, int width, int height)
    {
        if (events is null || events.Count == 0)
        {
            return "no input events";
        }

        if (events.Count > MaxInputEventsPerFrame)
        {
            return "too many input events";
        }

        foreach (var e in events)
        {
            if (e is null || e.Kind is null || !InputKinds.Contains(e.Kind))
            {
                return "unknown input kind";
            }

            var pointer = e.Kind is "move" or "down" or "up" or "wheel";
            if (pointer && (e.X is not { } x || e.Y is not { } y || x < 0 || y < 0 || x >= width || y >= height))
            {
                return "pointer position missing or off the screen";
            }

            if (e.Kind is "down" or "up" && e.Button is not (>= 1 and <= 3))
            {
                return "button must be 1 to 3";
            }

            if (e.Kind == "wheel" && e.Delta is not (>= -10 and <= 10 and not 0))
            {
                return "wheel delta must be -10 to 10 and not 0";
            }

            if (e.Kind is "keyDown" or "keyUp" && e.Keysym is not (>= 1 and <= MaxKeysym))
            {
                return "keysym missing or out of range";
            }
        }

        return null;
    }
}

/// <summary>One changed region of a screen update: where it goes and its JPEG.</summary>
/// <param name="X">Left edge.</param>
/// <param name="Y">Top edge.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Jpeg">The region's pixels as a JPEG.</param>
public sealed record RemoteTile(int X, int Y, int Width, int Height, ReadOnlyMemory<byte> Jpeg);

/// <summary>
/// A moved region of a screen update (content that scrolled): the viewer copies the rectangle of <paramref name="Width"/> ×
/// <paramref name="Height"/> at (<paramref name="SourceX"/>, <paramref name="SourceY"/>) of its current picture to
/// (<paramref name="X"/>, <paramref name="Y"/>), as if the source were read whole before the write (overlap allowed).
/// </summary>
/// <param name="SourceX">Left edge of the source.</param>
/// <param name="SourceY">Top edge of the source.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="X">Left edge of the destination.</param>
/// <param name="Y">Top edge of the destination.</param>
public sealed record RemoteCopy(int SourceX, int SourceY, int Width, int Height, int X, int Y);

/// <summary>
/// A binary frame carrying one screen update of a remote session: only the tiles whose content changed since the
/// previous update (the first update after consent has them all). Layout (big-endian): byte 0 the kind (<see cref="Kind"/>),
/// bytes 1 to 16 the session id (its <see cref="Guid.ToByteArray(bool)"/> big-endian form), bytes 17 to 24 the sequence
/// number (from 1, increasing), bytes 25 to 26 the screen width, 27 to 28 its height, 29 to 30 the tile count, then per tile
/// x, y, width, height (2 bytes each), the JPEG's length (4 bytes) and the JPEG. Every tile lies inside the screen and every
/// JPEG starts with the JPEG marker; the server checks that and passes the frame through to the technician unchanged.
/// <para>
/// Copies (moved regions): when bit 15 of the tile count field is set (<see cref="CopiesFlag"/>), its low 15 bits are the
/// tile count (0 allowed), bytes 31 to 32 are the copy count (1 to <see cref="RemoteLimits.MaxCopiesPerFrame"/>), and per
/// copy follow source x, source y, width, height, destination x, destination y (2 bytes each), before the tiles. The viewer
/// applies the copies first, one after the other in frame order, then paints the tiles. Agents from before this flag never
/// set it, and their frames read as before.
/// </para>
/// </summary>
public static class RemoteScreenFrame
{
    /// <summary>The frame kind byte for remote screen updates.</summary>
    public const byte Kind = 4;

    /// <summary>Bytes before the first tile (of a frame without copies).</summary>
    public const int HeaderLength = 31;

    /// <summary>Bytes before each tile's JPEG.</summary>
    public const int TileHeaderLength = 12;

    /// <summary>The bit of the tile count field saying copies follow the header.</summary>
    public const int CopiesFlag = 0x8000;

    /// <summary>Bytes of the copy count (after the header, when <see cref="CopiesFlag"/> is set).</summary>
    public const int CopyCountLength = 2;

    /// <summary>Bytes of each copy.</summary>
    public const int CopyLength = 12;

    /// <summary>Writes one update.</summary>
    public static byte[] Encode(Guid sessionId, long sequence, int screenWidth, int screenHeight, IReadOnlyList<RemoteTile> tiles) =>
        Encode(sessionId, sequence, screenWidth, screenHeight, [], tiles);

    /// <summary>Writes one update with copies (applied before the tiles); without copies the layout is the original one.</summary>
    public static byte[] Encode(Guid sessionId, long sequence, int screenWidth, int screenHeight, IReadOnlyList<RemoteCopy> copies, IReadOnlyList<RemoteTile> tiles)
    {
        var copiesLength = copies.Count == 0 ? 0 : CopyCountLength + (copies.Count * CopyLength);
        var frame = new byte[HeaderLength + copiesLength + tiles.Sum(t => TileHeaderLength + t.Jpeg.Length)];
        frame[0] = Kind;
        sessionId.TryWriteBytes(frame.AsSpan(1, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(17), sequence);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(25), (ushort)screenWidth);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(27), (ushort)screenHeight);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(29), (ushort)(tiles.Count | (copies.Count == 0 ? 0 : CopiesFlag)));
        var at = HeaderLength;
        if (copies.Count > 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at), (ushort)copies.Count);
            at += CopyCountLength;
            foreach (var copy in copies)
            {
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at), (ushort)copy.SourceX);
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 2), (ushort)copy.SourceY);
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 4), (ushort)copy.Width);
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 6), (ushort)copy.Height);
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 8), (ushort)copy.X);
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 10), (ushort)copy.Y);
                at += CopyLength;
            }
        }

        foreach (var tile in tiles)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at), (ushort)tile.X);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 2), (ushort)tile.Y);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 4), (ushort)tile.Width);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 6), (ushort)tile.Height);
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(at + 8), tile.Jpeg.Length);
            tile.Jpeg.Span.CopyTo(frame.AsSpan(at + TileHeaderLength));
            at += TileHeaderLength + tile.Jpeg.Length;
        }

        return frame;
    }

    /// <summary>Reads and checks the header, every copy's and every tile's bounds; false when the frame is malformed.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> frame, out Guid sessionId, out long sequence, out int screenWidth, out int screenHeight, out int tileCount) =>
        TryDecode(frame, out sessionId, out sequence, out screenWidth, out screenHeight, out tileCount, out _);

    /// <summary>Reads and checks the header, every copy's and every tile's bounds; false when the frame is malformed.</summary>
    public static bool TryDecode(
        ReadOnlySpan<byte> frame, out Guid sessionId, out long sequence, out int screenWidth, out int screenHeight, out int tileCount, out int copyCount)
    {
        sessionId = Guid.Empty;
        sequence = 0;
        screenWidth = screenHeight = tileCount = copyCount = 0;
        if (frame.Length < HeaderLength || frame[0] != Kind)
        {
            return false;
        }

        sessionId = new Guid(frame.Slice(1, 16), bigEndian: true);
        sequence = BinaryPrimitives.ReadInt64BigEndian(frame[17..]);
        screenWidth = BinaryPrimitives.ReadUInt16BigEndian(frame[25..]);
        screenHeight = BinaryPrimitives.ReadUInt16BigEndian(frame[27..]);
        int countField = BinaryPrimitives.ReadUInt16BigEndian(frame[29..]);
        tileCount = countField & ~CopiesFlag;
        var at = HeaderLength;
        if ((countField & CopiesFlag) != 0)
        {
            if (frame.Length - at < CopyCountLength)
            {
                return false;
            }

            copyCount = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]);
            at += CopyCountLength;
            if (copyCount is < 1 or > RemoteLimits.MaxCopiesPerFrame)
            {
                return false;
            }
        }

        if (sessionId == Guid.Empty || sequence < 1 || screenWidth is < 1 or > RemoteLimits.MaxScreenSide || screenHeight is < 1 or > RemoteLimits.MaxScreenSide
            || tileCount > RemoteLimits.MaxTilesPerFrame || tileCount + copyCount < 1)
        {
            return false;
        }

        for (var i = 0; i < copyCount; i++)
        {
            if (frame.Length - at < CopyLength)
            {
                return false;
            }

            int sx = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]), sy = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]);
            int w = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 4)..]), h = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 6)..]);
            int x = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 8)..]), y = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 10)..]);
            at += CopyLength;
            if (w < 1 || h < 1 || sx + w > screenWidth || sy + h > screenHeight || x + w > screenWidth || y + h > screenHeight)
            {
                return false;
            }
        }

        for (var i = 0; i < tileCount; i++)
        {
            if (frame.Length - at < TileHeaderLength)
            {
                return false;
            }

            int x = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]), y = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]);
            int w = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 4)..]), h = BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 6)..]);
            var length = BinaryPrimitives.ReadInt32BigEndian(frame[(at + 8)..]);
            at += TileHeaderLength;
            if (w is < 1 or > RemoteLimits.MaxTileSide || h is < 1 or > RemoteLimits.MaxTileSide || x + w > screenWidth || y + h > screenHeight
                || length < 4 || length > frame.Length - at || frame[at] != 0xFF || frame[at + 1] != 0xD8)
            {
                return false;
            }

            at += length;
        }

        return at == frame.Length;
    }

    /// <summary>The copies of a frame <see cref="TryDecode(ReadOnlySpan{byte}, out Guid, out long, out int, out int, out int)"/> accepted, in order (empty without the flag).</summary>
    public static List<RemoteCopy> ReadCopies(ReadOnlySpan<byte> frame)
    {
        if ((BinaryPrimitives.ReadUInt16BigEndian(frame[29..]) & CopiesFlag) == 0)
        {
            return [];
        }

        var count = BinaryPrimitives.ReadUInt16BigEndian(frame[HeaderLength..]);
        var copies = new List<RemoteCopy>(count);
        var at = HeaderLength + CopyCountLength;
        for (var i = 0; i < count; i++, at += CopyLength)
        {
            copies.Add(new RemoteCopy(
                BinaryPrimitives.ReadUInt16BigEndian(frame[at..]), BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 2)..]),
                BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 4)..]), BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 6)..]),
                BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 8)..]), BinaryPrimitives.ReadUInt16BigEndian(frame[(at + 10)..])));
        }

        return copies;
    }

    /// <summary>The tiles of a frame <see cref="TryDecode(ReadOnlySpan{byte}, out Guid, out long, out int, out int, out int)"/> accepted.</summary>
    public static List<RemoteTile> ReadTiles(ReadOnlyMemory<byte> frame)
    {
        var span = frame.Span;
        int countField = BinaryPrimitives.ReadUInt16BigEndian(span[29..]);
        var count = countField & ~CopiesFlag;
        var at = HeaderLength;
        if ((countField & CopiesFlag) != 0)
        {
            at += CopyCountLength + (BinaryPrimitives.ReadUInt16BigEndian(span[HeaderLength..]) * CopyLength);
        }

        var tiles = new List<RemoteTile>(count);
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(span[(at + 8)..]);
            tiles.Add(new RemoteTile(
                BinaryPrimitives.ReadUInt16BigEndian(span[at..]), BinaryPrimitives.ReadUInt16BigEndian(span[(at + 2)..]),
                BinaryPrimitives.ReadUInt16BigEndian(span[(at + 4)..]), BinaryPrimitives.ReadUInt16BigEndian(span[(at + 6)..]),
                frame.Slice(at + TileHeaderLength, length)));
            at += TileHeaderLength + length;
        }

        return tiles;
    }
}
