using System.Buffers.Binary;
using System.IO.Pipes;
using Homeroom.Agent.Session;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The channel over a plain stream, as it runs over a Windows named pipe: here an anonymous pipe (the same kind of kernel
/// pipe, available on Linux), each channel reading one end. The frames and checks are the Unix socket's.
/// </summary>
public sealed class SessionChannelStreamTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly PeerCredentials WindowsHelper = new(4242, PeerCredentials.NoUnixId, PeerCredentials.NoUnixId, 3, "S-1-5-21-1-2-3-1001");

    private static (SessionChannel Writer, SessionChannel Reader, AnonymousPipeServerStream Out) Pair(bool readerReadsFromHelper)
    {
        var output = new AnonymousPipeServerStream(PipeDirection.Out);
        var input = new AnonymousPipeClientStream(PipeDirection.In, output.ClientSafePipeHandle);
        return (new SessionChannel(output, WindowsHelper, !readerReadsFromHelper), new SessionChannel(input, WindowsHelper, readerReadsFromHelper), output);
    }

    [Fact]
    public async Task ReadAsync_TheHelpersMessages_ArriveWhole()
    {
        var (writer, reader, _) = Pair(readerReadsFromHelper: true);
        await using var _w = writer;
        await using var _r = reader;
        var jpeg = new byte[20_000];
        (jpeg[0], jpeg[1], jpeg[2]) = (0xFF, 0xD8, 0xFF);
        Random.Shared.NextBytes(jpeg.AsSpan(3));
        var capturedAt = DateTimeOffset.Parse("2026-12-06T16:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        var sent = new[]
        {
            new SessionMessage(SessionMessages.Hello, Display: "session 3"),
            new SessionMessage(SessionMessages.Thumbnail, Image: jpeg, CapturedAt: capturedAt),
            new SessionMessage(SessionMessages.Foreground, App: "WINWORD", Title: "Essay - Word"),
            new SessionMessage(SessionMessages.Done, Guid.NewGuid(), Ok: true, Text: "locked"),
        };

        foreach (var message in sent)
        {
            await writer.WriteAsync(message).WaitAsync(Timeout);
        }

        var hello = await reader.ReadAsync().WaitAsync(Timeout);
        hello!.Display.ShouldBe("session 3");
        var thumbnail = await reader.ReadAsync().WaitAsync(Timeout);
        thumbnail!.Image.ShouldBe(jpeg);
        thumbnail.CapturedAt.ShouldBe(capturedAt);
        var foreground = await reader.ReadAsync().WaitAsync(Timeout);
        (foreground!.App, foreground.Title).ShouldBe(("WINWORD", "Essay - Word"));
        (await reader.ReadAsync().WaitAsync(Timeout))!.ShouldBe(sent[3]);
        reader.Peer.ShouldBe(WindowsHelper);
    }

    [Fact]
    public async Task ReadAsync_TheServicesMessages_ArriveWhole()
    {
        var (writer, reader, output) = Pair(readerReadsFromHelper: false);
        await using var _w = writer;
        await using var _r = reader;
        var session = Guid.NewGuid();
        await writer.WriteAsync(new SessionMessage(SessionMessages.Lock, Guid.NewGuid(), Text: "Eyes on the teacher")).WaitAsync(Timeout);
        await writer.WriteAsync(new SessionMessage(SessionMessages.RemoteInput, session,
            Events: [new RemoteInputEvent("move", X: 10, Y: 20), new RemoteInputEvent("keyDown", Keysym: 0x61)])).WaitAsync(Timeout);
        output.Dispose(); // the service goes away

        (await reader.ReadAsync().WaitAsync(Timeout))!.Text.ShouldBe("Eyes on the teacher");
        var input = await reader.ReadAsync().WaitAsync(Timeout);
        input!.Id.ShouldBe(session);
        input.Events!.Select(e => e.Kind).ShouldBe(["move", "keyDown"]);
        (await reader.ReadAsync().WaitAsync(Timeout)).ShouldBeNull();
    }

    [Fact]
    public async Task ReadAsync_AnOversizedLength_IsRefusedUnread()
    {
        var (writer, reader, output) = Pair(readerReadsFromHelper: true);
        await using var _w = writer;
        await using var _r = reader;
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, SessionMessages.MaxMessageBytes + 1);
        await output.WriteAsync(header);

        var refused = await Should.ThrowAsync<SessionProtocolException>(reader.ReadAsync().WaitAsync(Timeout));
        refused.Message.ShouldContain("outside 1 to");
    }

    [Fact]
    public async Task ReadAsync_NotJson_IsRefused()
    {
        var (writer, reader, output) = Pair(readerReadsFromHelper: true);
        await using var _w = writer;
        await using var _r = reader;
        await WriteRawAsync(output, "not json at all"u8.ToArray());

        (await Should.ThrowAsync<SessionProtocolException>(reader.ReadAsync().WaitAsync(Timeout))).Message.ShouldBe("message is not JSON");
    }

    [Fact]
    public async Task ReadAsync_AServiceMessageFromAHelper_IsRefused()
    {
        var (writer, reader, output) = Pair(readerReadsFromHelper: true);
        await using var _w = writer;
        await using var _r = reader;
        // The writing side does not check; the service, reading, refuses a lock sent by a helper.
        await WriteRawAsync(output, System.Text.Encoding.UTF8.GetBytes($$"""{"type":"lock","id":"{{Guid.NewGuid()}}"}"""));

        await Should.ThrowAsync<SessionProtocolException>(reader.ReadAsync().WaitAsync(Timeout));
    }

    private static async Task WriteRawAsync(Stream output, byte[] body)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, body.Length);
        await output.WriteAsync(header);
        await output.WriteAsync(body);
        await output.FlushAsync();
    }
}
