using System.Buffers.Binary;
using Homeroom.Contracts.Agents;

namespace Homeroom.Contracts.Tests;

public sealed class RemoteScreenFrameTests
{
    private static readonly Guid Session = Guid.Parse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");

    private static byte[] Jpeg(params byte[] body) => [0xFF, 0xD8, .. body, 0xFF, 0xD9];

    [Fact]
    public void EncodeThenDecode_RoundTripsHeaderAndTiles()
    {
        var frame = RemoteScreenFrame.Encode(Session, 42, 1366, 768, [new RemoteTile(0, 0, 64, 64, Jpeg(1)), new RemoteTile(1344, 704, 22, 64, Jpeg(2, 3))]);

        RemoteScreenFrame.TryDecode(frame, out var session, out var sequence, out var width, out var height, out var count).ShouldBeTrue();
        (session, sequence, width, height, count).ShouldBe((Session, 42L, 1366, 768, 2));
        var tiles = RemoteScreenFrame.ReadTiles(frame);
        tiles.Select(t => (t.X, t.Y, t.Width, t.Height)).ShouldBe([(0, 0, 64, 64), (1344, 704, 22, 64)]);
        tiles[1].Jpeg.ToArray().ShouldBe(Jpeg(2, 3));
    }

    [Fact]
    public void TryDecode_MalformedFrames_AreRefused()
    {
        var good = RemoteScreenFrame.Encode(Session, 1, 1366, 768, [new RemoteTile(64, 64, 64, 64, Jpeg(7))]);
        RemoteScreenFrame.TryDecode(good, out _, out _, out _, out _, out _).ShouldBeTrue();

        byte[] Changed(Action<byte[]> change)
        {
            var copy = good.ToArray();
            change(copy);
            return copy;
        }

        var bad = new Dictionary<string, byte[]>
        {
            ["other kind"] = Changed(f => f[0] = ThumbnailFrame.Kind),
            ["empty session"] = Changed(f => f.AsSpan(1, 16).Clear()),
            ["sequence 0"] = Changed(f => BinaryPrimitives.WriteInt64BigEndian(f.AsSpan(17), 0)),
            ["no tiles"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(29), 0)),
            ["more tiles than sent"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(29), 2)),
            ["tile past the right edge"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(31), 1340)),
            ["tile wider than 256"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(35), 300)),
            ["length past the end"] = Changed(f => BinaryPrimitives.WriteInt32BigEndian(f.AsSpan(39), 1000)),
            ["not a JPEG"] = Changed(f => f[43] = 0x89),
            ["screen wider than 8192"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(25), 9000)),
            ["bytes after the last tile"] = [.. good, 0],
            ["header cut"] = good[..20],
        };
        foreach (var (name, frame) in bad)
        {
            RemoteScreenFrame.TryDecode(frame, out _, out _, out _, out _, out _).ShouldBeFalse(name);
        }
    }

    [Fact]
    public void ValidateInput_ChecksKindsPositionsButtonsWheelAndKeysyms()
    {
        RemoteLimits.ValidateInput([new("move", 0, 0), new("down", 1365, 767, 1), new("wheel", 5, 5, Delta: -3), new("keyDown", Keysym: 0xff0d)], 1366, 768).ShouldBeNull();
        RemoteLimits.ValidateInput([], 1366, 768).ShouldNotBeNull();
        RemoteLimits.ValidateInput([new("teleport", 1, 1)], 1366, 768).ShouldNotBeNull();
        RemoteLimits.ValidateInput([new("move", 1366, 0)], 1366, 768).ShouldNotBeNull();
        RemoteLimits.ValidateInput([new("move", null, 3)], 1366, 768).ShouldNotBeNull();
        RemoteLimits.ValidateInput([new("up", 1, 1, 4)], 1366, 768).ShouldNotBeNull();
        RemoteLimits.ValidateInput([new("wheel", 1, 1, Delta: 0)], 1366, 768).ShouldNotBeNull();
        RemoteLimits.ValidateInput([new("keyUp", Keysym: 0)], 1366, 768).ShouldNotBeNull();
        RemoteLimits.ValidateInput([.. Enumerable.Repeat(new RemoteInputEvent("move", 1, 1), RemoteLimits.MaxInputEventsPerFrame + 1)], 1366, 768).ShouldNotBeNull();
    }
}
