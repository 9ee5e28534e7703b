using Homeroom.Rules.Filtering;

namespace Homeroom.Rules.Tests.Filtering;

public sealed class FilterUrlTests
{
    [Theory]
    [InlineData("https://www.Example.COM/Path?q=1#frag", "www.example.com", "/Path?q=1")]
    [InlineData("example.com", "example.com", "")]
    [InlineData("example.com.", "example.com", "")]
    [InlineData("http://example.com.:8080/a", "example.com", "/a")]
    [InlineData("https://user:pw@example.com/a", "example.com", "/a")]
    [InlineData("  example.com/a  ", "example.com", "/a")]
    [InlineData("example.com?x=1", "example.com", "?x=1")]
    [InlineData("https://bücher.de/", "xn--bcher-kva.de", "/")]
    [InlineData("https://BÜCHER.de", "xn--bcher-kva.de", "")]
    [InlineData("http://[2001:DB8::1]:443/x", "[2001:db8::1]", "/x")]
    [InlineData("wss://classroom.example.org/socket", "classroom.example.org", "/socket")]
    public void TryParse_VariousForms_CanonicalHostAndPath(string url, string host, string path)
    {
        FilterUrl.TryParse(url, out var parsed, out var error).ShouldBeTrue(error);

        parsed.Host.ToString().ShouldBe(host);
        parsed.Path.ToString().ShouldBe(path);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("https://")]
    [InlineData("https:///path")]
    [InlineData("http://exa mple.com")]
    [InlineData("http://example.com:99999")]
    [InlineData("http://example.com:abc")]
    [InlineData("http://a..b.com")]
    [InlineData("http://.example.com")]
    [InlineData("1http://example.com")]
    [InlineData("http://exa%41mple.com")]
    [InlineData("http://[zz::1]/")]
    public void TryParse_Malformed_FailsWithReason(string url)
    {
        FilterUrl.TryParse(url, out _, out var error).ShouldBeFalse();

        error.ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public void TryParse_TooLong_Fails()
    {
        FilterUrl.TryParse("https://example.com/" + new string('a', FilterUrl.MaxLength), out _, out var error).ShouldBeFalse();

        error.ShouldNotBeNull().ShouldContain("longer");
    }

    [Fact]
    public void TryParse_HostLongerThan253_Fails()
    {
        var host = string.Join('.', Enumerable.Repeat(new string('a', 60), 5));

        FilterUrl.TryParse(host, out _, out _).ShouldBeFalse();
    }

    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("http://10.1.2.3:80/x", true)]
    [InlineData("10.1.2.example", false)]
    [InlineData("1.2.3", false)]
    public void TryParse_IPv4_Recognised(string url, bool isIp)
    {
        FilterUrl.TryParse(url, out var parsed, out _).ShouldBeTrue();

        parsed.IsIpAddress.ShouldBe(isIp);
    }
}
