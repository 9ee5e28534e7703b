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
    [InlineData(DevicePlatform.MacOS, AppIntent.Required, AppRoute.NotApplicable)]
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
    public void For_MacsAndWebApps_SayWhyNothingActs()
    {
        AppStatusPlans.For(DevicePlatform.MacOS, Everywhere, AppIntent.Required)!.Reason!.ShouldContain("desktop agent does not install applications");
        AgentPackages.For(DevicePlatform.Windows, Everywhere).ShouldBe(Everywhere.WindowsPackageId);
        AgentPackages.For(DevicePlatform.Linux, Everywhere).ShouldBe(Everywhere.LinuxPackage);
        AgentPackages.For(DevicePlatform.MacOS, Everywhere).ShouldBeNull();
        var webApp = new AppIdentities(null, "https://example.org/", null, null, null, null);
        AppStatusPlans.For(DevicePlatform.ChromeOS, webApp, AppIntent.Required)!.Reason!.ShouldContain("Google Admin");
    }

    [Theory]
    [InlineData(AppInstallState.NoLicence, "no-licence")]
    [InlineData(AppInstallState.NotApplicable, "not-applicable")]
    [InlineData(AppInstallState.Installing, "installing")]
    public void Name_State_RoundTrips(AppInstallState state, string name)
    {
        AppInstallStates.Name(state).ShouldBe(name);
        AppInstallStates.Parse(name).ShouldBe(state);
    }
}
