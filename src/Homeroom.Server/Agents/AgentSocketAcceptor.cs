using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Timeouts;

namespace Homeroom.Server.Agents;

/// <summary>
/// Accepts an agent's WebSocket upgrade (HTTP/1.1 Upgrade, or HTTP/2 extended CONNECT) itself, so the
/// WebSocket reads through a <see cref="FrameLimitStream"/>: an oversized frame is refused at its
/// header. The request was checked to be a valid WebSocket handshake (<c>IsWebSocketRequest</c>).
/// </summary>
public static class AgentSocketAcceptor
{
    // RFC 6455 §1.3: the accept value is fixed by the protocol.
    private const string HandshakeGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    public static async Task<(WebSocket Socket, FrameLimitStream Guard)> AcceptAsync(
        HttpContext context, string? subProtocol, TimeSpan keepAliveInterval, int maxTextBytes, int maxBinaryBytes)
    {
        var headers = context.Response.Headers;
        if (subProtocol is not null)
        {
            headers.SecWebSocketProtocol = subProtocol;
        }

        Stream transport;
        if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            transport = await connect.AcceptAsync(); // answers 200 on the HTTP/2 stream
        }
        else
        {
            headers.Connection = "Upgrade";
            headers.Upgrade = "websocket";
            headers.SecWebSocketAccept = AcceptValue(context.Request.Headers.SecWebSocketKey.ToString());
            transport = await context.Features.GetRequiredFeature<IHttpUpgradeFeature>().UpgradeAsync(); // answers 101
        }

        // A socket lives for hours; no request timeout applies to it.
        context.Features.Get<IHttpRequestTimeoutFeature>()?.DisableTimeout();
        var guard = new FrameLimitStream(transport, maxTextBytes, maxBinaryBytes);
        var socket = WebSocket.CreateFromStream(guard, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subProtocol,
            KeepAliveInterval = keepAliveInterval,
        });
        return (socket, guard);
    }

#pragma warning disable CA5350 // RFC 6455 prescribes SHA-1 for the handshake; it protects nothing.
    private static string AcceptValue(string key) => Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + HandshakeGuid)));
#pragma warning restore CA5350
}
