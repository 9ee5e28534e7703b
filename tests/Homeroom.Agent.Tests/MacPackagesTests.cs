using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Capabilities.Apps;
using Homeroom.Agent.Capabilities.MacOS;
using Homeroom.Agent.Connection;
using Homeroom.Agent.State;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Apple;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Homeroom.Agent.Tests;

/// <summary>
/// The Mac package logic that can be checked on Linux: installer and pkgutil are a recording fake (macOS never ran these
/// tests), the package comes from a real local https server, and the file system root is a folder of the test's own.
/// </summary>
public sealed class MacPackagesTests : IAsyncLifetime
{
    private const string PackageId = "org.example.paint.pkg";
    private readonly string _directory = Directory.CreateTempSubdirectory("homeroom-macpkg-").FullName;
    private readonly byte[] _package = [.. "xar!"u8, .. RandomNumberGenerator.GetBytes(200_000)];
    private readonly byte[] _newPackage = [.. "xar!"u8, .. RandomNumberGenerator.GetBytes(150_000)];
    private FakeMacTools _tools = null!;
    private PackageServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await PackageServer.StartAsync(new Dictionary<string, byte[]> { ["paint.pkg"] = _package, ["paint-2.pkg"] = _newPackage });
        _tools = new FakeMacTools();
        Directory.CreateDirectory(Path.Combine(_directory, "root", "Applications"));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private string Sha256 => Convert.ToHexStringLower(SHA256.HashData(_package));

    private string Root => Path.Combine(_directory, "root");

    private MacPackages NewPackages(long maxBytes = MacPackageSettings.DefaultMaxPackageBytes)
    {
        var tools = Path.Combine(_directory, "tools");
        Directory.CreateDirectory(tools);
        File.WriteAllText(Path.Combine(tools, "installer"), "");
        File.WriteAllText(Path.Combine(tools, "pkgutil"), "");
        return new MacPackages(_tools, _server.Client, new MacPackageSettings(Path.Combine(_directory, "work"), Root,
            Path.Combine(tools, "installer"), Path.Combine(tools, "pkgutil"), maxBytes, RequireRoot: false));
    }

