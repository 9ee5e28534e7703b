using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Diagnostics;

/// <summary>
/// Tests one URL step by step within a time limit: the name resolved, a TCP connection, TLS for https (the
/// certificate checked as any client would), then an HTTP HEAD request and its status line. A failure names the
/// step, so a technician can tell "no DNS" from "port closed" from "certificate refused".
/// </summary>
public static class ConnectivityProbe
{
    /// <summary>The time limit of one test, all steps together.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    public static async Task<ConnectivityCheck> TestAsync(string target, Uri url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var step = "dns";
        try
        {
            var addresses = IPAddress.TryParse(url.IdnHost, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(url.IdnHost, limit.Token);
            if (addresses.Length == 0)
            {
                return Fail("dns: the name has no address");
            }

            step = "tcp";
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(addresses, url.Port, limit.Token);
            await using var network = new NetworkStream(socket, ownsSocket: false);
            Stream stream = network;
            if (url.Scheme == Uri.UriSchemeHttps)
            {
                step = "tls";
                var tls = new SslStream(network, leaveInnerStreamOpen: true);
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = url.IdnHost }, limit.Token);
                stream = tls;
            }

            step = "http";
            var request = string.Create(CultureInfo.InvariantCulture,
                $"HEAD {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nUser-Agent: {AgentOptions.Version}\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), limit.Token);
            var status = await ReadStatusAsync(stream, limit.Token);
            if (stream != network)
            {
                await stream.DisposeAsync();
            }

            var elapsed = (int)watch.ElapsedMilliseconds;
            return status switch
            {
                null => Fail("http: the answer was not HTTP"),
                >= 500 => new ConnectivityCheck(target, url.ToString(), false, elapsed, status, $"http: the server answered {status}"),
                _ => new ConnectivityCheck(target, url.ToString(), true, elapsed, status, null),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Fail($"timeout: no answer within {timeout.TotalSeconds:0.#} s (at the {step} step)");
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            var reason = e is SocketException socketError ? SocketReason(socketError) : e.Message;
            return Fail($"{step}: {reason}");
        }

        ConnectivityCheck Fail(string error) =>
            new(target, url.ToString(), false, (int)watch.ElapsedMilliseconds, null, error.Length <= ProtocolLimits.MaxShortText ? error : error[..ProtocolLimits.MaxShortText]);
    }

    private static string SocketReason(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused (nothing listens on that port)",
        SocketError.HostNotFound or SocketError.NoData => "the name is not known",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "no route to the host",
        SocketError.TimedOut => "timed out",
        _ => e.Message,
    };

    // The first line, "HTTP/1.1 200 OK": its status code, or null when the peer said something else.
    private static async Task<int?> ReadStatusAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[256];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            if (read == 0)
            {
                break;
            }

            filled += read;
            if (Array.IndexOf(buffer, (byte)'\n', 0, filled) >= 0)
            {
                break;
            }
        }

        var line = Encoding.ASCII.GetString(buffer, 0, filled).Split('\n')[0];
        var parts = line.Split(' ', 3);
        return parts.Length >= 2 && parts[0].StartsWith("HTTP/", StringComparison.Ordinal) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var code) && code is >= 100 and <= 599
            ? code
            : null;
    }
}
