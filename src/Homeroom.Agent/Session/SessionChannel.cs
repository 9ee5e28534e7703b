using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text.Json;

namespace Homeroom.Agent.Session;

/// <summary>The channel broke its rules: a message too large, not JSON, or not valid for its side.</summary>
public sealed class SessionProtocolException(string message) : Exception(message);

/// <summary>
/// Who is at the other end of the channel, from the operating system, not something the peer says: on Linux the kernel's
/// <c>SO_PEERCRED</c> (process, uid, gid); on Windows the named pipe's client or server process, its session and its user's SID
/// (<c>Windows/WindowsPipes.cs</c>; <see cref="UserId"/> and <see cref="GroupId"/> are then <see cref="NoUnixId"/>).
/// </summary>
public readonly record struct PeerCredentials(int ProcessId, uint UserId, uint GroupId, int? WindowsSessionId = null, string? UserSid = null)
{
    /// <summary>The uid and gid of a Windows peer, which has none.</summary>
    public const uint NoUnixId = uint.MaxValue;

    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    public static PeerCredentials Read(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12];
        var length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        if (length != 12)
        {
            throw new SocketException((int)SocketError.ProtocolNotSupported);
        }

        return new PeerCredentials(BitConverter.ToInt32(ucred), BitConverter.ToUInt32(ucred[4..]), BitConverter.ToUInt32(ucred[8..]));
    }
}

/// <summary>
/// Length-prefixed JSON over a connected stream (a Unix socket on Linux, a named pipe on Windows): a 4-byte big-endian
/// length, then that many bytes of UTF-8 JSON (<see cref="SessionMessage"/>). Larger than <see cref="SessionMessages.MaxMessageBytes"/>,
/// not JSON, or not valid for the receiving side is a <see cref="SessionProtocolException"/>. <paramref name="peer"/> is who
/// the operating system says is at the other end; the channel owns <paramref name="stream"/>.
/// </summary>
public sealed class SessionChannel(Stream stream, PeerCredentials peer, bool readsFromHelper) : IAsyncDisposable
{
    private readonly Stream _stream = stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>Over a connected Unix socket, its peer from <c>SO_PEERCRED</c> (a socket that cannot say throws <see cref="SocketException"/>).</summary>
    public SessionChannel(Socket socket, bool readsFromHelper)
        : this(new NetworkStream(socket, ownsSocket: true), PeerCredentials.Read(socket), readsFromHelper)
    {
    }

    /// <summary>The local socket address both sides use: abstract (no file; Linux only), so no directory permissions are involved and the peer check decides.</summary>
    public static System.Net.Sockets.UnixDomainSocketEndPoint EndPoint(string name) => new("\0" + name);

    public PeerCredentials Peer { get; } = peer;

    public async Task WriteAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(message, SessionJsonContext.Default.SessionMessage);
        if (json.Length > SessionMessages.MaxMessageBytes)
        {
            throw new SessionProtocolException("message too large");
        }

        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, json.Length);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _stream.WriteAsync(header, cancellationToken);
            await _stream.WriteAsync(json, cancellationToken);
            await _stream.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The next message, or null when the peer closed the connection.</summary>
    public async Task<SessionMessage?> ReadAsync(CancellationToken cancellationToken = default)
    {
        var header = new byte[4];
        if (!await FillAsync(header, cancellationToken))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length is <= 0 or > SessionMessages.MaxMessageBytes)
        {
            throw new SessionProtocolException($"message length {length} outside 1 to {SessionMessages.MaxMessageBytes}");
        }

        var body = new byte[length];
        if (!await FillAsync(body, cancellationToken))
        {
            throw new SessionProtocolException("connection closed inside a message");
        }

        SessionMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(body, SessionJsonContext.Default.SessionMessage);
        }
        catch (JsonException)
        {
            throw new SessionProtocolException("message is not JSON");
        }

        if (message?.Type is null)
        {
            throw new SessionProtocolException("message has no type");
        }

        return SessionMessages.Validate(message, readsFromHelper) is { } problem ? throw new SessionProtocolException(problem) : message;
    }

    private async Task<bool> FillAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var count = await _stream.ReadAsync(buffer[read..], cancellationToken);
            if (count == 0)
            {
                return false;
            }

            read += count;
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _writeLock.Dispose();
    }
}
