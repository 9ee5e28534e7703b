using Homeroom.Rules.Commands;

namespace Homeroom.Rules.Tests;

public sealed class CommandCatalogTests
{
    private static Dictionary<string, string> Args(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    [Theory]
    [InlineData("lock")]
    [InlineData("unlock")]
    [InlineData("restart")]
    [InlineData("locate")]
    [InlineData("ping")]
    [InlineData("closeTab")]
    public void Validate_KindWithoutRequiredArguments_IsValid(string kind) => CommandCatalog.Validate(kind, null).ShouldBeEmpty();

    [Fact]
    public void Validate_MessageWithText_IsValid() => CommandCatalog.Validate("message", Args(("text", "Hi"), ("title", "Teacher"))).ShouldBeEmpty();

    [Fact]
    public void Validate_MessageWithoutText_NamesTheArgument() =>
        CommandCatalog.Validate("message", Args(("title", "x"))).Keys.ShouldBe(["arguments.text"]);

    [Fact]
    public void Validate_BlankRequiredArgument_IsAnError() =>
        CommandCatalog.Validate("message", Args(("text", "   "))).ShouldContainKey("arguments.text");

    [Fact]
    public void Validate_UnknownKind_ListsKnownKinds()
    {
        var errors = CommandCatalog.Validate("selfDestruct", null);

        errors.Keys.ShouldBe(["kind"]);
        errors["kind"][0].ShouldContain("lock");
    }

    [Fact]
    public void Validate_NullKind_IsAnError() => CommandCatalog.Validate(null, null).ShouldContainKey("kind");

    [Fact]
    public void Validate_ArgumentTheKindDoesNotTake_IsAnError() =>
        CommandCatalog.Validate("lock", Args(("url", "https://example.org"))).ShouldContainKey("arguments.url");

    [Fact]
    public void Validate_TooManyArguments_IsAnError() =>
        CommandCatalog.Validate("lock", Enumerable.Range(0, 17).ToDictionary(i => $"a{i}", _ => "x")).ShouldContainKey("arguments");

    [Fact]
    public void Validate_TooLongValue_IsAnError() =>
        CommandCatalog.Validate("message", Args(("text", new string('x', 4097)))).ShouldContainKey("arguments.text");

    [Theory]
    [InlineData("https://www.khanacademy.org/math", true)]
    [InlineData("http://intranet.district.example/page", true)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("file:///etc/passwd", false)]
    [InlineData("/relative/path", false)]
    [InlineData("not a url", false)]
    public void Validate_OpenUrl_AcceptsOnlyAbsoluteWebUrls(string url, bool valid) =>
        CommandCatalog.Validate("openUrl", Args(("url", url))).Count.ShouldBe(valid ? 0 : 1);

    [Fact]
    public void Validate_OpenUrlLongerThanTheLimit_IsAnError() =>
        CommandCatalog.Validate("openUrl", Args(("url", "https://example.org/" + new string('a', 2100)))).ShouldContainKey("arguments.url");

    [Theory]
    [InlineData("installPackage", "gimp")]
    [InlineData("removePackage", "Mozilla.Firefox")]
    public void Validate_PackageCommandWithAPackage_IsValid(string kind, string package) =>
        CommandCatalog.Validate(kind, Args(("package", package))).ShouldBeEmpty();

    [Theory]
    [InlineData("--force-all")]
    [InlineData("/tmp/evil.deb")]
    [InlineData("gimp; reboot")]
    public void Validate_PackageThatIsNoIdentity_NamesTheArgument(string package) =>
        CommandCatalog.Validate("installPackage", Args(("package", package))).Keys.ShouldBe(["arguments.package"]);

    [Fact]
    public void Validate_PackageCommandWithoutPackage_NamesTheArgument() =>
        CommandCatalog.Validate("removePackage", Args()).Keys.ShouldBe(["arguments.package"]);

    [Fact]
    public void Validate_StaffPackageCommandWithAMacPackageSource_IsRefused()
    {
        // A download URL and hash make an agent run a package as root: only the catalog's reconciler may send them.
        CommandCatalog.Validate("installPackage", Args(("package", "org.example.paint.pkg"), ("packageUrl", "https://evil.example/x.pkg"), ("sha256", new string('a', 64))))
            .Keys.ShouldBe(["arguments.packageUrl", "arguments.sha256"], ignoreOrder: true);
        CommandCatalog.Validate("removePackage", Args(("package", "org.example.paint.pkg"), ("appPath", "/Applications/Paint.app"))).Keys.ShouldBe(["arguments.appPath"]);
    }

    [Fact]
    public void ValidateCatalogPackage_MacSource_IsCheckedArgumentByArgument()
    {
        CommandCatalog.ValidateCatalogPackage("installPackage", Args(("package", "org.example.paint.pkg"), ("packageUrl", "https://apps.example.org/paint.pkg"),
            ("sha256", new string('a', 64)), ("appPath", "/Applications/Paint.app"), ("bundleId", "org.example.Paint"))).ShouldBeEmpty();
        CommandCatalog.ValidateCatalogPackage("installPackage", Args(("package", "org.example.paint.pkg"), ("packageUrl", "http://apps.example.org/paint.pkg"),
            ("sha256", "abc"), ("appPath", "/etc/passwd"))).Keys.ShouldBe(["arguments.packageUrl", "arguments.sha256", "arguments.appPath"], ignoreOrder: true);
        CommandCatalog.ValidateCatalogPackage("removePackage", Args(("package", "org.example.paint.pkg"), ("packageUrl", "https://apps.example.org/paint.pkg")))
            .Keys.ShouldBe(["arguments.packageUrl"]);
        CommandCatalog.ValidateCatalogPackage("lock", Args()).Keys.ShouldBe(["kind"]);
    }
}
