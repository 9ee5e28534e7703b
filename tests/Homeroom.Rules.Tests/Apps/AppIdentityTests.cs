using Homeroom.Rules.Apps;

namespace Homeroom.Rules.Tests.Apps;

public sealed class AppIdentityTests
{
    [Theory]
    [InlineData("aapocclcgogkmnckokdopfmhonfmgoek", true)]
    [InlineData("ghbmnnjooekpmoecnnnilnnbdlolhkhi", true)]
    [InlineData("aapocclcgogkmnckokdopfmhonfmgoe", false)]
    [InlineData("aapocclcgogkmnckokdopfmhonfmgoekk", false)]
    [InlineData("aapocclcgogkmnckokdopfmhonfmgoeq", false)]
    [InlineData("AAPOCCLCGOGKMNCKOKDOPFMHONFMGOEK", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsChromeExtensionId_ThirtyTwoLettersAToP(string? value, bool expected) => AppIdentity.IsChromeExtensionId(value).ShouldBe(expected);

    [Theory]
    [InlineData("com.apple.Pages", true)]
    [InlineData("org.khanacademy.Khan-Academy", true)]
    [InlineData("com.google.chrome.ios", true)]
    [InlineData("Pages", false)]
    [InlineData("com..apple", false)]
    [InlineData(".com.apple", false)]
    [InlineData("com.apple.", false)]
    [InlineData("com.apple.Pages app", false)]
    [InlineData("com.apple.Pagés", false)]
    [InlineData("com/apple", false)]
    public void IsBundleId_ReverseDns(string value, bool expected) => AppIdentity.IsBundleId(value).ShouldBe(expected);

    [Fact]
    public void IsBundleId_LongerThanApplesLimit_Refused()
    {
        AppIdentity.IsBundleId("com." + new string('a', AppIdentity.MaxBundleIdLength - 4)).ShouldBeTrue();
        AppIdentity.IsBundleId("com." + new string('a', AppIdentity.MaxBundleIdLength - 3)).ShouldBeFalse();
    }

    [Theory]
    [InlineData("361309726", true)]
    [InlineData("1", true)]
    [InlineData("0361309726", false)]
    [InlineData("36130972a", false)]
    [InlineData("-361309726", false)]
    [InlineData("1234567890123456", false)]
    [InlineData("", false)]
    public void IsAdamId_DigitsOnly(string value, bool expected) => AppIdentity.IsAdamId(value).ShouldBe(expected);

    [Theory]
    [InlineData("https://docs.google.com/", true)]
    [InlineData("https://www.khanacademy.org/math", true)]
    [InlineData("http://example.org/", false)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("https://user:pw@example.org/", false)]
    [InlineData("example.org", false)]
    [InlineData("https://exa mple.org/", false)]
    public void IsWebAppUrl_AbsoluteHttps(string value, bool expected) => AppIdentity.IsWebAppUrl(value).ShouldBe(expected);

    [Theory]
    [InlineData("Microsoft.Teams", true)]
    [InlineData("9NBLGGH4NNS1", true)]
    [InlineData("Microsoft.WindowsCalculator_8wekyb3d8bbwe", true)]
    [InlineData(".Teams", false)]
    [InlineData("Microsoft..Teams", false)]
    [InlineData("Microsoft Teams", false)]
    [InlineData("Teams.", false)]
    public void IsWindowsPackageId(string value, bool expected) => AppIdentity.IsWindowsPackageId(value).ShouldBe(expected);

    [Theory]
    [InlineData("gimp", true)]
    [InlineData("libreoffice-writer", true)]
    [InlineData("g++", true)]
    [InlineData("0ad", true)]
    [InlineData("python3.12", true)]
    [InlineData("x", false)]
    [InlineData("GIMP", false)]
    [InlineData("-gimp", false)]
    [InlineData("gimp.", false)]
    [InlineData("gimp..x", false)]
    [InlineData("gimp_2", false)]
    [InlineData("gimp tools", false)]
    [InlineData("../gimp", false)]
    public void IsLinuxPackage(string value, bool expected) => AppIdentity.IsLinuxPackage(value).ShouldBe(expected);

    [Theory]
    [InlineData("com.google.android.apps.classroom", true)]
    [InlineData("org.khanacademy.android", true)]
    [InlineData("com.1password", false)]
    [InlineData("classroom", false)]
    [InlineData("com.google-android", false)]
    public void IsAndroidPackage(string value, bool expected) => AppIdentity.IsAndroidPackage(value).ShouldBe(expected);

    [Theory]
    [InlineData("org.example.paint.pkg", true)]
    [InlineData("com.microsoft.package.Microsoft_Word.app", true)]
    [InlineData("com.example-app.pkg", true)]
    [InlineData("paint", false)] // one part
    [InlineData("--volume", false)]
    [InlineData("_x.pkg", false)]
    [InlineData("org..example", false)]
    [InlineData("org.example.", false)]
    [InlineData("org/example.pkg", false)]
    [InlineData("org.example pkg", false)]
    public void IsMacPackageId_ReceiptIds(string value, bool expected) => AppIdentity.IsMacPackageId(value).ShouldBe(expected);

    [Fact]
    public void IsMacPackageId_LongerThanTheProtocolsLimit_Refused()
    {
        AppIdentity.IsMacPackageId("a." + new string('b', 126)).ShouldBeTrue();
        AppIdentity.IsMacPackageId("a." + new string('b', 127)).ShouldBeFalse();
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", true)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", false)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", false)]
    [InlineData("g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("", false)]
    public void IsSha256_SixtyFourHexCharacters(string value, bool expected) => AppIdentity.IsSha256(value).ShouldBe(expected);

    [Theory]
    [InlineData("/Applications/Paint.app", true)]
    [InlineData("/Applications/Google Chrome.app", true)]
    [InlineData("/Applications/Utilities/Racer (2024).app", true)]
    [InlineData("/Applications/.app", false)]
    [InlineData("/Applications/Paint", false)]
    [InlineData("/Applications/../etc/x.app", false)]
    [InlineData("/Applications/./Paint.app", false)]
    [InlineData("/Applications//Paint.app", false)]
    [InlineData("/System/Applications/Paint.app", false)]
    [InlineData("Applications/Paint.app", false)]
    [InlineData("/Applications/Pa\nint.app", false)]
    [InlineData("/Applications/Pa:int.app", false)]
    [InlineData("/Applications/ Paint.app", false)]
    public void IsMacAppPath_BundlesUnderApplications(string value, bool expected) => AppIdentity.IsMacAppPath(value).ShouldBe(expected);

    [Fact]
    public void IsMacAppPath_LongerThanTheLimit_Refused()
    {
        AppIdentity.IsMacAppPath("/Applications/" + new string('a', 237) + ".app").ShouldBeTrue();
        AppIdentity.IsMacAppPath("/Applications/" + new string('a', 238) + ".app").ShouldBeFalse();
    }

    [Fact]
    public void ChromeForceInstallLine_IsGoogleAdminsFormat() =>
        AppIdentity.ChromeForceInstallLine("aapocclcgogkmnckokdopfmhonfmgoek").ShouldBe("aapocclcgogkmnckokdopfmhonfmgoek;https://clients2.google.com/service/update2/crx");
}
