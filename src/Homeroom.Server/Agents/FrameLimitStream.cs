using System.Buffers.Binary;
using System.Text;
using Homeroom.Contracts.Agents;

namespace Homeroom.Server.Agents;

/// <summary>
/// Sits between the upgraded HTTP connection and the agent's WebSocket and reads the frame headers
/// the agent sends as they pass. .NET's WebSocket accepts any declared payload length and then waits
/// for the bytes; here a data frame declaring more than the limit (or a message whose frames declare
/// more in all) is refused at its header: the agent gets a 4413 close frame at once, written between
/// the socket's own frames, and the stream ends without reading the payload.
/// </summary>
public sealed class FrameLimitStream(Stream inner, int maxTextBytes, int maxBinaryBytes) : Stream
{
    private static readonly TimeSpan CloseWriteTimeout = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly FrameHeaderReader _incoming = new(maxTextBytes, maxBinaryBytes);
    private readonly FrameHeaderReader _outgoing = new(long.MaxValue, long.MaxValue);
    private int _refused;

    /// <summary>True once a frame over the limit was refused: the agent was sent 4413 and the stream has ended.</summary>
    public bool Refused => Volatile.Read(ref _refused) == 1;

    /// <summary>The length the refused frame (or message) declared.</summary>
    public ulong RefusedLength { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Refused)
        {
            return 0;
        }

        var read = await inner.ReadAsync(buffer, cancellationToken);
        if (read == 0)
        {
            return 0;
        }

        var refusedAt = _incoming.Scan(buffer.Span[..read]);
        if (refusedAt < 0)
        {
            return read;
        }

        RefusedLength = _incoming.RefusedLength;
        await RefuseAsync();

        // The frames before the refused one pass; the refused one never does, and the next read ends the stream.
        return refusedAt;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (Refused)
            {
                throw new IOException("The connection is closing: the agent declared a frame larger than the limit.");
            }

            await inner.WriteAsync(buffer, cancellationToken);
            _outgoing.Scan(buffer.Span);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await inner.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task RefuseAsync()
    {
        if (Interlocked.Exchange(ref _refused, 1) == 1)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(CloseWriteTimeout);
        try
        {
            await _writeLock.WaitAsync(timeout.Token);
            try
            {
                // Only between two of the socket's frames; the socket writes each frame whole, so this
                // holds unless a write failed halfway, and then the connection is lost anyway.
                if (_outgoing.AtFrameBoundary)
                {
                    await inner.WriteAsync(CloseFrame(AgentCloseCodes.FrameTooLarge, "frame too large"), timeout.Token);
                    await inner.FlushAsync(timeout.Token);
                }
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The agent is gone or not reading; the stream ends either way.
        }
    }

    /// <summary>A server close frame (never masked): code and a reason of at most 123 bytes.</summary>
    public static byte[] CloseFrame(int code, string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var length = 2 + Math.Min(text.Length, 123);
        var frame = new byte[2 + length];
        frame[0] = 0x88;
        frame[1] = (byte)length;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)code);
        text.AsSpan(0, length - 2).CopyTo(frame.AsSpan(4));
        return frame;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Agent sockets read asynchronously.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("Agent sockets write asynchronously.");

    public override void Flush() => throw new NotSupportedException("Agent sockets flush asynchronously.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _writeLock.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        _writeLock.Dispose();
        await base.DisposeAsync();
    }
}

/// <summary>
/// Follows WebSocket frames (RFC 6455 §5.2) through a byte stream in any chunks, looking only at the
/// headers: opcode and declared payload length. Payload bytes are counted off, never copied.
/// </summary>
public sealed class FrameHeaderReader(long maxTextBytes, long maxBinaryBytes)
{
    private const int OpContinuation = 0;
    private const int OpText = 1;
    private const int OpBinary = 2;

    private readonly byte[] _header = new byte[14];
    private int _headerCount;
    private ulong _payloadLeft;
    private int _messageOpcode;
    private ulong _messageBytes;

    /// <summary>True between frames.</summary>
    public bool AtFrameBoundary => _headerCount == 0 && _payloadLeft == 0;

    /// <summary>The declared length of the frame or message that broke the limit.</summary>
    public ulong RefusedLength { get; private set; }

    /// <summary>
    /// Reads the next bytes of the stream. Returns the offset in <paramref name="data"/> where a frame
    /// over the limit begins (0 when its header began in earlier bytes), or -1 when all is within it.
    /// </summary>
    public int Scan(ReadOnlySpan<byte> data)
    {
        var headerStart = 0;
        var i = 0;
        while (i < data.Length)
        {
            if (_payloadLeft > 0)
            {
                var skip = (int)Math.Min(_payloadLeft, (ulong)(data.Length - i));
                _payloadLeft -= (ulong)skip;
                i += skip;
                continue;
            }

            if (_headerCount == 0)
            {
                headerStart = i;
            }

            _header[_headerCount++] = data[i++];
            if (_headerCount < 2 || _headerCount < HeaderLength(_header[1]))
            {
                continue;
            }

            var length = PayloadLength();
            _headerCount = 0;
            if (!WithinLimit(_header[0] & 0x0F, length))
            {
                return headerStart;
            }

            _payloadLeft = length;
        }

        return -1;
    }

    private static int HeaderLength(byte second)
    {
        var lengthBytes = (second & 0x7F) switch
        {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        return 2 + lengthBytes + ((second & 0x80) != 0 ? 4 : 0);
    }

    private ulong PayloadLength() => (_header[1] & 0x7F) switch
    {
        126 => BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(2)),
        127 => BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(2)),
        var small => (ulong)small,
    };

    /// <summary>Data frames count toward their message's limit; control and unknown frames are the WebSocket's to judge.</summary>
    private bool WithinLimit(int opcode, ulong length)
    {
        switch (opcode)
        {
            case OpText or OpBinary:
                _messageOpcode = opcode;
                _messageBytes = length;
                break;
            case OpContinuation:
                _messageBytes = length > ulong.MaxValue - _messageBytes ? ulong.MaxValue : _messageBytes + length;
                break;
            default:
                return true;
        }

        var limit = _messageOpcode switch
        {
            OpText => maxTextBytes,
            OpBinary => maxBinaryBytes,
            _ => Math.Max(maxTextBytes, maxBinaryBytes),
        };
        if (_messageBytes <= (ulong)limit)
        {
            return true;
        }

        RefusedLength = _messageBytes;
        return false;
    }
}
