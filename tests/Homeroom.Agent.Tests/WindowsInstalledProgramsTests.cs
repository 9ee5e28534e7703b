using Homeroom.Agent.Capabilities.Windows;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Tests;

/// <summary>
/// Which registry <c>Uninstall</c> entries the Windows agent lists as installed programs. The registry itself is read
/// only on Windows, which these machines are not: the entries here are what Windows keeps for such programs.
/// </summary>
public sealed class WindowsInstalledProgramsTests
{
    [Fact]
    public void Select_ListsNamedPrograms_ByKeyName_WithTheirVersions()
    {
        var apps = WindowsInstalledPrograms.Select(
        [
            new("Mozilla Firefox 133.0 (x64 en-US)", "Mozilla Firefox (x64 en-US)", "133.0"),
            new("{90160000-0011-0000-1000-0000000FF1CE}", "Microsoft Office Professional Plus 2016", "16.0.4266.1001"),
            new("GeoGebra Classic", "GeoGebra Classic", null),
        ]);

        // In order of id, ignoring case (so a product code's brace comes after letters): the protocol keeps the first 2,000.
        apps.ShouldBe(
        [
            new InstalledApp("GeoGebra Classic", "GeoGebra Classic", null),
            new InstalledApp("Mozilla Firefox 133.0 (x64 en-US)", "Mozilla Firefox (x64 en-US)", "133.0"),
            new InstalledApp("{90160000-0011-0000-1000-0000000FF1CE}", "Microsoft Office Professional Plus 2016", "16.0.4266.1001"),
        ]);
    }

    [Fact]
    public void Select_LeavesOut_WhatInstalledAppsHides()
    {
        var apps = WindowsInstalledPrograms.Select(
        [
            new("NoName", null, "1.0"),
            new("Blank", "   ", "1.0"),
            new("{1D8E6291-B0D5-35EC-8441-6616F567A0F7}", "Microsoft Visual C++ 2010 x64 Redistributable", "10.0.40219", SystemComponent: 1),
            new("KB5034441", "Security Update for Microsoft Office (KB5034441)", null, ParentKeyName: "Office16.PROPLUS"),
            new("Hotfix1", "Hotfix for Microsoft .NET Framework", null, ReleaseType: "Hotfix"),
            new("Rollup", "Update Rollup 3", null, ReleaseType: " Update Rollup "),
            new("Kept", "Kept Program", "2.0", SystemComponent: 0, ReleaseType: "Application"),
        ]);

        apps.ShouldBe([new InstalledApp("Kept", "Kept Program", "2.0")]);
    }

    [Fact]
    public void Select_ProgramInBothViewsOrForTwoUsers_IsListedOnce()
    {
        var apps = WindowsInstalledPrograms.Select(
        [
            new("Zoom", "Zoom Workplace", "6.2.0"),
            new("zoom", "Zoom Workplace", "6.2.0"),
            new("Zoom", "Zoom Workplace", "6.1.0"),
        ]);

        apps.Count.ShouldBe(1);
        apps[0].Version.ShouldBe("6.2.0");
    }

    [Fact]
    public void Select_CutsEveryTextToTheProtocolsLimit()
    {
        var longText = new string('x', ProtocolLimits.MaxShortText + 50);
        var app = WindowsInstalledPrograms.Select([new(longText, longText, longText)]).ShouldHaveSingleItem();

        app.Id.Length.ShouldBe(ProtocolLimits.MaxShortText);
        app.Name!.Length.ShouldBe(ProtocolLimits.MaxShortText);
        app.Version!.Length.ShouldBe(ProtocolLimits.MaxShortText);
        AgentFrameValidator.Validate(new InventoryFrame("Windows", "10.0.26100", null, null, null, null, [app])).ShouldBeNull();
    }

    [Fact]
    public void OffWindows_TheCapabilityIsUnavailable_AndListsNothing()
    {
        var programs = new WindowsInstalledPrograms();

        programs.Describe().ShouldHaveSingleItem().ShouldSatisfyAllConditions(
            c => c.Name.ShouldBe(CapabilityNames.Applications),
            c => c.Available.ShouldBe(OperatingSystem.IsWindows()));
        if (!OperatingSystem.IsWindows())
        {
            programs.ListInstalled().ShouldBeEmpty();
        }
    }
}
