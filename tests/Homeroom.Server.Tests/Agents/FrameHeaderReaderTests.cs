using Homeroom.Server.Agents;

namespace Homeroom.Server.Tests.Agents;

public sealed class FrameHeaderReaderTests
{
    private static byte[] Frame(int opcode, int length, bool fin = true, bool masked = true)
    {
        var header = new List<byte> { (byte)((fin ? 0x80 : 0) | opcode) };
        var mask = masked ? 0x80 : 0;
        if (length < 126)
        {
            header.Add((byte)(mask | length));
        }
        else if (length <= ushort.MaxValue)
        {
            header.AddRange([(byte)(mask | 126), (byte)(length >> 8), (byte)length]);
        }
        else
        {
            header.Add((byte)(mask | 127));
            header.AddRange(BitConverter.GetBytes((ulong)length).Reverse());
        }

        if (masked)
        {
            header.AddRange([1, 2, 3, 4]);
        }

        return [.. header, .. new byte[length]];
    }

    [Fact]
    public void Scan_FramesWithinTheLimitInAnyChunks_PassesThemAll()
    {
        byte[] stream = [.. Frame(1, 5), .. Frame(2, 300), .. Frame(9, 0), .. Frame(1, 70_000, fin: false), .. Frame(0, 10)];
        foreach (var chunk in new[] { 1, 2, 7, 13, stream.Length })
        {
            var reader = new FrameHeaderReader(100_000, 100_000);
            for (var offset = 0; offset < stream.Length; offset += chunk)
            {
                reader.Scan(stream.AsSpan(offset, Math.Min(chunk, stream.Length - offset))).ShouldBe(-1);
            }

            reader.AtFrameBoundary.ShouldBeTrue();
        }
    }

    [Fact]
    public void Scan_FrameOverTheLimit_ReturnsWhereItsHeaderBegins()
    {
        var reader = new FrameHeaderReader(1000, 5000);
        byte[] stream = [.. Frame(1, 10), .. Frame(1, 1001)];

        reader.Scan(stream).ShouldBe(Frame(1, 10).Length);
        reader.RefusedLength.ShouldBe(1001UL);
    }

    [Fact]
    public void Scan_LimitsDependOnTheMessageType()
    {
        new FrameHeaderReader(1000, 5000).Scan(Frame(2, 4000)).ShouldBe(-1);
        new FrameHeaderReader(1000, 5000).Scan(Frame(1, 4000)).ShouldBe(0);
    }

    [Fact]
    public void Scan_HeaderSplitAcrossReads_RefusedAtOffsetZeroOfTheRead()
    {
        var reader = new FrameHeaderReader(1000, 1000);
        byte[] header = [0x81, 0xFF, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4]; // 2^40 bytes, masked

        reader.Scan(header.AsSpan(0, 5)).ShouldBe(-1);
        reader.Scan(header.AsSpan(5)).ShouldBe(0);
        reader.RefusedLength.ShouldBe(1UL << 40);
    }

    [Fact]
    public void Scan_LengthWithTheTopBitSet_IsRefused()
    {
        byte[] header = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];

        new FrameHeaderReader(1000, 1000).Scan(header).ShouldBe(0);
    }

    [Fact]
    public void Scan_ControlFrames_AreLeftToTheWebSocket()
    {
        // A ping declaring a huge length is a protocol error the WebSocket itself answers (1002).
        byte[] header = [0x89, 0xFF, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4];

        new FrameHeaderReader(1000, 1000).Scan(header).ShouldBe(-1);
    }
}
