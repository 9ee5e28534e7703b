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
    public void EncodeWithCopies_FlagsTheCount_AndRoundTripsCopiesThenTiles()
    {
        RemoteCopy[] copies = [new RemoteCopy(0, 104, 896, 576, 0, 64), new RemoteCopy(1300, 0, 66, 700, 1300, 68)];
        var frame = RemoteScreenFrame.Encode(Session, 7, 1366, 768, copies, [new RemoteTile(0, 640, 64, 64, Jpeg(9))]);

        BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(29)).ShouldBe((ushort)(RemoteScreenFrame.CopiesFlag | 1));
        RemoteScreenFrame.TryDecode(frame, out _, out var sequence, out _, out _, out var tileCount, out var copyCount).ShouldBeTrue();
        (sequence, tileCount, copyCount).ShouldBe((7L, 1, 2));
        RemoteScreenFrame.ReadCopies(frame).ShouldBe(copies);
        var tiles = RemoteScreenFrame.ReadTiles(frame);
        tiles.Select(t => (t.X, t.Y, t.Width, t.Height)).ShouldBe([(0, 640, 64, 64)]);
        tiles[0].Jpeg.ToArray().ShouldBe(Jpeg(9));

        // Copies alone are an update; without copies the original layout is written (old viewers read it as before).
        var copyOnly = RemoteScreenFrame.Encode(Session, 8, 1366, 768, copies, []);
        RemoteScreenFrame.TryDecode(copyOnly, out _, out _, out _, out _, out var none, out var two).ShouldBeTrue();
        (none, two).ShouldBe((0, 2));
        RemoteScreenFrame.ReadTiles(copyOnly).ShouldBeEmpty();
        RemoteScreenFrame.Encode(Session, 9, 1366, 768, [], [new RemoteTile(0, 0, 64, 64, Jpeg(1))])
            .ShouldBe(RemoteScreenFrame.Encode(Session, 9, 1366, 768, [new RemoteTile(0, 0, 64, 64, Jpeg(1))]));
        RemoteScreenFrame.ReadCopies(RemoteScreenFrame.Encode(Session, 9, 1366, 768, [new RemoteTile(0, 0, 64, 64, Jpeg(1))])).ShouldBeEmpty();
    }

    [Fact]
    public void TryDecode_MalformedCopies_AreRefused()
    {
        var good = RemoteScreenFrame.Encode(Session, 1, 1366, 768, [new RemoteCopy(0, 40, 640, 600, 0, 0)], [new RemoteTile(0, 640, 64, 64, Jpeg(7))]);
        RemoteScreenFrame.TryDecode(good, out _, out _, out _, out _, out _).ShouldBeTrue();

        byte[] Changed(Action<byte[]> change)
        {
            var copy = good.ToArray();
            change(copy);
            return copy;
        }

        // The copy starts at byte 33: source x, source y, width, height, destination x, destination y.
        var bad = new Dictionary<string, byte[]>
        {
            ["copy count 0"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(31), 0)),
            ["more copies than the limit"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(31), RemoteLimits.MaxCopiesPerFrame + 1)),
            ["more copies than sent"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(31), 2)),
            ["source past the right edge"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(33), 800)),
            ["source past the bottom"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(35), 200)),
            ["width 0"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(37), 0)),
            ["height 0"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(39), 0)),
            ["destination past the right edge"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(41), 1000)),
            ["destination past the bottom"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(43), 300)),
            ["flag without room for the count"] = Changed(f => BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(29), RemoteScreenFrame.CopiesFlag | 1))[..32],
            ["no copies and no tiles"] = RemoteScreenFrame.Encode(Session, 1, 1366, 768, [], [])[..31],
            ["copies cut"] = good[..40],
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
