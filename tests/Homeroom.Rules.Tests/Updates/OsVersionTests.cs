using Homeroom.Rules.Updates;

namespace Homeroom.Rules.Tests.Updates;

public sealed class OsVersionTests
{
    private static OsVersion V(string text) => OsVersion.TryParse(text, out var v) ? v : throw new ArgumentException(text);

    [Theory]
    [InlineData("18.10", "18.9")]
    [InlineData("18.2.1", "18.2")]
    [InlineData("19", "18.99.99")]
    [InlineData("120.0.6099.235", "120.0.6099.71")]
    [InlineData("10.0.22631.4460", "10.0.19045.5131")]
    public void Compare_Numerically_NewerIsGreater(string newer, string older)
    {
        (V(newer) > V(older)).ShouldBeTrue();
        (V(older) < V(newer)).ShouldBeTrue();
        V(newer).IsAtLeast(V(older)).ShouldBeTrue();
        V(older).IsAtLeast(V(newer)).ShouldBeFalse();
    }

    [Fact]
    public void Equals_MissingPartsAreZero()
    {
        V("18.2").ShouldBe(V("18.2.0"));
        V("18.2").GetHashCode().ShouldBe(V("18.2.0").GetHashCode());
        V("18.2.0").ToString().ShouldBe("18.2.0");
    }

    [Theory]
    [InlineData("")]
    [InlineData("18.")]
    [InlineData(".18")]
    [InlineData("18..2")]
    [InlineData("18.2a")]
    [InlineData("v18")]
    [InlineData("1.2.3.4.5")]
    [InlineData("1234567890")]
    [InlineData("18.2 ")]
    [InlineData("-1")]
    public void TryParse_NotDottedNumbers_IsRefused(string text) => OsVersion.TryParse(text, out _).ShouldBeFalse();

    [Fact]
    public void TryParse_TooLong_IsRefused() => OsVersion.TryParse(new string('1', 9) + string.Concat(Enumerable.Repeat(".1", 30)), out _).ShouldBeFalse();

    [Theory]
    [InlineData("18.2 (22C152)", "18.2")]
    [InlineData("17.6.1", "17.6.1")]
    [InlineData(" 15.1 ", "15.1")]
    [InlineData("14.7.1-beta", "14.7.1")]
    public void FromReported_ReadsTheLeadingVersion(string reported, string expected) => OsVersion.FromReported(reported).ShouldBe(V(expected));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("unknown")]
    public void FromReported_NothingReadable_IsUnknownAndNeverAtTarget(string? reported)
    {
        var version = OsVersion.FromReported(reported);
        version.IsKnown.ShouldBeFalse();
        version.IsAtLeast(V("1")).ShouldBeFalse();
    }

    [Fact]
    public void Compare_RandomVersions_AgreesWithSystemVersion()
    {
        var random = new Random(16);
        for (var i = 0; i < 5_000; i++)
        {
            int[] a = [random.Next(30), random.Next(12), random.Next(12), random.Next(3)];
            int[] b = [random.Next(30), random.Next(12), random.Next(12), random.Next(3)];
            var expected = new Version(a[0], a[1], a[2], a[3]).CompareTo(new Version(b[0], b[1], b[2], b[3]));
            Math.Sign(V(string.Join('.', a)).CompareTo(V(string.Join('.', b)))).ShouldBe(Math.Sign(expected));
        }
    }
}
