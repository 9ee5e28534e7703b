using System.Buffers;
using System.Net.WebSockets;

namespace Homeroom.Server.Agents;

/// <summary>What one read from the socket produced.</summary>
public enum ReadOutcome
{
    Text,
    Binary,
    Closed,
    TooLarge,
}

/// <summary>
/// Assembles whole WebSocket messages into a pooled buffer that starts small (most agent frames are
/// a few hundred bytes) and grows only up to the configured limit, so an idle connection holds
/// little memory. Text messages come out with the NUL character (which PostgreSQL refuses in text)
/// replaced by U+FFFD. Not thread-safe: owned by one receive loop.
/// </summary>
public sealed class MessageReader(int maxTextBytes, int maxBinaryBytes) : IDisposable
{
    private const int InitialSize = 512;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Message => _buffer.AsSpan(0, Length);

    public ReadOnlyMemory<byte> MessageMemory => _buffer.AsMemory(0, Length);

    public async Task<ReadOutcome> ReadAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        ShrinkIfLarge();
        Length = 0;
        while (true)
        {
            if (Length == _buffer.Length)
            {
                Grow();
            }

            var result = await socket.ReceiveAsync(_buffer.AsMemory(Length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return ReadOutcome.Closed;
            }

            Length += result.Count;
            var limit = result.MessageType == WebSocketMessageType.Binary ? maxBinaryBytes : maxTextBytes;
            if (Length > limit)
            {
                return ReadOutcome.TooLarge;
            }

            if (result.EndOfMessage)
            {
                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    return ReadOutcome.Binary;
                }

                ReplaceNulEscapes(_buffer.AsSpan(0, Length));
                return ReadOutcome.Text;
            }
        }
    }

    /// <summary>
    /// Rewrites each JSON escape <c>\u0000</c> as <c>\uFFFD</c>, in place (same length). JSON cannot
    /// carry a raw NUL byte in a string, so the escape is the only way one arrives. A backslash that
    /// is itself escaped (<c>\\u0000</c>, the text "\u0000") is left alone.
    /// </summary>
    public static void ReplaceNulEscapes(Span<byte> json)
    {
        var from = 0;
        while (from < json.Length)
        {
            var at = json[from..].IndexOf("\\u0000"u8);
            if (at < 0)
            {
                return;
            }

            at += from;
            var backslashes = 0;
            while (at - backslashes - 1 >= 0 && json[at - backslashes - 1] == (byte)'\\')
            {
                backslashes++;
            }

            if (backslashes % 2 == 0)
            {
                "FFFD"u8.CopyTo(json[(at + 2)..]);
                from = at + 6;
            }
            else
            {
                from = at + 1;
            }
        }
    }

    private void Grow()
    {
        // One byte past the largest limit is enough to detect an oversized message.
        var larger = ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 4, Math.Max(maxTextBytes, maxBinaryBytes) + 1));
        _buffer.AsSpan(0, Length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    private void ShrinkIfLarge()
    {
        if (_buffer.Length > InitialSize)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
