using System.Text;
using Homeroom.Server.Insights;

namespace Homeroom.Server.Tests.Insights;

/// <summary>CSV exports: quoting by RFC 4180, and no cell a spreadsheet would run as a formula.</summary>
public sealed class CsvExportTests
{
    [Theory]
    [InlineData("=HYPERLINK(\"http://x.test\")", "\"'=HYPERLINK(\"\"http://x.test\"\")\"")]
    [InlineData("+1+1", "\"'+1+1\"")]
    [InlineData("-2+3", "\"'-2+3\"")]
    [InlineData("@SUM(A1)", "\"'@SUM(A1)\"")]
    [InlineData("\tcmd", "\"'\tcmd\"")]
    [InlineData("\rcmd", "\"'\rcmd\"")]
    [InlineData("poki.com", "poki.com")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("a=b", "a=b")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void Escape_QuotesAndNeutralisesFormulas(string? cell, string expected) =>
        Assert.Equal(expected, CsvWriter.Escape(cell));

    [Fact]
    public async Task Writer_WritesRowsWithCrLf_InUtf8WithoutMark()
    {
        using var stream = new MemoryStream();
        await using (var csv = new CsvWriter(stream))
        {
            await csv.WriteRowAsync("site", "blocks");
            await csv.WriteRowAsync("=cmd|' /C calc'!A0", "3");
            await csv.WriteRowAsync("ñandú.es", null);
        }

        var bytes = stream.ToArray();
        Assert.NotEqual(0xEF, bytes[0]);
        Assert.Equal("site,blocks\r\n\"'=cmd|' /C calc'!A0\",3\r\nñandú.es,\r\n", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public async Task Writer_StreamsAMillionRows_WithoutHoldingThem()
    {
        var sink = new CountingStream();
        await using (var csv = new CsvWriter(sink))
        {
            for (var i = 0; i < 1_000_000; i++)
            {
                await csv.WriteRowAsync("site" + i, "1");
            }
        }

        Assert.Equal(Enumerable.Range(0, 1_000_000).Sum(i => ("site" + i).Length + 4L), sink.Written);
        Assert.True(sink.LargestWrite <= 64 * 1024, $"a single write of {sink.LargestWrite} bytes: the rows were gathered, not streamed");
    }

    private sealed class CountingStream : Stream
    {
        public long Written { get; private set; }

        public int LargestWrite { get; private set; }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Written += count;
            LargestWrite = Math.Max(LargestWrite, count);
        }
    }
}
