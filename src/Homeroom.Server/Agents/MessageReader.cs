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
/// little memory. Not thread-safe: owned by one receive loop.
/// </summary>
public sealed class MessageReader(int maxTextBytes, int maxBinaryBytes) : IDisposable
{
    private const int InitialSize = 2048;
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
                return result.MessageType == WebSocketMessageType.Binary ? ReadOutcome.Binary : ReadOutcome.Text;
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
