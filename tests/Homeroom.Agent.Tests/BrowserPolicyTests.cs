using System.Text;
using System.Text.Json;
using Homeroom.Agent.Capabilities.Browsers;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;
using Homeroom.Rules.Policies;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The browser policy files the Linux agent writes (under a root directory of the test's own), and the Windows
/// implementation's list and value logic (its registry writes cannot run here).
/// </summary>
public sealed class BrowserPolicyTests : IDisposable
{
    private const string Extension = "haldlgldplgnggkjaafhelgiaglafanh";
    private const string Config = """{"serverUrl": {"Value": "https://homeroom.example.org"}, "enrollmentToken": {"Value": "hre_abc"}, "reportSignedInUser": {"Value": true}}""";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "homeroom-browser-" + Guid.NewGuid().ToString("N"));

    private string Root => Path.Combine(_directory, "root");

    private string State => Path.Combine(_directory, "state");

    public BrowserPolicyTests() => Directory.CreateDirectory(State);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private LinuxBrowserPolicy Policy() => new(new AgentOptions { BrowserPolicyRoot = Root, StateDirectory = State }, new AgentPaths(State));

    private static BrowserPolicyRequest Request(string settings) =>
        BrowserPolicyRequest.From(PolicyDocument.Read(JsonDocument.Parse(settings).RootElement))!;

    private static BrowserPolicyRequest ExtensionRequest(string? firefox = null) => Request($$"""
        {"desktopBrowsers": {"extensionId": "{{Extension}}", "extensionUpdateUrl": "https://clients2.google.com/service/update2/crx", "extensionConfig": {{Config}}{{firefox}} } }
        """);

    private static BrowserPolicyRequest FirefoxRequest() =>
        ExtensionRequest(""", "firefoxAddonId": "homeroom@example.org", "firefoxInstallUrl": "https://homeroom.example.org/homeroom.xpi" """);

    private string ChromeFile => Path.Combine(Root, "etc/opt/chrome/policies/managed/homeroom.json");

    private string[] ChromiumFiles =>
    [
        ChromeFile,
        Path.Combine(Root, "etc/chromium/policies/managed/homeroom.json"),
        Path.Combine(Root, "etc/opt/edge/policies/managed/homeroom.json"),
    ];

    private string FirefoxFile => Path.Combine(Root, "etc/firefox/policies/policies.json");

    private const string ExpectedChromium = """
        {
          "ExtensionInstallForcelist": [
            "haldlgldplgnggkjaafhelgiaglafanh;https://clients2.google.com/service/update2/crx"
          ],
          "3rdparty": {
            "extensions": {
              "haldlgldplgnggkjaafhelgiaglafanh": {
                "serverUrl": "https://homeroom.example.org",
                "enrollmentToken": "hre_abc",
                "reportSignedInUser": true
              }
            }
          }
        }

        """;

    private const string ExpectedFirefox = """
        {
          "policies": {
            "ExtensionSettings": {
              "homeroom@example.org": {
                "installation_mode": "force_installed",
                "install_url": "https://homeroom.example.org/homeroom.xpi"
              }
            },
            "3rdparty": {
              "Extensions": {
                "homeroom@example.org": {
                  "serverUrl": "https://homeroom.example.org",
                  "enrollmentToken": "hre_abc",
                  "reportSignedInUser": true
                }
              }
            }
          }
        }

        """;

    [Fact]
    public void ChromiumPolicyFile_IsTheForcelistAndTheUnwrappedManagedConfiguration()
    {
        Encoding.UTF8.GetString(BrowserPolicyContent.ChromiumPolicyFile(ExtensionRequest())!).ShouldBe(ExpectedChromium);
    }

    [Fact]
    public void ChromiumPolicyFile_NoConfiguration_IsTheForcelistOnly_AndNoExtensionIsNoFile()
    {
        var request = Request($$"""{"desktopBrowsers": {"extensionId": "{{Extension}}" } }""");
        Encoding.UTF8.GetString(BrowserPolicyContent.ChromiumPolicyFile(request)!).ShouldBe($$"""
            {
              "ExtensionInstallForcelist": [
                "{{Extension}};https://clients2.google.com/service/update2/crx"
              ]
            }

            """);
        BrowserPolicyContent.ChromiumPolicyFile(null).ShouldBeNull();
        BrowserPolicyRequest.From(PolicyDocument.Read(JsonDocument.Parse("""{"desktopBrowsers": {"extensionId": ""}}""").RootElement)).ShouldBeNull();
    }

    [Fact]
    public void ManagedValues_PlainValuesAreKeptAsTheyAre()
    {
        var values = BrowserPolicyContent.ManagedValues(JsonDocument.Parse("""{"a": {"Value": [1, 2]}, "b": 3, "c": {"Value": 1, "Other": 2}}""").RootElement);
        values.Select(v => $"{v.Key}={v.Value.GetRawText()}").ShouldBe(["a=[1, 2]", "b=3", """c={"Value": 1, "Other": 2}"""]);
    }

    [Fact]
    public void Apply_WritesEachBrowsersFileAtomically0644_AndFirefoxOnlyWhenAnAddonIsSet()
    {
        var policy = Policy();
        var outcome = policy.Apply(ExtensionRequest());

        outcome.Failures.ShouldBeEmpty();
        outcome.ExtensionWritten.ShouldBeTrue();
        outcome.Changed.ShouldBe(ChromiumFiles, ignoreOrder: true);
        foreach (var file in ChromiumFiles)
        {
            File.ReadAllText(file).ShouldBe(ExpectedChromium);
            File.GetUnixFileMode(file).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.GetUnixFileMode(Path.GetDirectoryName(file)!).ShouldBe((UnixFileMode)0b111_101_101);
            // No temporary file left beside the policy directory.
            Directory.GetFiles(Path.GetDirectoryName(Path.GetDirectoryName(file)!)!).ShouldBeEmpty();
        }

        File.Exists(FirefoxFile).ShouldBeFalse();
        policy.Describe().ShouldBe([new AgentCapability(CapabilityNames.BrowserPolicy, true), new AgentCapability(CapabilityNames.WebFilter, true)]);

        policy.Apply(FirefoxRequest()).Changed.ShouldBe([FirefoxFile]);
        File.ReadAllText(FirefoxFile).ShouldBe(ExpectedFirefox);
        File.GetUnixFileMode(FirefoxFile).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    [Fact]
    public void Apply_SameContentAgain_WritesNothing_AndAChangeRewritesOnlyWhatChanged()
    {
        var policy = Policy();
        policy.Apply(FirefoxRequest());
        var written = ChromiumFiles.Append(FirefoxFile).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        Thread.Sleep(20);

        var again = policy.Apply(FirefoxRequest());
        again.Changed.ShouldBeEmpty();
        again.Failures.ShouldBeEmpty();
        foreach (var (file, time) in written)
        {
            File.GetLastWriteTimeUtc(file).ShouldBe(time, file);
        }

        // Another update URL changes the Chrome-family files, not Firefox's.
        var moved = Request($$"""{"desktopBrowsers": {"extensionId": "{{Extension}}", "extensionUpdateUrl": "https://crx.example.org/update", "extensionConfig": {{Config}}, "firefoxAddonId": "homeroom@example.org", "firefoxInstallUrl": "https://homeroom.example.org/homeroom.xpi" } }""");
        policy.Apply(moved).Changed.ShouldBe(ChromiumFiles, ignoreOrder: true);
        File.ReadAllText(ChromeFile).ShouldContain($"\"{Extension};https://crx.example.org/update\"");
        File.GetLastWriteTimeUtc(FirefoxFile).ShouldBe(written[FirefoxFile]);
    }

    [Fact]
    public void Apply_NoLongerAsked_RemovesHomeroomsFiles_AndNothingElse()
    {
        var policy = Policy();
        policy.Apply(FirefoxRequest());
        var other = Path.Combine(Root, "etc/opt/chrome/policies/managed/district.json");
        File.WriteAllText(other, """{"HomepageLocation": "https://school.example.org"}""");

        var outcome = policy.Apply(null);

        outcome.Failures.ShouldBeEmpty();
        outcome.ExtensionWritten.ShouldBeFalse();
        outcome.Changed.ShouldBe(ChromiumFiles.Append(FirefoxFile), ignoreOrder: true);
        ChromiumFiles.Append(FirefoxFile).ShouldAllBe(f => !File.Exists(f));
        File.ReadAllText(other).ShouldContain("HomepageLocation");
        policy.Describe().ShouldContain(c => c.Name == CapabilityNames.WebFilter && !c.Available && c.Reason!.Contains("desktopBrowsers.extensionId"));
        policy.Apply(null).Changed.ShouldBeEmpty();
    }

    [Fact]
    public void Apply_FirefoxPoliciesFileSomeoneElseWrote_IsNeverChangedNorRemoved_AndSaysSo()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FirefoxFile)!);
        const string Theirs = """{"policies": {"DisableTelemetry": true}}""";
        File.WriteAllText(FirefoxFile, Theirs);
        var policy = Policy();

        var outcome = policy.Apply(FirefoxRequest());

        File.ReadAllText(FirefoxFile).ShouldBe(Theirs);
        outcome.Failures.ShouldHaveSingleItem().ShouldContain("was not written by Homeroom and is left as it is");
        outcome.ExtensionWritten.ShouldBeTrue("Chrome, Chromium and Edge were given the extension");
        policy.Apply(null).Changed.ShouldBe(ChromiumFiles, ignoreOrder: true);
        File.ReadAllText(FirefoxFile).ShouldBe(Theirs);
    }

    [Fact]
    public void Apply_FirefoxFileHomeroomWroteThenAnAdministratorEdited_IsTheirsFromThen()
    {
        var policy = Policy();
        policy.Apply(FirefoxRequest());
        var edited = File.ReadAllText(FirefoxFile).Replace("\"policies\": {", "\"policies\": {\n    \"DisableTelemetry\": true,", StringComparison.Ordinal);
        File.WriteAllText(FirefoxFile, edited);

        policy.Apply(ExtensionRequest()).Changed.ShouldBeEmpty();
        File.ReadAllText(FirefoxFile).ShouldBe(edited);
        policy.Apply(null);
        File.ReadAllText(FirefoxFile).ShouldBe(edited);
    }

    [Fact]
    public void Apply_FirefoxAddonWithoutAnInstallUrl_IsAFailure_AndNoFile()
    {
        var outcome = Policy().Apply(ExtensionRequest(""", "firefoxAddonId": "homeroom@example.org" """));
        outcome.Failures.ShouldHaveSingleItem().ShouldContain("firefoxInstallUrl");
        File.Exists(FirefoxFile).ShouldBeFalse();
    }

    [Fact]
    public void Apply_CannotWrite_ReportsWhichFileAndWhy_AndTheCapabilitiesSayUnavailable()
    {
        // "etc" is a file: nothing can be created under it (the tests run as root, whom file modes do not stop).
        Directory.CreateDirectory(Root);
        File.WriteAllText(Path.Combine(Root, "etc"), "not a directory");
        var policy = Policy();

        var outcome = policy.Apply(ExtensionRequest());

        outcome.ExtensionWritten.ShouldBeFalse();
        outcome.Failures.Count.ShouldBe(3);
        outcome.Failures[0].ShouldStartWith($"desktopBrowsers: Google Chrome's policy {ChromeFile} could not be written (");
        var described = policy.Describe().ToList();
        described.ShouldContain(c => c.Name == CapabilityNames.BrowserPolicy && !c.Available && c.Reason!.Contains("could not be written"));
        described.ShouldContain(c => c.Name == CapabilityNames.WebFilter && !c.Available && c.Reason!.Contains("could not be written"));
    }

    [Fact]
    public void Unavailable_ReportsTheReason_AndEveryRequestFailsWithIt()
    {
        var mac = new UnavailableBrowserPolicy("no browser policy is written on this operating system");
        mac.Apply(ExtensionRequest()).Failures.ShouldBe(["desktopBrowsers: not applied: no browser policy is written on this operating system"]);
        mac.Apply(null).Failures.ShouldBeEmpty();
        mac.Describe().ShouldAllBe(c => !c.Available && c.Reason == "no browser policy is written on this operating system");
        new WindowsBrowserPolicy().Describe().ShouldContain(c => c.Name == CapabilityNames.BrowserPolicy && !c.Available && c.Reason!.Contains("only on Windows"));
    }

    [Fact]
    public void WindowsForcelist_KeepsOthersEntries_ReplacesHomeroomsOwn_AndStaysWithoutGaps()
    {
        const string Other = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;https://clients2.google.com/service/update2/crx";
        const string Old = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb;https://clients2.google.com/service/update2/crx";
        var entry = BrowserPolicyContent.ForcelistEntry(ExtensionRequest());

        WindowsBrowserPolicy.Forcelist([Other, Old], ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Extension], entry).ShouldBe([Other, entry]);
        WindowsBrowserPolicy.Forcelist([Other, entry], [Extension, Extension], entry).ShouldBe([Other, entry]);
        WindowsBrowserPolicy.Forcelist([entry, Other], [Extension, null], null).ShouldBe([Other]);
        WindowsBrowserPolicy.Forcelist([], [null, null], null).ShouldBeEmpty();
    }

    [Fact]
    public void WindowsThirdPartyValues_StringsAreText_BooleansAndWholeNumbersDwords_TheRestJson()
    {
        var values = WindowsBrowserPolicy.ThirdPartyValues(JsonDocument.Parse("""
            {"serverUrl": {"Value": "https://h.example.org"}, "reportSignedInUser": {"Value": false}, "n": 7, "big": 5000000000, "list": {"Value": ["a"]}}
            """).RootElement);
        values.ShouldBe(
        [
            new RegistryPolicyValue("serverUrl", false, "https://h.example.org", 0),
            new RegistryPolicyValue("reportSignedInUser", true, null, 0),
            new RegistryPolicyValue("n", true, null, 7),
            new RegistryPolicyValue("big", false, "5000000000", 0),
            new RegistryPolicyValue("list", false, "[\"a\"]", 0),
        ]);
    }
    [Fact]
    public void WithCompanion_TheDistrictTokenIsDropped_AndTheCompanionCredentialWritten()
    {
        var request = BrowserPolicyContent.WithCompanion(ExtensionRequest(), "hrc_device", new Uri("http://127.0.0.1:5000/"));

        var file = Encoding.UTF8.GetString(BrowserPolicyContent.ChromiumPolicyFile(request)!);
        var config = JsonDocument.Parse(file).RootElement.GetProperty("3rdparty").GetProperty("extensions").GetProperty(Extension);
        config.TryGetProperty("enrollmentToken", out _).ShouldBeFalse();
        file.ShouldNotContain("hre_abc");
        config.GetProperty("companionCredential").GetString().ShouldBe("hrc_device");
        config.GetProperty("serverUrl").GetString().ShouldBe("https://homeroom.example.org", "the profile's address is kept");
        config.GetProperty("reportSignedInUser").GetBoolean().ShouldBeTrue();
    }

    [Fact]
    public void WithCompanion_NoServerInTheConfiguration_WritesTheAgentsServer_AndNoCredentialMeansNone()
    {
        var bare = Request($$$"""{"desktopBrowsers": {"extensionId": "{{{Extension}}}", "extensionConfig": {"enrollmentToken": {"Value": "hre_abc"}} } }""");

        var request = BrowserPolicyContent.WithCompanion(bare, null, new Uri("http://127.0.0.1:5000/"));

        var config = JsonDocument.Parse(BrowserPolicyContent.ChromiumPolicyFile(request)!).RootElement.GetProperty("3rdparty").GetProperty("extensions").GetProperty(Extension);
        config.GetProperty("serverUrl").GetString().ShouldBe("http://127.0.0.1:5000");
        config.TryGetProperty("enrollmentToken", out _).ShouldBeFalse();
        config.TryGetProperty("companionCredential", out _).ShouldBeFalse();
    }
}
