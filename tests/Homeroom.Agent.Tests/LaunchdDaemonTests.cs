using System.Text;
using System.Text.Json.Nodes;
using System.Xml;
using System.Xml.Linq;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Install;
using Homeroom.Agent.Tests.Support;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The macOS launchd daemon (never run on macOS): its property list, read back with System.Xml and with Python's
/// plistlib, and the install steps, each a file written under a test directory or a command through a runner that
/// records it and answers as launchctl would.
/// </summary>
public sealed class LaunchdDaemonTests : IDisposable
{
    private const string Program = "/usr/local/homeroom & co/<agent>/homeroom-agent";
    private const string State = "/Library/Application Support/Homeroom/Agent";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "homeroom-launchd-" + Guid.NewGuid().ToString("N"));

    public LaunchdDaemonTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private LaunchdLayout Layout => new(Path.Combine(_directory, "LaunchDaemons"), Path.Combine(_directory, "Logs", "Homeroom"), Path.Combine(_directory, "newsyslog.d"));

    [Fact]
    public void Render_IsAPropertyListWithTheDaemonsKeys_AndPathsWithAmpersandsAndAnglesEscaped()
    {
        var xml = Encoding.UTF8.GetString(LaunchdDaemon.Render(Program, State, "/etc/homeroom & co/agent.json"));

        xml.ShouldStartWith("""<?xml version="1.0" encoding="UTF-8"?>""");
        xml.ShouldContain("""<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">""");
        xml.ShouldContain("<string>/usr/local/homeroom &amp; co/&lt;agent&gt;/homeroom-agent</string>");
        var plist = XDocument.Parse(xml, LoadOptions.None);
        var dict = plist.Root!.ShouldNotBeNull().Element("dict").ShouldNotBeNull();
        plist.Root!.Attribute("version")!.Value.ShouldBe("1.0");
        var keys = dict.Elements("key").Select(k => k.Value).ToList();
        keys.ShouldBe(["Label", "ProgramArguments", "RunAtLoad", "KeepAlive", "ThrottleInterval", "UserName", "GroupName", "Umask", "ProcessType", "StandardOutPath", "StandardErrorPath"]);
        XElement Value(string key) => dict.Elements("key").Single(k => k.Value == key).ElementsAfterSelf().First();
        Value("Label").Value.ShouldBe("org.homeroom.agent");
        Value("ProgramArguments").Elements("string").Select(s => s.Value).ShouldBe([Program, "run", "--state", State, "--config", "/etc/homeroom & co/agent.json"]);
        Value("RunAtLoad").Name.LocalName.ShouldBe("true");
        Value("KeepAlive").ToString(SaveOptions.DisableFormatting).ShouldBe("<dict><key>SuccessfulExit</key><false /></dict>");
        Value("ThrottleInterval").ToString().ShouldBe("<integer>10</integer>");
        Value("UserName").Value.ShouldBe("root");
        Value("Umask").Value.ShouldBe("63", "0077");
        Value("StandardOutPath").Value.ShouldBe("/Library/Logs/Homeroom/agent.log");
        Value("StandardErrorPath").Value.ShouldBe("/Library/Logs/Homeroom/agent-error.log");
    }

    [Fact]
    public async Task Render_ReadByAnotherPropertyListParser_HoldsTheSameValues()
    {
        var file = Path.Combine(_directory, "daemon.plist");
        await File.WriteAllBytesAsync(file, LaunchdDaemon.Render(Program, State));

        var read = await PlistOracle.ReadAsync(file);

        JsonNode.DeepEquals(read, JsonNode.Parse($$"""
            {
              "Label": "org.homeroom.agent",
              "ProgramArguments": ["{{Program}}", "run", "--state", "{{State}}"],
              "RunAtLoad": true,
              "KeepAlive": {"SuccessfulExit": false},
              "ThrottleInterval": 10,
              "UserName": "root",
              "GroupName": "wheel",
              "Umask": 63,
              "ProcessType": "Background",
              "StandardOutPath": "/Library/Logs/Homeroom/agent.log",
              "StandardErrorPath": "/Library/Logs/Homeroom/agent-error.log"
            }
            """)).ShouldBeTrue(read.ToJsonString());
    }

    [Fact]
    public void Render_AControlCharacterInAPath_IsRefused_NotWrittenAsXmlNoReaderTakes()
    {
        Should.Throw<ArgumentException>(() => LaunchdDaemon.Render("/usr/local/bin/agent\u0001", State));
        LaunchdDaemon.IsUsablePath("/usr/local/bin/agent\u0001").ShouldBeFalse();
        LaunchdDaemon.IsUsablePath("relative/agent").ShouldBeFalse();
        LaunchdDaemon.IsUsablePath(Program).ShouldBeTrue();
    }

    [Fact]
    public async Task Install_WritesTheFilesRootOnly_ThenChownsBootsOutEnablesAndBootstraps_InThatOrder()
    {
        var runner = new LaunchctlStandIn();
        var state = Path.Combine(_directory, "state with space");

        var result = await new LaunchdInstaller(runner, Layout, _ => Task.CompletedTask).InstallAsync(Program, state, null, CancellationToken.None);

        result.Succeeded.ShouldBeTrue(result.Message);
        var plist = Layout.PlistFile;
        plist.ShouldEndWith("LaunchDaemons/org.homeroom.agent.plist");
        runner.Calls.ShouldBe(
        [
            $"/usr/sbin/chown 0:0 {plist}",
            $"/usr/sbin/chown 0:0 {Layout.NewsyslogFile}",
            $"/usr/sbin/chown 0:0 {state}",
            "/bin/launchctl bootout system/org.homeroom.agent",
            "/bin/launchctl enable system/org.homeroom.agent",
            $"/bin/launchctl bootstrap system {plist}",
        ]);
        (await File.ReadAllBytesAsync(plist)).ShouldBe(LaunchdDaemon.Render(Program, state, null, Layout.LogDirectory));
        File.GetUnixFileMode(plist).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.GetUnixFileMode(state).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.GetUnixFileMode(Layout.LogDirectory).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        (await File.ReadAllTextAsync(Layout.NewsyslogFile)).ShouldContain($"{Layout.LogDirectory}/agent.log\troot:wheel\t600\t5\t5120\t*\tN\n");
        Directory.GetFiles(Layout.DaemonDirectory).ShouldBe([plist], "no temporary file is left beside it");
    }

    [Fact]
    public async Task Install_AgainOverAnOlderDaemon_ReplacesTheFile_AndRetriesABootstrapLaunchdRefusesWhileTheOldOneStops()
    {
        Directory.CreateDirectory(Layout.DaemonDirectory);
        await File.WriteAllTextAsync(Layout.PlistFile, "<plist>the old one</plist>");
        var runner = new LaunchctlStandIn { BootstrapFailures = 2 };
        var waits = new List<TimeSpan>();

        var result = await new LaunchdInstaller(runner, Layout, wait => { waits.Add(wait); return Task.CompletedTask; })
            .InstallAsync(Program, Path.Combine(_directory, "state"), "/etc/homeroom/agent.json", CancellationToken.None);

        result.Succeeded.ShouldBeTrue(result.Message);
        runner.Calls.Count(c => c.Contains(" bootstrap ", StringComparison.Ordinal)).ShouldBe(3);
        waits.ShouldBe([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)]);
        (await File.ReadAllTextAsync(Layout.PlistFile)).ShouldContain("<string>/etc/homeroom/agent.json</string>");
    }

    [Fact]
    public async Task Install_BootstrapKeepsFailing_SaysSoWithLaunchctlsWords()
    {
        var runner = new LaunchctlStandIn { BootstrapFailures = 5 };

        var result = await new LaunchdInstaller(runner, Layout, _ => Task.CompletedTask).InstallAsync(Program, Path.Combine(_directory, "state"), null, CancellationToken.None);

        result.Succeeded.ShouldBeFalse();
        result.Message.ShouldContain("launchctl bootstrap failed (5): Bootstrap failed: 5: Input/output error");
    }

    [Fact]
    public async Task Install_RelativeOrControlCharacterPaths_AreRefusedBeforeAnythingIsWritten()
    {
        var runner = new LaunchctlStandIn();

        (await new LaunchdInstaller(runner, Layout).InstallAsync("homeroom-agent", "/state", null, CancellationToken.None)).Succeeded.ShouldBeFalse();
        (await new LaunchdInstaller(runner, Layout).InstallAsync(Program, "/state\n", null, CancellationToken.None)).Succeeded.ShouldBeFalse();

        runner.Calls.ShouldBeEmpty();
        Directory.Exists(Layout.DaemonDirectory).ShouldBeFalse();
    }

    [Fact]
    public async Task Install_FilesCannotBeWritten_IsAFailureThatSaysWhy_AndLaunchctlIsNotRun()
    {
        // "LaunchDaemons" is a file: nothing can be created under it (the tests run as root, whom file modes do not stop).
        await File.WriteAllTextAsync(Layout.DaemonDirectory, "not a directory");
        var runner = new LaunchctlStandIn();

        var result = await new LaunchdInstaller(runner, Layout).InstallAsync(Program, Path.Combine(_directory, "state"), null, CancellationToken.None);

        result.Succeeded.ShouldBeFalse();
        result.Message.ShouldStartWith("The daemon's files could not be written (install runs as root): ");
        runner.Calls.ShouldBeEmpty();
    }

    [Fact]
    public async Task Uninstall_BootsOutAndRemovesThePlistAndLogRules_KeepingTheState()
    {
        var state = Path.Combine(_directory, "state");
        await new LaunchdInstaller(new LaunchctlStandIn(), Layout).InstallAsync(Program, state, null, CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(state, "credential.json"), "{}");
        var runner = new LaunchctlStandIn();

        var result = await new LaunchdInstaller(runner, Layout).UninstallAsync(CancellationToken.None);

        result.Message.ShouldStartWith("Stopped org.homeroom.agent");
        runner.Calls.ShouldBe(["/bin/launchctl bootout system/org.homeroom.agent"]);
        File.Exists(Layout.PlistFile).ShouldBeFalse();
        File.Exists(Layout.NewsyslogFile).ShouldBeFalse();
        File.Exists(Path.Combine(state, "credential.json")).ShouldBeTrue();
    }

    [Fact]
    public async Task Cli_LaunchdPlist_PrintsTheDaemonForTheMacPaths_OnAnySystem()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await AgentCli.RunAsync(["launchd-plist", "--executable", "/usr/local/homeroom-agent/homeroom-agent"], output, error);

        code.ShouldBe(AgentCli.Ok, error.ToString());
        output.ToString().ShouldBe(Encoding.UTF8.GetString(LaunchdDaemon.Render("/usr/local/homeroom-agent/homeroom-agent", State)));
        (await AgentCli.RunAsync(["launchd-plist", "--executable", "agent"], output, error)).ShouldBe(AgentCli.Usage);
        (await AgentCli.RunAsync(["uninstall"], output, error)).ShouldBe(AgentCli.Usage, "uninstall is the macOS daemon's; Linux removes the package");
    }

    [Fact]
    public void ReadBack_TheDoctypeIsNeverFetchedOrExpanded()
    {
        // An entity declared in the DOCTYPE (a "billion laughs", or a file) is not expanded: such a file is malformed to the agent.
        var hostile = """
            <?xml version="1.0"?>
            <!DOCTYPE plist [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
            <plist version="1.0"><dict><key>a</key><string>&secret;</string></dict></plist>
            """;
        Capabilities.MacOS.PlistXml.TryRead(Encoding.UTF8.GetBytes(hostile), out _).ShouldBe(Capabilities.MacOS.PlistXml.Existing.Malformed);
        Should.Throw<XmlException>(() => XDocument.Load(XmlReader.Create(new StringReader(hostile), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit })));
    }

    /// <summary>Records each command and answers as launchctl and chown would: success, except the first <see cref="BootstrapFailures"/> bootstraps.</summary>
    private sealed class LaunchctlStandIn : IOsCommandRunner
    {
        private readonly List<string> _calls = [];

        public int BootstrapFailures { get; init; }

        public IReadOnlyList<string> Calls => _calls;

        public Task<int> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the installer captures launchctl's output");

        public Task<ToolRun> RunCapturedAsync(OsCommand command, CancellationToken cancellationToken)
        {
            _calls.Add(string.Join(' ', [command.FileName, .. command.Arguments]));
            if (command.Arguments is ["bootstrap", ..] && _calls.Count(c => c.Contains(" bootstrap ", StringComparison.Ordinal)) <= BootstrapFailures)
            {
                return Task.FromResult(new ToolRun(5, "Bootstrap failed: 5: Input/output error\n"));
            }

            return Task.FromResult(command.Arguments is ["bootout", ..] ? new ToolRun(3, "Boot-out failed: 3: No such process\n") : new ToolRun(0, string.Empty));
        }
    }
}
