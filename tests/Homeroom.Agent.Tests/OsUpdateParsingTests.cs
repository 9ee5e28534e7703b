using Homeroom.Agent.Capabilities.Linux;
using Homeroom.Agent.Capabilities.MacOS;
using Homeroom.Agent.Capabilities.Updates;
using Homeroom.Agent.Capabilities.Windows;

namespace Homeroom.Agent.Tests;

/// <summary>
/// What the agent reads from each OS's update tool. apt's output is also read for real in AgentOsUpdatesTests;
/// the Windows Update Agent and softwareupdate never ran here, so their parts that can run anywhere are tested here.
/// </summary>
public sealed class OsUpdateParsingTests
{
    [Fact]
    public void AptSimulation_DebianAndUbuntuLines_CountsUpgradesAndSecurityOrigins()
    {
        const string output = """
            NOTE: This is only a simulation!
                  apt-get needs root privileges for real execution.
            Reading package lists...
            Building dependency tree...
            Calculating upgrade...
            The following packages will be upgraded:
              libc6 openssl tzdata
            3 upgraded, 1 newly installed, 0 to remove and 1 not upgraded.
            Inst libc6 [2.36-9+deb12u8] (2.36-9+deb12u9 Debian-Security:12/stable-security [amd64])
            Inst tzdata [2024a-0+deb12u1] (2024b-0+deb12u1 Debian:12.8/stable, Debian:12-updates/stable-updates [all])
            Inst openssl [3.0.11-1~deb12u2] (3.0.15-1~deb12u1 Ubuntu:24.04/noble-updates, Ubuntu:24.04/noble-security [amd64]) []
            Inst linux-image-6.1.0-27-amd64 (6.1.115-1 Debian:12.8/stable [amd64])
            Conf libc6 (2.36-9+deb12u9 Debian-Security:12/stable-security [amd64])
            Conf tzdata (2024b-0+deb12u1 Debian:12.8/stable [all])
            """;

        var upgrades = AptSimulation.Parse(output);

        upgrades.ShouldBe(
        [
            new AptSimulation.AptUpgrade("libc6", "2.36-9+deb12u8", "2.36-9+deb12u9", true),
            new AptSimulation.AptUpgrade("tzdata", "2024a-0+deb12u1", "2024b-0+deb12u1", false),
            new AptSimulation.AptUpgrade("openssl", "3.0.11-1~deb12u2", "3.0.15-1~deb12u1", true),
            new AptSimulation.AptUpgrade("linux-image-6.1.0-27-amd64", null, "6.1.115-1", false),
        ]);
    }

    [Fact]
    public void AptSimulation_NothingToUpgrade_Empty() =>
        AptSimulation.Parse("Reading package lists...\nCalculating upgrade...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n").ShouldBeEmpty();

    [Fact]
    public void SoftwareUpdateList_TwoItems_LabelsTitlesSecurityAndRestart()
    {
        const string output = """
            Software Update Tool

            Finding available software
            Software Update found the following new or updated software:
            * Label: macOS Sonoma 14.5-23F79
            	Title: macOS Sonoma 14.5, Version: 14.5, Size: 1581344K, Recommended: YES, Action: restart,
            * Label: Background Security Improvement 14.5 (a)-23F79a
            	Title: Background Security Improvement, Version: 14.5 (a), Size: 8120K, Recommended: YES,
            * Label: Safari17.5SonomaAuto-17.5
            	Title: Safari, Version: 17.5, Size: 168140K, Recommended: YES,
            """;

        var items = SoftwareUpdateList.Parse(output.Replace("\n", "\r\n", StringComparison.Ordinal));

        items.ShouldBe(
        [
            new SoftwareUpdateList.SoftwareUpdateItem("macOS Sonoma 14.5-23F79", "macOS Sonoma 14.5", "14.5", false, true),
            new SoftwareUpdateList.SoftwareUpdateItem("Background Security Improvement 14.5 (a)-23F79a", "Background Security Improvement", "14.5 (a)", true, false),
            new SoftwareUpdateList.SoftwareUpdateItem("Safari17.5SonomaAuto-17.5", "Safari", "17.5", false, false),
        ]);
    }

    [Fact]
    public void SoftwareUpdateList_NoNewSoftware_Empty() =>
        SoftwareUpdateList.Parse("Software Update Tool\n\nFinding available software\nNo new software available.\n").ShouldBeEmpty();

    [Theory]
    [InlineData("Critical", new string[0], true)]
    [InlineData(null, new[] { "Security Updates", "Windows 11" }, true)]
    [InlineData("", new[] { "Updates", "Windows 11" }, false)]
    [InlineData(null, new[] { "Definition Updates" }, false)]
    public void WindowsUpdateMapping_IsSecurity_BySeverityOrCategory(string? severity, string[] categories, bool security) =>
        WindowsUpdateMapping.IsSecurity(severity, categories).ShouldBe(security);

    [Theory]
    [InlineData(WindowsUpdateMapping.Succeeded, 0, 3, true, true, "installed 3 updates with Windows Update; a restart is required to finish")]
    [InlineData(WindowsUpdateMapping.Succeeded, 0, 1, false, true, "installed 1 update with Windows Update")]
    [InlineData(WindowsUpdateMapping.SucceededWithErrors, unchecked((int)0x80240022), 2, false, false, "Windows Update install of 2 updates finished with errors (0x80240022)")]
    [InlineData(WindowsUpdateMapping.Failed, unchecked((int)0x80070643), 1, false, false, "Windows Update install of 1 update failed (0x80070643)")]
    [InlineData(WindowsUpdateMapping.Aborted, 0, 1, false, false, "Windows Update install of 1 update was aborted")]
    [InlineData(7, 0, 1, false, false, "Windows Update install of 1 update ended with result code 7")]
    public void WindowsUpdateMapping_Outcome_ResultCodesInWords(int code, int hresult, int count, bool reboot, bool ok, string text) =>
        WindowsUpdateMapping.Outcome("install", code, hresult, count, reboot).ShouldBe(new OsUpdateInstall(ok, text));

    [Fact]
    public void WindowsUpdateMapping_Describe_KnownErrorsByNameOthersByHresult()
    {
        WindowsUpdateMapping.Describe("the search", unchecked((int)0x8024402C), "ignored")
            .ShouldBe("Windows Update: the search failed: the update server could not be reached (proxy or name resolution) (0x8024402C)");
        WindowsUpdateMapping.Describe("the install", unchecked((int)0x80004005), "Unspecified error")
            .ShouldBe("Windows Update: the install failed (0x80004005: Unspecified error)");
    }

    [Fact]
    public async Task UnavailableOsUpdates_ReportsTheReason_InstallFailsWithIt()
    {
        var updates = new UnavailableOsUpdates("no OS update mechanism is driven on this operating system", TimeProvider.System);

        var status = await updates.CheckAsync(CancellationToken.None);
        var install = await updates.InstallAsync(CancellationToken.None);

        updates.Describe().ShouldHaveSingleItem().Available.ShouldBeFalse();
        status.Error.ShouldBe("no OS update mechanism is driven on this operating system");
        status.CheckedAt.ShouldBeNull();
        install.ShouldBe(new OsUpdateInstall(false, "no OS update mechanism is driven on this operating system"));
    }
}
