using System.Text.Json;
using Homeroom.Rules.Policies;

namespace Homeroom.Rules.Tests.Policies;

/// <summary>The <c>desktopBrowsers.*</c> settings: the extension the desktop agent gives browsers, and their checks.</summary>
public sealed class DesktopBrowserSettingsTests
{
    private const string Extension = "haldlgldplgnggkjaafhelgiaglafanh";

    private static IReadOnlyList<SettingError> Errors(string json) => PolicySettings.ParseBySetting(JsonDocument.Parse(json).RootElement).Errors;

    [Fact]
    public void Defaults_AreNoExtension_TheChromeWebStore_AndAnEmptyConfiguration()
    {
        PolicySettings.All["desktopBrowsers.extensionId"].Default.GetValue<string>().ShouldBe("");
        PolicySettings.All["desktopBrowsers.extensionUpdateUrl"].Default.GetValue<string>().ShouldBe("https://clients2.google.com/service/update2/crx");
        PolicySettings.All["desktopBrowsers.extensionConfig"].Kind.ShouldBe(SettingKind.JsonObject);
        PolicySettings.All["desktopBrowsers.extensionConfig"].Default.ToJsonString().ShouldBe("{}");
        PolicySettings.All["desktopBrowsers.firefoxAddonId"].Default.GetValue<string>().ShouldBe("");
    }

    [Fact]
    public void Parse_AWholeDesktopBrowsersGroup_IsAccepted_AndTheAgentReadsTheConfigurationAsAnObject()
    {
        const string Json = $$"""
            {"desktopBrowsers": {
              "extensionId": "{{Extension}}",
              "extensionUpdateUrl": "https://crx.example.org/update?x=1&y=2",
              "extensionConfig": {"serverUrl": {"Value": "https://homeroom.example.org"}, "enrollmentToken": {"Value": "hre_abc"}, "reportSignedInUser": {"Value": true} },
              "firefoxAddonId": "homeroom@example.org",
              "firefoxInstallUrl": "https://homeroom.example.org/homeroom.xpi" } }
            """;
        var (settings, errors) = PolicySettings.Parse(JsonDocument.Parse(Json).RootElement);
        errors.ShouldBeEmpty();
        settings.Count.ShouldBe(5);

        var document = PolicyDocument.Read(JsonDocument.Parse(PolicySettings.ToDocument(settings).ToJsonString()).RootElement);
        document.Text("desktopBrowsers", "extensionId").ShouldBe(Extension);
        document.Object("desktopBrowsers", "extensionConfig")!.Value.GetProperty("enrollmentToken").GetProperty("Value").GetString().ShouldBe("hre_abc");
        document.Object("desktopBrowsers", "extensionId").ShouldBeNull();
        PolicyDocument.Read(JsonDocument.Parse("{}").RootElement).Text("desktopBrowsers", "extensionUpdateUrl").ShouldBe(PolicySettings.ChromeWebStoreUpdateUrl);
    }

    [Theory]
    [InlineData("{8f2d5c3e-1b4a-4c6d-9e7f-0a1b2c3d4e5f}")]
    [InlineData("homeroom@example.org")]
    [InlineData("")]
    public void Parse_FirefoxAddonIdOfEitherForm_IsAccepted(string id) =>
        Errors($$"""{"desktopBrowsers": {"firefoxAddonId": "{{id}}" } }""").ShouldBeEmpty();

    [Theory]
    [InlineData("desktopBrowsers.extensionId", "\"haldlgldplgnggkjaafhelgiaglafan\"", "32 letters from a to p")]
    [InlineData("desktopBrowsers.extensionId", "\"haldlgldplgnggkjaafhelgiaglafanz\"", "32 letters from a to p")]
    [InlineData("desktopBrowsers.extensionId", "\"HALDLGLDPLGNGGKJAAFHELGIAGLAFANH\"", "32 letters from a to p")]
    [InlineData("desktopBrowsers.extensionId", "\"haldlgldplgnggkjaafhelgiaglafanh;https://evil.example.org\"", "32 letters from a to p")]
    [InlineData("desktopBrowsers.extensionUpdateUrl", "\"\"", "http or https URL")]
    [InlineData("desktopBrowsers.extensionUpdateUrl", "\"ftp://crx.example.org/update\"", "http or https URL")]
    [InlineData("desktopBrowsers.extensionUpdateUrl", "\"update/crx\"", "http or https URL")]
    [InlineData("desktopBrowsers.extensionUpdateUrl", "\"https://crx.example.org/a;b\"", "without ';'")]
    [InlineData("desktopBrowsers.firefoxInstallUrl", "\"javascript:alert(1)\"", "http or https URL")]
    [InlineData("desktopBrowsers.firefoxAddonId", "\"homeroom\"", "name@domain or {GUID}")]
    [InlineData("desktopBrowsers.firefoxAddonId", "\"home room@example.org\"", "name@domain or {GUID}")]
    [InlineData("desktopBrowsers.extensionConfig", "[]", "must be a JSON object")]
    [InlineData("desktopBrowsers.extensionConfig", "\"{\\\"serverUrl\\\": 1}\"", "must be a JSON object")]
    [InlineData("desktopBrowsers.extensionConfig", "42", "must be a JSON object")]
    [InlineData("desktopBrowsers.extensionConfig", "true", "must be a JSON object")]
    public void Parse_BadValue_IsRefusedNamingTheSetting(string key, string value, string message)
    {
        var name = key["desktopBrowsers.".Length..];
        var error = Errors($$"""{"desktopBrowsers": {"{{name}}": {{value}} } }""").ShouldHaveSingleItem();
        error.Key.ShouldBe(key);
        error.Message.ShouldStartWith($"'{key}': ");
        error.Message.ShouldContain(message);
    }

    [Fact]
    public void Parse_ConfigurationOverTheLimit_IsRefused_AndAtTheLimitIsAccepted()
    {
        // {"k":"xxx…"}: 8 bytes around the text, written compactly; indentation an administrator pasted does not count.
        var atLimit = new string('x', PolicySettings.MaxJsonObjectBytes - 8);
        Errors($$"""{"desktopBrowsers": {"extensionConfig": {   "k"  :  "{{atLimit}}"   } } }""").ShouldBeEmpty();

        var error = Errors($$"""{"desktopBrowsers": {"extensionConfig": {"k": "{{atLimit}}x" } } }""").ShouldHaveSingleItem();
        error.Key.ShouldBe("desktopBrowsers.extensionConfig");
        error.Message.ShouldContain("at most 8192 bytes");
    }

    [Fact]
    public void Parse_TextSettingsOverTheTextLimit_AreRefused()
    {
        var url = "https://crx.example.org/" + new string('a', PolicySettings.MaxTextLength);
        Errors($$"""{"desktopBrowsers": {"extensionUpdateUrl": "{{url}}" } }""").ShouldHaveSingleItem().Message.ShouldContain("at most 500 characters");
    }
}
