using System.Text;
using Homeroom.Server.Agents;

namespace Homeroom.Server.Tests.Agents;

public sealed class MessageReaderTests
{
    [Theory]
    [InlineData("""{"t":"a\u0000b"}""", """{"t":"a\uFFFDb"}""")]
    [InlineData("""{"t":"\u0000\u0000"}""", """{"t":"\uFFFD\uFFFD"}""")]
    [InlineData("""{"t":"\\u0000"}""", """{"t":"\\u0000"}""")]
    [InlineData("""{"t":"\\\u0000"}""", """{"t":"\\\uFFFD"}""")]
    [InlineData("""{"t":"\u00001"}""", """{"t":"\uFFFD1"}""")]
    [InlineData("""{"t":"\u0001"}""", """{"t":"\u0001"}""")]
    public void ReplaceNulEscapes_ReplacesOnlyRealNulEscapes(string json, string expected)
    {
        var bytes = Encoding.UTF8.GetBytes(json);

        MessageReader.ReplaceNulEscapes(bytes);

        Encoding.UTF8.GetString(bytes).ShouldBe(expected);
    }
}
