using Homeroom.Agent.Capabilities;
using Homeroom.Agent.Capabilities.Windows;

namespace Homeroom.Agent.Tests;

/// <summary>The Windows package logic that can be checked here: the winget command lines and what its exit codes mean. winget itself never ran.</summary>
public sealed class WingetTests
{
    [Fact]
    public void Install_ExactIdMachineWideSilentWithAgreementsAccepted() =>
        WingetArguments.Install("Mozilla.Firefox").ShouldBe(
            ["install", "--id", "Mozilla.Firefox", "--exact", "--scope", "machine", "--silent", "--accept-package-agreements", "--accept-source-agreements", "--disable-interactivity"]);

    [Fact]
    public void Uninstall_ExactIdSilent() =>
        WingetArguments.Uninstall("Mozilla.Firefox").ShouldBe(
            ["uninstall", "--id", "Mozilla.Firefox", "--exact", "--silent", "--accept-source-agreements", "--disable-interactivity"]);

    [Theory]
    [InlineData(0, true, true, "installed with winget")]
    [InlineData(0, false, true, "removed with winget")]
    [InlineData(unchecked((int)0x8A150061), true, true, "already installed")]
    [InlineData(unchecked((int)0x8A15002B), true, true, "already installed")]
    [InlineData(unchecked((int)0x8A150014), false, true, "not installed")]
    [InlineData(unchecked((int)0x8A150109), true, true, "a restart finishes it")]
    [InlineData(unchecked((int)0x8A150014), true, false, "0x8A150014: no package found with this id")]
    [InlineData(unchecked((int)0x8A150101), true, false, "the application is in use")]
    [InlineData(unchecked((int)0x8A150107), true, false, "no network connection")]
    [InlineData(unchecked((int)0x8A15010F), false, false, "blocked by policy")]
    [InlineData(1603, true, false, "0x00000643: unknown code")]
    public void Outcome_ExitCode_IsMappedToTheWantedStateAndReason(int exitCode, bool install, bool ok, string words)
    {
        var outcome = WingetResults.Outcome(exitCode, install, "");

        outcome.Ok.ShouldBe(ok);
        outcome.Result.ShouldContain(words);
    }

    [Fact]
    public void Outcome_Failure_CarriesWhatWingetPrinted() =>
        WingetResults.Outcome(unchecked((int)0x8A150008), true, "Download request status is not success.").Result
            .ShouldBe("winget install failed (0x8A150008: downloading the installer failed): Download request status is not success.");

    [Fact]
    public async Task Install_WithoutWinget_FailsWithTheReason()
    {
        var packages = new WingetPackages(new ProcessRunner(), null);

        packages.Describe().Single().Available.ShouldBeFalse();
        (await packages.InstallAsync("Mozilla.Firefox", CancellationToken.None)).Result.ShouldContain("winget (App Installer) was not found");
        (await packages.InstallAsync("--force", CancellationToken.None)).Result.ShouldContain("is not a Windows package id");
    }
}