    [Fact]
    public async Task Install_HashMatches_RunsInstallerOnTheDownloadedFileForTheWholeDisk_ThenDeletesIt()
    {
        var packages = NewPackages();
        string? seen = null;
        _tools.OnInstall = command =>
        {
            // What installer is given is the package as served, in the root-only download folder.
            seen = command.Arguments[1];
            File.ReadAllBytes(seen).ShouldBe(_package);
            File.GetUnixFileMode(Path.GetDirectoryName(seen)!).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            _tools.Receipts.Add(PackageId);
            return new ToolRun(0, "installer: Package name is Paint\ninstaller: Installing at base path /\ninstaller: The install was successful.\n");
        };

        var outcome = await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256.ToUpperInvariant()), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(true, "installed with installer"));
        _tools.Calls.Where(c => c.StartsWith("installer", StringComparison.Ordinal)).ShouldBe([$"installer -pkg {seen} -target /"]);
        File.Exists(seen).ShouldBeFalse();
    }

    [Fact]
    public async Task Install_HashDiffers_FailsWithBothHashes_DeletesTheFile_AndNeverRunsInstaller()
    {
        var packages = NewPackages();
        var wrong = new string('a', 64);

        var outcome = await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), wrong), CancellationToken.None);

        outcome.Ok.ShouldBeFalse();
        outcome.Result.ShouldBe($"the downloaded package's SHA-256 is {Sha256}, not the catalog's {wrong}: it was deleted and nothing was installed");
        _tools.Calls.ShouldNotContain(c => c.StartsWith("installer", StringComparison.Ordinal));
        Directory.EnumerateFiles(Path.Combine(_directory, "work"), "*", SearchOption.AllDirectories).ShouldBeEmpty();
    }

    [Fact]
    public async Task Install_LargerThanTheLimit_IsRefusedWithoutInstalling()
    {
        var packages = NewPackages(maxBytes: 100_000);

        var outcome = await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None);

        outcome.Ok.ShouldBeFalse();
        outcome.Result.ShouldContain("more than the limit of 100000");
        _tools.Calls.ShouldNotContain(c => c.StartsWith("installer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Install_NotServed_FailsWithTheHttpStatus()
    {
        var outcome = await NewPackages().InstallAsync(PackageId, new PackageSource(_server.Url("missing.pkg"), Sha256), CancellationToken.None);

        outcome.Ok.ShouldBeFalse();
        outcome.Result.ShouldContain("failed: HTTP 404");
        _tools.Calls.ShouldNotContain(c => c.StartsWith("installer", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Install_PlainHttpUrl_IsRefusedBeforeAnyDownload()
    {
        var outcome = await NewPackages().InstallAsync(PackageId, new PackageSource(new Uri("http://127.0.0.1:9/paint.pkg"), Sha256), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(false, $"{PackageId}: the install names no https package URL and SHA-256 (the catalog entry has no Mac package)"));
        _tools.Calls.ShouldBeEmpty();
    }

    [Fact]
    public async Task Install_AlreadyInstalledWithTheCatalogsHash_DoesNotDownloadOrRunInstallerAgain()
    {
        var packages = NewPackages();
        _tools.OnInstall = _ => Installed();
        (await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None)).Ok.ShouldBeTrue();

        // A new agent process reads what the first one recorded.
        var outcome = await NewPackages().InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(true, "already installed"));
        _server.Requests.ShouldBe(1);
        _tools.Calls.Count(c => c.StartsWith("installer", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Fact]
    public async Task Install_CatalogHashChanged_InstallsTheNewPackageOverTheOld_AndRecordsItsHash()
    {
        var packages = NewPackages();
        var installed = new List<byte[]>();
        _tools.OnInstall = command =>
        {
            installed.Add(File.ReadAllBytes(command.Arguments[1]));
            return Installed();
        };
        (await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None)).ShouldBe(new PackageOutcome(true, "installed with installer"));
        packages.InstalledSha256(PackageId).ShouldBe(Sha256);

        var outcome = await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint-2.pkg"), NewSha256), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(true, $"updated with installer to the package with SHA-256 {NewSha256}"));
        installed.Count.ShouldBe(2);
        installed[1].ShouldBe(_newPackage);
        packages.InstalledSha256(PackageId).ShouldBe(NewSha256);
        _tools.Receipts.ShouldContain(PackageId);
    }

    [Fact]
    public async Task Install_BadNewPackage_FailsWithTheReason_AndTheOldOneStaysInstalled()
    {
        var packages = NewPackages();
        _tools.OnInstall = _ => Installed();
        (await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None)).Ok.ShouldBeTrue();
        var claimed = new string('d', 64); // the catalog's new hash, which the file at the new URL does not have

        var outcome = await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint-2.pkg"), claimed), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(false,
            $"the downloaded package's SHA-256 is {NewSha256}, not the catalog's {claimed}: it was deleted and nothing was installed; the package installed before stays"));
        _tools.Calls.Count(c => c.StartsWith("installer", StringComparison.Ordinal)).ShouldBe(1);
        _tools.Receipts.ShouldContain(PackageId);
        packages.InstalledSha256(PackageId).ShouldBe(Sha256);

        // A new package the installer refuses leaves the old one's record too.
        _tools.OnInstall = _ => new ToolRun(1, "installer: The upgrade failed. (The Installer could not install the software.)\n");
        var refused = await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint-2.pkg"), NewSha256), CancellationToken.None);
        refused.ShouldBe(new PackageOutcome(false, "installer exited with 1: The upgrade failed. (The Installer could not install the software.); the package installed before stays"));
        packages.InstalledSha256(PackageId).ShouldBe(Sha256);
    }

    [Fact]
    public async Task Install_ReceiptThisAgentDidNotInstall_IsInstalledOverWithTheCatalogsPackage()
    {
        _tools.Receipts.Add(PackageId); // installed by hand, or by an agent before it recorded hashes
        _tools.OnInstall = _ => Installed();
        var packages = NewPackages();

        var outcome = await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(true, $"updated with installer to the package with SHA-256 {Sha256}"));
        _server.Requests.ShouldBe(1);
        packages.InstalledSha256(PackageId).ShouldBe(Sha256);
    }

    [Fact]
    public async Task Remove_ForgetsTheInstalledHash_SoTheNextInstallDownloadsAgain()
    {
        var packages = NewPackages();
        _tools.OnInstall = _ => Installed();
        (await packages.InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None)).Ok.ShouldBeTrue();

        (await packages.RemoveAsync(PackageId, PackageSource.None, CancellationToken.None)).Ok.ShouldBeTrue();

        packages.InstalledSha256(PackageId).ShouldBeNull();
        _tools.Receipts.ShouldBeEmpty();
    }

    private string NewSha256 => Convert.ToHexStringLower(SHA256.HashData(_newPackage));

    private ToolRun Installed()
    {
        _tools.Receipts.Add(PackageId);
        return new ToolRun(0, "installer: The install was successful.\n");
    }

    [Fact]
    public async Task Install_InstallerFails_CarriesItsErrorLine()
    {
        _tools.OnInstall = _ => new ToolRun(1, "installer: Package name is Paint\ninstaller: Installing at base path /\n"
            + "installer: The install failed. (The Installer encountered an error that caused the installation to fail. Contact the software manufacturer for assistance.)\n");

        var outcome = await NewPackages().InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(false,
            "installer exited with 1: The install failed. (The Installer encountered an error that caused the installation to fail. Contact the software manufacturer for assistance.)"));
    }

    [Fact]
    public async Task Install_InstallerSucceedsWithoutTheCatalogsReceipt_FailsNamingTheIdMismatch()
    {
        _tools.OnInstall = _ => new ToolRun(0, "installer: The install was successful.\n");

        var outcome = await NewPackages().InstallAsync(PackageId, new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None);

        outcome.Ok.ShouldBeFalse();
        outcome.Result.ShouldContain($"pkgutil has no receipt {PackageId}");
    }

    [Fact]
    public async Task Install_NotAPackageId_IsRefusedWithoutRunningAnything()
    {
        var outcome = await NewPackages().InstallAsync("--volume", new PackageSource(_server.Url("paint.pkg"), Sha256), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(false, "'--volume' is not a Mac package id"));
        _tools.Calls.ShouldBeEmpty();
    }

    [Fact]
    public async Task Remove_NamedBundleWithMatchingId_IsMovedAwayAndTheReceiptForgotten_ItsProgramsStayKnown()
    {
        _tools.Receipts.Add(PackageId);
        var bundle = MakeBundle("Paint.app", "org.example.Paint", "Paint", "paint-helper");
        var packages = NewPackages();

        var outcome = await packages.RemoveAsync(PackageId, new PackageSource(AppPath: "/Applications/Paint.app", BundleId: "org.example.Paint"), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(true, "removed Paint.app and forgot the receipt (macOS has no uninstaller for packages: files it put elsewhere stay)"));
        Directory.Exists(bundle).ShouldBeFalse();
        _tools.Calls.ShouldContain($"pkgutil --forget {PackageId}");
        _tools.Receipts.ShouldBeEmpty();
        Directory.EnumerateFileSystemEntries(Path.Combine(_directory, "work", "removed")).ShouldBeEmpty();
        packages.Executables(PackageId).ShouldBe(["Paint", "paint-helper"], ignoreOrder: true);
    }

    [Fact]
    public async Task Remove_BundleWithAnotherId_IsLeftInPlace_AndTheReceiptKept()
    {
        _tools.Receipts.Add(PackageId);
        var bundle = MakeBundle("Paint.app", "com.other.Paint", "Paint");

        var outcome = await NewPackages().RemoveAsync(PackageId, new PackageSource(AppPath: "/Applications/Paint.app", BundleId: "org.example.Paint"), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(false, "/Applications/Paint.app is com.other.Paint, not org.example.Paint: it was left in place"));
        Directory.Exists(bundle).ShouldBeTrue();
        _tools.Calls.ShouldNotContain($"pkgutil --forget {PackageId}");
    }

    [Fact]
    public async Task Remove_WithoutANamedBundle_TakesTheBundlesPkgutilLists()
    {
        _tools.Receipts.Add(PackageId);
        _tools.Files[PackageId] = "Applications/Paint.app\nApplications/Paint.app/Contents\nApplications/Paint.app/Contents/MacOS/Paint\nLibrary/LaunchAgents/org.example.paint.plist\n";
        var bundle = MakeBundle("Paint.app", "org.example.Paint", "Paint");

        var outcome = await NewPackages().RemoveAsync(PackageId, PackageSource.None, CancellationToken.None);

        outcome.Ok.ShouldBeTrue();
        outcome.Result.ShouldStartWith("removed Paint.app and forgot the receipt");
        Directory.Exists(bundle).ShouldBeFalse();
        _tools.Calls.ShouldBe([$"pkgutil --pkg-info {PackageId}", $"pkgutil --files {PackageId}", $"pkgutil --forget {PackageId}"]);
    }

    [Fact]
    public async Task Remove_NothingThere_IsNotInstalled()
    {
        var outcome = await NewPackages().RemoveAsync(PackageId, new PackageSource(AppPath: "/Applications/Paint.app"), CancellationToken.None);

        outcome.ShouldBe(new PackageOutcome(true, "not installed"));
        _tools.Calls.ShouldBe([$"pkgutil --pkg-info {PackageId}"]);
    }

    [Fact]
    public void Executables_OfALocatedBundle_AreCFBundleExecutableAndContentsMacOS_FromABinaryInfoPlist()
    {
        var bundle = MakeBundle("Games/Racer.app", "org.example.Racer", "Racer Launcher", "racer-engine");
        // A binary Info.plist, as many bundles ship it, naming one more program than Contents/MacOS holds.
        File.WriteAllBytes(Path.Combine(bundle, "Contents", "Info.plist"), BinaryPlist("org.example.Racer", "Racer"));
        var packages = NewPackages();

        packages.Executables(PackageId).ShouldBeEmpty();
        packages.Locate(PackageId, "/Applications/Games/Racer.app");
        packages.Locate(PackageId, "/etc/passwd");

        packages.Executables(PackageId).ShouldBe(["Racer", "Racer Launcher", "racer-engine"], ignoreOrder: true);
    }

    [Fact]
    public void Blocker_WithMacProcessesAndALocatedBundle_BlocksItsProgramsOnly()
    {
        MakeBundle("Paint.app", "org.example.Paint", "Paint");
        var packages = NewPackages();
        packages.Locate(PackageId, "/Applications/Paint.app");
        var processes = new FixedProcessList(MacProcessList.Parse("  PID COMM\n    1 /sbin/launchd\n  812 /Applications/Paint.app/Contents/MacOS/Paint\n  813 /Applications/Preview.app/Contents/MacOS/Preview\n"));
        using var queue = new ActivityQueue(new AgentPaths(Path.Combine(_directory, "state")), capacity: 100);
        var blocker = new ApplicationBlocker(processes, packages, new ActivitySink(queue, NullLogger<ActivitySink>.Instance), new AgentOptions(), TimeProvider.System,
            NullLogger<ApplicationBlocker>.Instance);

        blocker.SetBlockedPackages([PackageId]);

        blocker.Blocked.ShouldBe(new Dictionary<string, string> { ["Paint"] = PackageId });
        processes.List().Where(p => blocker.Blocked.ContainsKey(p.Executable)).Select(p => p.Id).ShouldBe([812]);
    }

    [Fact]
    public void ProcessList_Parse_KeepsPidsAndProgramNamesWithSpaces_SkipsJunk()
    {
        var parsed = MacProcessList.Parse(
            "  PID COMM\n" +
            "    1 /sbin/launchd\n" +
            "  402 /Applications/Google Chrome.app/Contents/MacOS/Google Chrome\n" +
            "\t517\t/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder\n" +
            "  600 (kernel_task)\n" +
            "garbage line\n" +
            "  -4 /bin/evil\n" +
            "  999999999999 /bin/overflow\n" +
            "  77\n" +
            "  78 /Applications/Broken.app/\n");

        parsed.ShouldBe([
            new RunningProcess(1, "launchd"),
            new RunningProcess(402, "Google Chrome"),
            new RunningProcess(517, "Finder"),
            new RunningProcess(600, "(kernel_task)"),
        ]);
    }

    [Fact]
    public void Receipts_ListEveryPackage_WithVersionsForThoseNotPartOfMacOs()
    {
        var tools = Path.Combine(_directory, "tools");
        Directory.CreateDirectory(tools);
        File.WriteAllText(Path.Combine(tools, "pkgutil"), "");
        _tools.Receipts.Add(PackageId);
        _tools.Receipts.Add("com.apple.pkg.Core");
        var receipts = new MacReceipts(_tools, Path.Combine(tools, "pkgutil"));

        receipts.Describe().Single().Available.ShouldBeTrue();
        receipts.ListInstalled().ShouldBe([new InstalledApp("com.apple.pkg.Core", "com.apple.pkg.Core", null), new InstalledApp(PackageId, PackageId, "1.0")]);
        _tools.Calls.ShouldBe(["pkgutil --pkgs", $"pkgutil --pkg-info {PackageId}"]);
    }

    [Fact]
    public void Pkgutil_PackageIds_SkipsLinesThatAreNotIds()
    {
        MacPackageTool.ParsePackageIds("com.apple.pkg.Core\norg.example.paint.pkg\n\nNo receipts found.\n--volume\norg.example.paint.pkg\n com.microsoft.package.Microsoft_Word.app \n")
            .ShouldBe(["com.apple.pkg.Core", "org.example.paint.pkg", "com.microsoft.package.Microsoft_Word.app"]);
    }

    [Fact]
    public void Pkgutil_Info_ReadsIdVersionAndLocation_IgnoringOtherLines()
    {
        var info = MacPackageTool.ParseInfo("package-id: org.example.paint.pkg\nversion: 2.4.1\nvolume: /\nlocation: Applications\ninstall-time: 1733400000\nwarning: junk: more\n");

        info.ShouldBe(new MacPackageInfo("org.example.paint.pkg", "2.4.1", "Applications"));
        MacPackageTool.ParseInfo("No receipt for 'org.example.paint.pkg' found at '/'.").ShouldBeNull();
        MacPackageTool.ParseInfo("package-id: ../../etc\nversion: 1\n").ShouldBeNull();
    }

    [Fact]
    public void Pkgutil_Files_AppBundlesAreTheOutermostUnderApplications()
    {
        MacPackageTool.AppBundles("/", "Applications/Paint.app\nApplications/Paint.app/Contents/Helpers/Helper.app/Contents/MacOS/Helper\nusr/local/bin/paint\nLibrary/Paint.app/x\n")
            .ShouldBe(["/Applications/Paint.app"]);
        MacPackageTool.AppBundles("Applications", "Racer.app/Contents/Info.plist\nRacer.app/Contents/MacOS/Racer\n").ShouldBe(["/Applications/Racer.app"]);
        MacPackageTool.AppBundles("/", "Applications/../etc/x.app\n").ShouldBeEmpty();
    }

    [Theory]
    [InlineData(0, true, true, "installed with installer")]
    [InlineData(1, false, false, "installer exited with 1: Error - the package path specified was invalid: '/tmp/x.pkg'.")]
    public void InstallerResults_MapExitCodeAndWords(int exitCode, bool receipt, bool ok, string words)
    {
        var outcome = MacInstallerResults.Outcome(new ToolRun(exitCode, exitCode == 0 ? "installer: The install was successful.\n" : "installer: Error - the package path specified was invalid: '/tmp/x.pkg'.\n"),
            PackageId, receipt);

        outcome.ShouldBe(new PackageOutcome(ok, words));
    }

    [Fact]
    public void InstallerResults_Stopped_SaysSo() =>
        MacInstallerResults.Outcome(new ToolRun(-1, "installer did not finish within 30 minutes and was stopped", Finished: false), PackageId, false)
            .Result.ShouldBe("installer did not finish: installer did not finish within 30 minutes and was stopped");

    private string MakeBundle(string relative, string bundleId, string executable, params string[] more)
    {
        var bundle = Path.Combine(Root, "Applications", relative);
        Directory.CreateDirectory(Path.Combine(bundle, "Contents", "MacOS"));
        File.WriteAllBytes(Path.Combine(bundle, "Contents", "Info.plist"), PropertyList.WriteXml(new Dictionary<string, object>
        {
            ["CFBundleIdentifier"] = bundleId,
            ["CFBundleExecutable"] = executable,
        }));
        foreach (var name in (string[])[executable, .. more])
        {
            File.WriteAllText(Path.Combine(bundle, "Contents", "MacOS", name), "");
        }

        return bundle;
    }

    // bplist00 of { CFBundleExecutable: executable, CFBundleIdentifier: id }, laid out by hand: a dict of two, four ASCII strings, 1-byte offsets.
    private static byte[] BinaryPlist(string id, string executable)
    {
        var objects = new List<byte[]>
        {
            new byte[] { 0xD2, 1, 2, 3, 4 },
            Ascii("CFBundleExecutable"),
            Ascii("CFBundleIdentifier"),
            Ascii(executable),
            Ascii(id),
        };
        var body = new List<byte>("bplist00"u8.ToArray());
        var offsets = new List<int>();
        foreach (var o in objects)
        {
            offsets.Add(body.Count);
            body.AddRange(o);
        }

        var table = body.Count;
        body.AddRange(offsets.Select(o => (byte)o));
        body.AddRange([0, 0, 0, 0, 0, 0, 1, 1]);
        body.AddRange(BitConverter.GetBytes((long)objects.Count).Reverse());
        body.AddRange(new byte[8]);
        body.AddRange(BitConverter.GetBytes((long)table).Reverse());
        return [.. body];

        static byte[] Ascii(string text) =>
            [.. text.Length < 15 ? [(byte)(0x50 | text.Length)] : new byte[] { 0x5F, 0x10, (byte)text.Length }, .. System.Text.Encoding.ASCII.GetBytes(text)];
    }

    private sealed class FixedProcessList(IReadOnlyList<RunningProcess> processes) : IProcessList
    {
        public AgentCapability Describe() => new(CapabilityNames.AppBlock, true);

        public IEnumerable<RunningProcess> List() => processes;
    }

    /// <summary>installer and pkgutil as the package logic sees them: receipts and file lists in memory, each call recorded.</summary>
    private sealed class FakeMacTools : IOsCommandRunner
    {
        private readonly List<string> _calls = [];

        public HashSet<string> Receipts { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, string> Files { get; } = new(StringComparer.Ordinal);

        public Func<OsCommand, ToolRun>? OnInstall { get; set; }

        public IReadOnlyList<string> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls];
                }
            }
        }

        public Task<int> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken) => throw new InvalidOperationException("not used");

        public Task<ToolRun> RunCapturedAsync(OsCommand command, CancellationToken cancellationToken)
        {
            var tool = Path.GetFileName(command.FileName);
            lock (_calls)
            {
                _calls.Add(string.Join(' ', [tool, .. command.Arguments]));
            }

            var id = command.Arguments.Count > 1 ? command.Arguments[1] : "";
            return Task.FromResult((tool, command.Arguments[0]) switch
            {
                ("installer", _) => OnInstall?.Invoke(command) ?? throw new InvalidOperationException("installer was not expected"),
                ("pkgutil", "--pkg-info") when Receipts.Contains(id) => new ToolRun(0, $"package-id: {id}\nversion: 1.0\nvolume: /\nlocation: /\ninstall-time: 1733400000\n"),
                ("pkgutil", "--pkg-info") => new ToolRun(1, $"No receipt for '{id}' found at '/'.\n"),
                ("pkgutil", "--files") => new ToolRun(0, Files.GetValueOrDefault(id, "")),
                ("pkgutil", "--pkgs") => new ToolRun(0, string.Join('\n', Receipts.Order(StringComparer.Ordinal)) + "\n"),
                ("pkgutil", "--forget") when Receipts.Remove(id) => new ToolRun(0, $"Forgot package '{id}' on '/'.\n"),
                ("pkgutil", "--forget") => new ToolRun(1, $"No receipt for '{id}' found at '/'.\n"),
                _ => throw new InvalidOperationException($"unexpected {tool} {string.Join(' ', command.Arguments)}"),
            });
        }
    }

    /// <summary>A real https server on loopback with a certificate of its own, serving packages by name; its client trusts that certificate only.</summary>
    private sealed class PackageServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly X509Certificate2 _certificate;
        private int _requests;

        private PackageServer(WebApplication app, X509Certificate2 certificate)
        {
            _app = app;
            _certificate = certificate;
            Client = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString() },
            });
        }

        public HttpClient Client { get; }

        public int Requests => Volatile.Read(ref _requests);

        private Uri Base { get; set; } = null!;

        public Uri Url(string name) => new(Base, name);

        public static async Task<PackageServer> StartAsync(IReadOnlyDictionary<string, byte[]> files)
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
            var builder = WebApplication.CreateBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
            var app = builder.Build();
            var server = new PackageServer(app, certificate);
            app.MapGet("/{name}", (string name) =>
            {
                Interlocked.Increment(ref server._requests);
                return files.TryGetValue(name, out var body) ? Results.Bytes(body, "application/octet-stream") : Results.NotFound();
            });
            await app.StartAsync();
            server.Base = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First() + "/");
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
            _certificate.Dispose();
        }
    }
}
