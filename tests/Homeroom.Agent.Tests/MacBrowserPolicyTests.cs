using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Homeroom.Agent.Capabilities.Browsers;
using Homeroom.Agent.State;
using Homeroom.Agent.Tests.Support;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Policies;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The macOS browser policy (never run on macOS) written under a root directory of the test's own: Chrome's and Edge's
/// managed preferences read back by Python's plistlib and compared with what the Linux writer puts in its JSON file for
/// the same policy, other keys and extensions kept, withdrawal, and files it cannot or must not edit.
/// </summary>
public sealed class MacBrowserPolicyTests : IDisposable
{
    private const string Extension = "haldlgldplgnggkjaafhelgiaglafanh";
    private const string OtherExtension = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string Config = """{"serverUrl": {"Value": "https://homeroom.example.org"}, "enrollmentToken": {"Value": "hre_abc"}, "reportSignedInUser": {"Value": true}, "maxTabs": 7, "allowed": {"Value": ["a", "b"]}}""";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "homeroom-macbrowser-" + Guid.NewGuid().ToString("N"));

    public MacBrowserPolicyTests() => Directory.CreateDirectory(State);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Root => Path.Combine(_directory, "root");

    private string State => Path.Combine(_directory, "state");

    private string ChromeFile => Path.Combine(Root, "Library/Managed Preferences/com.google.Chrome.plist");

    private string EdgeFile => Path.Combine(Root, "Library/Managed Preferences/com.microsoft.Edge.plist");

    private string FirefoxFile => Path.Combine(Root, "Applications/Firefox.app/Contents/Resources/distribution/policies.json");

    private MacBrowserPolicy Policy() => new(new AgentOptions { BrowserPolicyRoot = Root, StateDirectory = State }, new AgentPaths(State));

    private static BrowserPolicyRequest Request(string settings) =>
        BrowserPolicyRequest.From(PolicyDocument.Read(JsonDocument.Parse(settings).RootElement))!;

    private static BrowserPolicyRequest ExtensionRequest(string id = Extension, string? firefox = null) => Request($$"""
        {"desktopBrowsers": {"extensionId": "{{id}}", "extensionConfig": {{Config}}{{firefox}} } }
        """);

    private static BrowserPolicyRequest FirefoxRequest() =>
        ExtensionRequest(firefox: """, "firefoxAddonId": "homeroom@example.org", "firefoxInstallUrl": "https://homeroom.example.org/homeroom.xpi" """);

    private static readonly UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    [Fact]
    public async Task Apply_WritesChromesAndEdgesManagedPreferences_HoldingWhatTheLinuxFileHolds()
    {
        var request = BrowserPolicyContent.WithCompanion(ExtensionRequest(), "hrc_device", new Uri("http://127.0.0.1:5000/"));
        var policy = Policy();

        var outcome = policy.Apply(request);

        outcome.Failures.ShouldBeEmpty();
        outcome.ExtensionWritten.ShouldBeTrue();
        outcome.Changed.ShouldBe([ChromeFile, EdgeFile]);
        var linux = JsonNode.Parse(BrowserPolicyContent.ChromiumPolicyFile(request)!)!;
        linux["3rdparty"]!["extensions"]![Extension]!["companionCredential"]!.GetValue<string>().ShouldBe("hrc_device");
        foreach (var file in new[] { ChromeFile, EdgeFile })
        {
            var read = await PlistOracle.ReadAsync(file);
            JsonNode.DeepEquals(read, linux).ShouldBeTrue($"{file}: {read.ToJsonString()} is not {linux.ToJsonString()}");
            File.GetUnixFileMode(file).ShouldBe(Mode0644);
        }

        Directory.GetFiles(Path.GetDirectoryName(ChromeFile)!).ShouldBe([ChromeFile, EdgeFile], ignoreOrder: true, "no temporary file is left");
        File.Exists(FirefoxFile).ShouldBeFalse();
        policy.Describe().ShouldBe([new AgentCapability(CapabilityNames.BrowserPolicy, true), new AgentCapability(CapabilityNames.WebFilter, true)]);
        policy.Apply(request).Changed.ShouldBeEmpty("the same policy again changes nothing");
    }

    [Fact]
    public async Task Apply_KeepsOthersKeysAndForcelistEntries_ReplacesHomeroomsEarlierExtension_AndWithdrawalLeavesOnlyTheirs()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ChromeFile)!);
        await File.WriteAllTextAsync(ChromeFile, $$"""
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0">
            <dict>
              <key>HomepageLocation</key><string>https://school.example.org</string>
              <key>ExtensionInstallForcelist</key>
              <array><string>{{OtherExtension}};https://clients2.google.com/service/update2/crx</string></array>
              <key>3rdparty</key>
              <dict><key>extensions</key><dict><key>{{OtherExtension}}</key><dict><key>mode</key><string>strict</string></dict></dict></dict>
            </dict>
            </plist>
            """);
        var policy = Policy();
        const string Older = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        policy.Apply(ExtensionRequest(Older)).Failures.ShouldBeEmpty();

        policy.Apply(ExtensionRequest()).Changed.ShouldBe([ChromeFile, EdgeFile]);

        var chrome = await PlistOracle.ReadAsync(ChromeFile);
        chrome["HomepageLocation"]!.GetValue<string>().ShouldBe("https://school.example.org");
        chrome["ExtensionInstallForcelist"]!.AsArray().Select(e => e!.GetValue<string>()).ShouldBe(
            [$"{OtherExtension};https://clients2.google.com/service/update2/crx", $"{Extension};https://clients2.google.com/service/update2/crx"]);
        var extensions = chrome["3rdparty"]!["extensions"]!.AsObject();
        extensions.Select(e => e.Key).ShouldBe([OtherExtension, Extension], "the earlier Homeroom extension's configuration is gone");
        extensions[OtherExtension]!["mode"]!.GetValue<string>().ShouldBe("strict");
        extensions[Extension]!["maxTabs"]!.GetValue<int>().ShouldBe(7);
        extensions[Extension]!["allowed"]!.AsArray().Select(a => a!.GetValue<string>()).ShouldBe(["a", "b"]);

        var withdrawn = policy.Apply(null);

        withdrawn.Failures.ShouldBeEmpty();
        withdrawn.Changed.ShouldBe([ChromeFile, EdgeFile]);
        File.Exists(EdgeFile).ShouldBeFalse("Edge's file held Homeroom's entries only");
        var left = await PlistOracle.ReadAsync(ChromeFile);
        JsonNode.DeepEquals(left, JsonNode.Parse($$$"""
            {
              "HomepageLocation": "https://school.example.org",
              "ExtensionInstallForcelist": ["{{{OtherExtension}}};https://clients2.google.com/service/update2/crx"],
              "3rdparty": {"extensions": {"{{{OtherExtension}}}": {"mode": "strict"} } }
            }
            """)).ShouldBeTrue(left.ToJsonString());
        File.Exists(Path.Combine(State, "mac-browser-policy.id")).ShouldBeFalse();
        policy.Apply(null).Changed.ShouldBeEmpty("someone else's file is not even reformatted");
    }

    [Theory]
    [InlineData("<plist version=\"1.0\"><dict><key>HomepageLocation</key>")]
    [InlineData("not xml at all")]
    [InlineData("<plist version=\"1.0\"><array><string>x</string></array></plist>")]
    [InlineData("<plist version=\"1.0\"><dict><key>a</key><key>b</key></dict></plist>")]
    public async Task Apply_MalformedManagedPreferences_AreReplaced_NotCrashedOn(string malformed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ChromeFile)!);
        await File.WriteAllTextAsync(ChromeFile, malformed);
        var request = ExtensionRequest();

        var outcome = Policy().Apply(request);

        outcome.Failures.ShouldBeEmpty();
        outcome.Changed.ShouldContain(ChromeFile);
        JsonNode.DeepEquals(await PlistOracle.ReadAsync(ChromeFile), JsonNode.Parse(BrowserPolicyContent.ChromiumPolicyFile(request)!)).ShouldBeTrue();
    }

    [Fact]
    public async Task Apply_MalformedFileNotMentioningHomeroom_IsLeftAtWithdrawal()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ChromeFile)!);
        await File.WriteAllTextAsync(ChromeFile, "<plist>broken");

        var outcome = Policy().Apply(null);

        outcome.Changed.ShouldBeEmpty();
        (await File.ReadAllTextAsync(ChromeFile)).ShouldBe("<plist>broken");
    }

    [Fact]
    public async Task Apply_BinaryPropertyList_IsLeftAsItIs_AndReported()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ChromeFile)!);
        byte[] binary = [.. "bplist00"u8, 0xd0, 0x08, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
        await File.WriteAllBytesAsync(ChromeFile, binary);
        var policy = Policy();

        var outcome = policy.Apply(ExtensionRequest());

        (await File.ReadAllBytesAsync(ChromeFile)).ShouldBe(binary);
        outcome.Failures.ShouldHaveSingleItem().ShouldContain("Google Chrome's policy");
        outcome.Failures[0].ShouldContain("binary property list");
        outcome.Changed.ShouldBe([EdgeFile]);
        outcome.ExtensionWritten.ShouldBeFalse();
        policy.Describe().ShouldContain(c => c.Name == CapabilityNames.BrowserPolicy && !c.Available && c.Reason!.Contains("binary property list"));
        policy.Apply(null).Failures.ShouldBeEmpty("withdrawal has nothing to say about a file it never wrote");
    }

    [Fact]
    public async Task Apply_Firefox_OnlyWhenFirefoxIsInstalled_WithTheLinuxContent_AndAFileSomeoneElseWroteIsLeftAlone()
    {
        var policy = Policy();
        policy.Apply(FirefoxRequest()).Changed.ShouldBe([ChromeFile, EdgeFile], "no Firefox.app: its bundle is not created");
        Directory.Exists(Path.Combine(Root, "Applications")).ShouldBeFalse();

        Directory.CreateDirectory(Path.Combine(Root, "Applications/Firefox.app/Contents/Resources"));
        policy.Apply(FirefoxRequest()).Changed.ShouldBe([FirefoxFile]);
        (await File.ReadAllBytesAsync(FirefoxFile)).ShouldBe(BrowserPolicyContent.FirefoxPoliciesFile(FirefoxRequest())!);
        File.GetUnixFileMode(FirefoxFile).ShouldBe(Mode0644);
        policy.Apply(null).Changed.ShouldBe([ChromeFile, EdgeFile, FirefoxFile]);
        File.Exists(FirefoxFile).ShouldBeFalse();

        // Someone else's policies.json, even a broken one, is never changed: as on Linux.
        await File.WriteAllTextAsync(FirefoxFile, "{\"policies\": ");
        var outcome = policy.Apply(FirefoxRequest());
        outcome.Failures.ShouldHaveSingleItem().ShouldContain("was not written by Homeroom and is left as it is");
        (await File.ReadAllTextAsync(FirefoxFile)).ShouldBe("{\"policies\": ");
    }

    [Fact]
    public void Apply_CannotWrite_ReportsWhichFileAndWhy()
    {
        // "Library" is a file: nothing can be created under it (the tests run as root, whom file modes do not stop).
        Directory.CreateDirectory(Root);
        File.WriteAllText(Path.Combine(Root, "Library"), "not a directory");

        var outcome = Policy().Apply(ExtensionRequest());

        outcome.ExtensionWritten.ShouldBeFalse();
        outcome.Failures.Count.ShouldBe(2);
        outcome.Failures[0].ShouldStartWith($"desktopBrowsers: Google Chrome's policy {ChromeFile} could not be written (");
    }

    [Fact]
    public void PropertyList_FromJson_NullsAreLeftOut_NumbersKeepTheirKind()
    {
        var value = Capabilities.MacOS.PlistXml.FromJson(JsonDocument.Parse("""{"a": null, "b": [1, null, 2.5], "c": "x<&"}""").RootElement)!;
        value.ToString(System.Xml.Linq.SaveOptions.DisableFormatting).ShouldBe("<dict><key>b</key><array><integer>1</integer><real>2.5</real></array><key>c</key><string>x&lt;&amp;</string></dict>");
        Encoding.UTF8.GetString(Capabilities.MacOS.PlistXml.Document(value)).ShouldContain("<string>x&lt;&amp;</string>");
    }
}
