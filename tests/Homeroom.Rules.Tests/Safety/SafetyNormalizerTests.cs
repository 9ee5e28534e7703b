using Homeroom.Rules.Safety;

namespace Homeroom.Rules.Tests.Safety;

public sealed class SafetyNormalizerTests
{
    [Theory]
    [InlineData("Kill Myself", "kil myself")]
    [InlineData("kiiiill", "kil")]
    [InlineData("k i l l", "kil")]
    [InlineData("s.u.i.c.i.d.e", "suicide")]
    [InlineData("k-i-l-l m-y-s-e-l-f", "kil myself")]
    [InlineData("k1ll mys3lf", "kil myself")]
    [InlineData("i w.a.n.t to die", "i want to die")]
    [InlineData("$uicide", "suicide")]
    [InlineData("h@te", "hate")]
    [InlineData("top 10 in 2024", "top 10 in 2024")]
    [InlineData("su\u200Bici\u200Dde", "suicide")]
    [InlineData("ki\u202Ell", "kil")]
    [InlineData("Suicídio", "suicidio")]
    [InlineData("MAÑANA", "manana")]
    [InlineData("ｋｉｌｌ", "kil")]
    [InlineData("kіll", "kil")]
    [InlineData("ΚΙLL", "kil")]
    [InlineData("don't", "dont")]
    [InlineData("die. now", "die\nnow")]
    [InlineData("google.com", "gogle com")]
    [InlineData("Straße", "strase")]
    public void Normalize_Variants_GiveTheSameForm(string text, string expected)
    {
        SafetyNormalizer.Normalize(text).Text.ShouldBe(expected);
    }

    [Fact]
    public void Normalize_LoneSurrogate_IsASeparator()
    {
        SafetyNormalizer.Normalize("kill\uD800myself").Text.ShouldBe("kil myself");
        SafetyNormalizer.Normalize("kill\uDC00").Text.ShouldBe("kil");
    }

    [Fact]
    public void Normalize_MathematicalLetters_BecomeLatin()
    {
        SafetyNormalizer.Normalize("𝐤𝐢𝐥𝐥").Text.ShouldBe("kil");
    }

    [Fact]
    public void Normalize_Map_PointsBackToOriginalCharacters()
    {
        var text = "I want to k i i l l";
        var normalized = SafetyNormalizer.Normalize(text);
        normalized.Text.ShouldBe("i want to kil");
        var k = normalized.Text.IndexOf("kil", StringComparison.Ordinal);
        normalized.OriginalStart(k).ShouldBe(10);
        normalized.OriginalEnd(k + 2).ShouldBe(text.Length);
    }
}
