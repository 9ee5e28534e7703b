using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Apps;

namespace Homeroom.Rules.Tests.Apps;

public sealed class AppInstallStatusTests
{
    private static readonly TimeSpan First = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Cap = TimeSpan.FromHours(6);

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(9, 256)]
    [InlineData(10, 360)]
    [InlineData(int.MaxValue, 360)]
    public void Delay_Attempts_DoublesUpToTheCap(int attempts, int minutes) =>
        AppRetrySchedule.Delay(attempts, First, Cap).ShouldBe(TimeSpan.FromMinutes(minutes));

    [Fact]
    public void Delay_EveryAttemptCount_NeverShrinksAndNeverPassesTheCap()
    {
        var previous = TimeSpan.Zero;
        for (var attempts = 1; attempts < 200; attempts++)
        {
            var delay = AppRetrySchedule.Delay(attempts, First, Cap);
            delay.ShouldBeGreaterThanOrEqualTo(previous);
            delay.ShouldBeLessThanOrEqualTo(Cap);
            previous = delay;
        }
    }

    private static readonly AppIdentities Everywhere = new("aapocclcgogkmnckokdopfmhonfmgoek", null, "1156311547", "com.example.app", "Example.App", "com.example.app", "example-app");

    [Theory]
    [InlineData(DevicePlatform.IPadOS, AppIntent.Required, AppRoute.AppleInstall)]
    [InlineData(DevicePlatform.IPadOS, AppIntent.Blocked, AppRoute.AppleRemove)]
    [InlineData(DevicePlatform.ChromeOS, AppIntent.Required, AppRoute.ChromeReport)]
    [InlineData(DevicePlatform.MacOS, AppIntent.Required, AppRoute.AppleInstall)]
    [InlineData(DevicePlatform.MacOS, AppIntent.Blocked, AppRoute.AppleRemove)]
    [InlineData(DevicePlatform.Windows, AppIntent.Required, AppRoute.AgentInstall)]
    [InlineData(DevicePlatform.Windows, AppIntent.Blocked, AppRoute.AgentRemove)]
    [InlineData(DevicePlatform.Linux, AppIntent.Required, AppRoute.AgentInstall)]
    [InlineData(DevicePlatform.Linux, AppIntent.Blocked, AppRoute.AgentRemove)]
    [InlineData(DevicePlatform.Android, AppIntent.Required, AppRoute.NotApplicable)]
    public void For_RelevantPair_HasItsRoute(DevicePlatform platform, AppIntent intent, AppRoute route) =>
        AppStatusPlans.For(platform, Everywhere, intent)!.Route.ShouldBe(route);

    [Theory]
    [InlineData(DevicePlatform.IPadOS, AppIntent.Available)]
    [InlineData(DevicePlatform.ChromeOS, AppIntent.Disabled)]
    [InlineData(DevicePlatform.ChromeOS, AppIntent.Blocked)]
    [InlineData(DevicePlatform.MacOS, AppIntent.Available)]
    [InlineData(DevicePlatform.MacOS, AppIntent.Disabled)]
    public void For_NothingToEnforce_HasNoRow(DevicePlatform platform, AppIntent intent) =>
        AppStatusPlans.For(platform, Everywhere, intent).ShouldBeNull();

    [Fact]
    public void For_NoIdentityOnThePlatform_HasNoRow()
    {
        var chromeOnly = new AppIdentities("aapocclcgogkmnckokdopfmhonfmgoek", null, null, null, null, null);
        AppStatusPlans.For(DevicePlatform.IPadOS, chromeOnly, AppIntent.Required).ShouldBeNull();
        AppStatusPlans.For(DevicePlatform.Windows, chromeOnly, AppIntent.Required).ShouldBeNull();
        AppStatusPlans.For(DevicePlatform.Linux, chromeOnly, AppIntent.Blocked).ShouldBeNull();
    }

    [Fact]
    public void For_WebApps_SayWhyNothingActs()
    {
        AgentPackages.For(DevicePlatform.Windows, Everywhere).ShouldBe(Everywhere.WindowsPackageId);
        AgentPackages.For(DevicePlatform.Linux, Everywhere).ShouldBe(Everywhere.LinuxPackage);
        AgentPackages.For(DevicePlatform.MacOS, Everywhere).ShouldBeNull();
        var webApp = new AppIdentities(null, "https://example.org/", null, null, null, null);
        AppStatusPlans.For(DevicePlatform.ChromeOS, webApp, AppIntent.Required)!.Reason!.ShouldContain("Google Admin");
    }

    [Fact]
    public void For_Mac_InstallsByAdamId_RemovesByBundleId_AndSaysItIsNotStoppedFromStarting()
    {
        var adamOnly = new AppIdentities(null, null, "1156311547", null, null, null);
        var bundleOnly = new AppIdentities(null, null, null, "com.example.app", null, null);
        AppStatusPlans.For(DevicePlatform.MacOS, adamOnly, AppIntent.Required)!.Route.ShouldBe(AppRoute.AppleInstall);
        AppStatusPlans.For(DevicePlatform.MacOS, adamOnly, AppIntent.Blocked).ShouldBeNull(); // nothing to name it by on the Mac
        AppStatusPlans.For(DevicePlatform.MacOS, bundleOnly, AppIntent.Required).ShouldBeNull(); // nothing to install it from
        AppStatusPlans.For(DevicePlatform.MacOS, bundleOnly, AppIntent.Blocked)!.Route.ShouldBe(AppRoute.AppleRemove);

        var blocked = AppPlatforms.For(DevicePlatform.MacOS, Everywhere, AppIntent.Blocked);
        blocked.Applicable.ShouldBeTrue();
        blocked.Note.ShouldContain("where MDM installed it");
        blocked.Note.ShouldContain("not stopped from starting");
        AppPlatforms.For(DevicePlatform.MacOS, Everywhere, AppIntent.Required).Note.ShouldContain("InstallApplication");
        AppPlatforms.For(DevicePlatform.MacOS, new AppIdentities("aapocclcgogkmnckokdopfmhonfmgoek", null, null, null, null, null), AppIntent.Required).Applicable.ShouldBeFalse();
        AppStatusPlans.MacUnmanaged.ShouldContain("removes only the apps MDM installed");
        AppStatusPlans.MacNotMdm.ShouldContain("not managed through Apple MDM");
    }

    [Fact]
    public void For_MacPackage_TheDesktopAgentInstallsAndRemovesIt_AppStoreIdentitiesStayWithMdm()
    {
        var packageOnly = new AppIdentities(null, null, null, null, null, null, MacPackageId: "org.example.paint.pkg");
        var both = new AppIdentities(null, null, "1156311547", "com.example.app", null, null, MacPackageId: "org.example.paint.pkg");
        AppStatusPlans.For(DevicePlatform.MacOS, packageOnly, AppIntent.Required)!.Route.ShouldBe(AppRoute.AgentInstall);
        AppStatusPlans.For(DevicePlatform.MacOS, packageOnly, AppIntent.Blocked)!.Route.ShouldBe(AppRoute.AgentRemove);
        AppStatusPlans.For(DevicePlatform.MacOS, packageOnly, AppIntent.Available).ShouldBeNull();
        // With both, the plan is MDM's; the reconciler sends a Mac without MDM to its agent.
        AppStatusPlans.For(DevicePlatform.MacOS, both, AppIntent.Required)!.Route.ShouldBe(AppRoute.AppleInstall);
        AppStatusPlans.For(DevicePlatform.IPadOS, packageOnly, AppIntent.Required).ShouldBeNull();
        AgentPackages.For(DevicePlatform.MacOS, packageOnly).ShouldBe("org.example.paint.pkg");
        AgentPackages.For(DevicePlatform.Linux, packageOnly).ShouldBeNull();

        var required = AppPlatforms.For(DevicePlatform.MacOS, packageOnly, AppIntent.Required);
        required.Applicable.ShouldBeTrue();
        required.Note.ShouldContain("desktop agent");
        required.Note.ShouldContain("SHA-256");
        var blocked = AppPlatforms.For(DevicePlatform.MacOS, packageOnly, AppIntent.Blocked);
        blocked.Applicable.ShouldBeTrue();
        blocked.Note.ShouldContain("no uninstaller");
        blocked.Note.ShouldContain("ended when they start");
        AppPlatforms.For(DevicePlatform.MacOS, both, AppIntent.Required).Note.ShouldContain("InstallApplication");
        required.Note.ShouldContain("InstallEnterpriseApplication");
        AppStatusPlans.MacMdmNoBundleId.ShouldContain("bundle id");
        AppStatusPlans.MacPackageUpdating(new string('a', 64), new string('b', 64)).ShouldBe(
            "Updating: the catalog's package changed (SHA-256 aaaaaaaaaaaa… installed, bbbbbbbbbbbb… in the catalog); the installed one stays until the new one is in place.");
    }

    // Every platform, intent and combination of identities (all 128), against a plain table of what each Apple
    // platform does; and a Mac's device page never calls a pair with a status route "not applicable".
    [Fact]
    public void For_EveryCombination_MatchesTheReferenceForApplePlatforms_AndTheNotesAgree()
    {
        static AppRoute? Reference(DevicePlatform platform, AppIdentities ids, AppIntent intent)
        {
            var apple = platform is DevicePlatform.IPadOS or DevicePlatform.IOS or DevicePlatform.MacOS;
            if (!apple)
            {
                return null;
            }

            if (intent == AppIntent.Required && ids.AppleAdamId is not null)
            {
                return AppRoute.AppleInstall;
            }

            if (intent == AppIntent.Blocked && ids.AppleBundleId is not null)
            {
                return AppRoute.AppleRemove;
            }

            return null;
        }

        string?[] values = ["aapocclcgogkmnckokdopfmhonfmgoek", "https://example.org/", "1156311547", "com.example.app", "Example.App", "com.example.android", "example-app"];
        var checkedPairs = 0;
        for (var mask = 0; mask < 1 << values.Length; mask++)
        {
            string? V(int i) => (mask & (1 << i)) != 0 ? values[i] : null;
            var ids = new AppIdentities(V(0), V(1), V(2), V(3), V(4), V(5), V(6));
            foreach (var platform in Enum.GetValues<DevicePlatform>())
            {
                foreach (var intent in Enum.GetValues<AppIntent>())
                {
                    var plan = AppStatusPlans.For(platform, ids, intent);
                    if (Reference(platform, ids, intent) is { } route)
                    {
                        plan.ShouldNotBeNull($"{platform} {intent} {ids}");
                        plan.Route.ShouldBe(route, $"{platform} {intent} {ids}");
                        if (platform == DevicePlatform.MacOS)
                        {
                            AppPlatforms.For(platform, ids, intent).Applicable.ShouldBeTrue($"{platform} {intent} {ids}");
                        }

                        checkedPairs++;
                    }
                    else if (platform == DevicePlatform.MacOS)
                    {
                        plan.ShouldBeNull($"{platform} {intent} {ids}");
                    }
                }
            }
        }

        checkedPairs.ShouldBe(3 * 2 * 64); // three Apple platforms; required and blocked each with half the combinations
    }

    [Theory]
    [InlineData(AppInstallState.NoLicence, "no-licence")]
    [InlineData(AppInstallState.Blocked, "blocked")]
    [InlineData(AppInstallState.NotApplicable, "not-applicable")]
    [InlineData(AppInstallState.Installing, "installing")]
    public void Name_State_RoundTrips(AppInstallState state, string name)
    {
        AppInstallStates.Name(state).ShouldBe(name);
        AppInstallStates.Parse(name).ShouldBe(state);
    }

    [Theory]
    [InlineData(true, "26", true)]
    [InlineData(true, "26.0.1", true)]
    [InlineData(true, "27.1", true)]
    [InlineData(true, "25.9", false)]
    [InlineData(true, "18.7.2", false)]
    [InlineData(true, null, false)]
    [InlineData(true, "unknown", false)]
    [InlineData(false, "26.1", false)]
    public void MdmRemovesUnmanagedApps_OnlyOnSupervisedDevicesFromIOS26(bool supervised, string? osVersion, bool removes) =>
        AppStatusPlans.MdmRemovesUnmanagedApps(supervised, osVersion).ShouldBe(removes);
}
