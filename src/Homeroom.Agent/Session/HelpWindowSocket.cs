using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using Homeroom.Agent.State;

namespace Homeroom.Agent.Session;

/// <summary>
/// How <c>homeroom-agent help</c> (run by the student, from the applications menu's "I need help") asks their running
/// session helper to open its help window: it connects to the helper's abstract Unix socket, named after the service's
/// socket, the user and the display, and reads one line back. Each side checks with <c>SO_PEERCRED</c> that the other runs
/// as the same user before it acts, so no one else can open the window on a student's screen or answer in the helper's
/// name. Nothing else travels: what the student writes goes only through the window, to the helper, to the service.
/// Linux only (abstract sockets), like the helper.
/// </summary>
public static class HelpWindowSocket
{
    /// <summary>The helper's answer when the window is up.</summary>
    public const string Shown = "shown";

    private const int MaxAnswerBytes = 256;

    // Abstract socket names are at most 107 bytes.
    private const int MaxNameBytes = 107;

    /// <summary>The socket's name for <paramref name="userId"/> on <paramref name="display"/>.</summary>
    public static string Name(string serviceSocket, uint userId, string display)
    {
        var suffix = $"/help/{userId}/{display}";
        var room = Math.Max(0, MaxNameBytes - Encoding.UTF8.GetByteCount(suffix));
        return (serviceSocket.Length <= room ? serviceSocket : serviceSocket[..room]) + suffix;
    }

    /// <summary>The command's side: asks the helper to show the window; its answer (<see cref="Shown"/> when it did), or why not.</summary>
    [SupportedOSPlatform("linux")]
    public static async Task<(bool Shown, string Answer)> RequestAsync(string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(SessionChannel.EndPoint(name), deadline.Token);
            var peer = PeerCredentials.Read(socket);
            if (peer.UserId != UnixFileOwnership.EffectiveUserId)
            {
                return (false, $"the process on the help socket runs as uid {peer.UserId}, not as you: nothing was asked");
            }

            var buffer = new byte[MaxAnswerBytes];
            var length = 0;
            while (length < buffer.Length && await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, deadline.Token) is > 0 and var read)
            {
                length += read;
                if (buffer.AsSpan(0, length).Contains((byte)'\n'))
                {
                    break;
                }
            }

            var answer = Encoding.UTF8.GetString(buffer, 0, length).Split('\n')[0].Trim();
            return (answer == Shown, answer.Length > 0 ? answer : "the helper closed the connection without an answer");
        }
        catch (SocketException)
        {
            return (false, "the Homeroom session helper is not running in this session");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, "the Homeroom session helper did not answer in time");
        }
    }

    /// <summary>The helper's side: answers each request from its own user with <paramref name="open"/>'s answer, until stopped.</summary>
    [SupportedOSPlatform("linux")]
    public static async Task ListenAsync(string name, Func<Task<string>> open, Action<string> listenFailed, CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(SessionChannel.EndPoint(name));
            listener.Listen(4);
        }
        catch (SocketException e)
        {
            listenFailed(e.Message);
            return;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            using (client)
            {
                try
                {
                    var peer = PeerCredentials.Read(client);
                    var answer = peer.UserId == UnixFileOwnership.EffectiveUserId ? await open() : $"refused: uid {peer.UserId} is not this session's user";
                    await client.SendAsync(Encoding.UTF8.GetBytes(answer + "\n"), SocketFlags.None, cancellationToken);
                }
                catch (SocketException)
                {
                    // The asker went away first.
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
