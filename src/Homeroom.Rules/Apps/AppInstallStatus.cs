using System.Text.Json.Serialization;
using Homeroom.Contracts.Enrollment;
using Homeroom.Rules.Updates;

namespace Homeroom.Rules.Apps;

/// <summary>Where one app stands on one device.</summary>
public enum AppInstallState
{
    /// <summary>Wanted and not asked for yet (or waiting for its next attempt).</summary>
    [JsonStringEnumMemberName("pending")] Pending,

    /// <summary>The device was asked to install it; waiting for its app list to show it.</summary>
    [JsonStringEnumMemberName("installing")] Installing,

    /// <summary>The device's own app list shows it.</summary>
    [JsonStringEnumMemberName("installed")] Installed,

    /// <summary>The platform refused (with its reason); retried with back-off.</summary>
    [JsonStringEnumMemberName("failed")] Failed,

    /// <summary>The device was asked to remove it; waiting for its app list to stop showing it.</summary>
    [JsonStringEnumMemberName("removing")] Removing,

    /// <summary>Not on the device, as a block asks.</summary>
    [JsonStringEnumMemberName("removed")] Removed,

    /// <summary>Every purchased licence is in use: no install is attempted.</summary>
    [JsonStringEnumMemberName("no-licence")] NoLicence,

    /// <summary>Homeroom cannot act on this platform (the reason says why and what to do instead).</summary>
    [JsonStringEnumMemberName("not-applicable")] NotApplicable,

    /// <summary>Required but not on the device, where only another console can install it (Chrome: Google Admin).</summary>
    [JsonStringEnumMemberName("missing")] Missing,

    /// <summary>
    /// Blocked and still on the device, kept from opening by its restrictions: a supervised iPad's app installed another way,
    /// which its iPadOS does not let MDM remove (<see cref="AppStatusPlans.MdmRemovesUnmanagedApps"/>). Final, like removed.
    /// </summary>
    [JsonStringEnumMemberName("blocked")] Blocked,
}

/// <summary>The states' names as stored and shown (no-licence, not-applicable).</summary>
public static class AppInstallStates
{
    public static string Name(AppInstallState state) => state switch
    {
        AppInstallState.NoLicence => "no-licence",
        AppInstallState.NotApplicable => "not-applicable",
        _ => state.ToString().ToLowerInvariant(),
    };

    public static AppInstallState Parse(string name) => name switch
    {
        "no-licence" => AppInstallState.NoLicence,
        "not-applicable" => AppInstallState.NotApplicable,
        _ => Enum.Parse<AppInstallState>(name, ignoreCase: true),
    };
}

/// <summary>Who carries out an app's intent on a device's platform.</summary>
public enum AppRoute
{
    /// <summary>Apple MDM installs it (InstallApplication, after a licence where the app has them).</summary>
    AppleInstall,

    /// <summary>Apple MDM removes it where it is installed (RemoveApplication).</summary>
    AppleRemove,

    /// <summary>Chrome reports whether it is installed; Google Admin installs it.</summary>
    ChromeReport,

    /// <summary>The desktop agent installs the package (<c>installPackage</c>) and reports it in its inventory.</summary>
    AgentInstall,

    /// <summary>The desktop agent removes the package where installed (<c>removePackage</c>) and ends it when it starts.</summary>
    AgentRemove,

    /// <summary>Nothing on this platform can act on it: status not applicable, with the reason.</summary>
    NotApplicable,
}

/// <summary>What the per-device status of an app follows on one platform, and why when nothing can act.</summary>
public sealed record AppStatusPlan(AppRoute Route, string? Reason = null);

/// <summary>
/// Which (device, app) pairs get a status row and what drives it. Available apps get none (nothing to
/// enforce). Required apps get one wherever the entry has an identity for the platform; blocked apps on
/// iPads, Macs (through Apple MDM: removed where MDM installed them; through the desktop agent: the package's
/// app bundle removed where installed; an MDM Mac's Mac package goes through MDM's InstallEnterpriseApplication) and Windows and Linux desktops (removed where installed). A Chromebook's blocked and disabled extensions are turned off by the extension itself
/// (see the device's policy document) and are not tracked here.
/// </summary>
public static class AppStatusPlans
{
    public const string ChromeWebApp = "Chrome cannot install a web app from an extension: add the URL to Google Admin's force-installed web apps.";
    public const string NotMdm = "This iPad is not managed through Apple MDM: Homeroom installs and removes apps only on iPads enrolled through MDM.";
    public const string MacNotMdm = "This Mac is not managed through Apple MDM: Homeroom installs and removes App Store apps only on Macs enrolled through MDM. "
        + "Give the catalog entry a Mac package (a .pkg's URL, SHA-256 and package id) for the desktop agent to install it.";
    public const string MacMdmNoBundleId = "This Mac is managed through Apple MDM, which installs the catalog entry's Mac package (InstallEnterpriseApplication) "
        + "and follows it in the Mac's app list by its app bundle's id: give the Mac package its bundle id (CFBundleIdentifier of the app it installs).";
    public const string UnsupervisedUnmanaged = "This iPad is not supervised and Homeroom did not install this app: Apple lets MDM block apps only on supervised iPads "
        + "(set up through Apple School Manager) and remove only the apps it installed. Remove it by hand, or supervise the iPad.";
    public const string SupervisedUnmanaged = "Homeroom did not install this app, and before iPadOS 26 MDM removes only the apps it installed: "
        + "this supervised iPad's restrictions keep it from opening and hide it from the Home Screen. Homeroom removes it once the iPad runs iPadOS 26 or later; "
        + "remove it by hand before then if it must go.";

    /// <summary>The first iPadOS and iOS release whose supervised devices let MDM's RemoveApplication remove apps MDM did not install.</summary>
    public static readonly OsVersion UnmanagedRemovalSince = OsVersion.FromReported("26");

    /// <summary>
    /// Whether RemoveApplication can remove an app MDM did not install from this iPad or iPhone: only a supervised one running
    /// iPadOS or iOS 26 or later (Apple's RemoveApplication command). An OS version not reported counts as older.
    /// </summary>
    public static bool MdmRemovesUnmanagedApps(bool supervised, string? osVersion) =>
        supervised && OsVersion.FromReported(osVersion).IsAtLeast(UnmanagedRemovalSince);

    public const string MacUnmanaged = "Homeroom did not install this app on this Mac: RemoveApplication removes only the apps MDM installed, and macOS has no "
        + "restriction that stops an App Store app from starting, so it stays and still opens. Remove it by hand.";
    public const string MacNoStoreVersion = "A Mac installs only App Store apps that have a macOS version (or an iPad app its developer offers on Apple silicon Macs): "
        + "if this one has none, assign it to iPads only.";
    public const string AndroidAgent = "There is no Homeroom agent for Android yet: the package name is recorded for later.";

    /// <summary>The plan for an app's effective intent on a platform; null when the pair needs no status.</summary>
    public static AppStatusPlan? For(DevicePlatform platform, AppIdentities ids, AppIntent intent) => (platform, intent) switch
    {
        (_, AppIntent.Available or AppIntent.Disabled) => null,
        (DevicePlatform.IPadOS or DevicePlatform.IOS, AppIntent.Required) when ids.AppleAdamId is not null => new(AppRoute.AppleInstall),
        (DevicePlatform.IPadOS or DevicePlatform.IOS, AppIntent.Blocked) when ids.AppleBundleId is not null => new(AppRoute.AppleRemove),
        (DevicePlatform.ChromeOS, AppIntent.Required) when ids.ChromeExtensionId is not null => new(AppRoute.ChromeReport),
        (DevicePlatform.ChromeOS, AppIntent.Required) when ids.WebAppUrl is not null => new(AppRoute.NotApplicable, ChromeWebApp),
        (DevicePlatform.MacOS, AppIntent.Required) when ids.AppleAdamId is not null => new(AppRoute.AppleInstall),
        (DevicePlatform.MacOS, AppIntent.Blocked) when ids.AppleBundleId is not null => new(AppRoute.AppleRemove),
        // Only a Mac package: the desktop agent, or on an MDM Mac InstallEnterpriseApplication (the reconciler decides by enrolment).
        // With both, the reconciler sends a Mac without MDM to the agent.
        (DevicePlatform.MacOS, AppIntent.Required) when ids.MacPackageId is not null => new(AppRoute.AgentInstall),
        (DevicePlatform.MacOS, AppIntent.Blocked) when ids.MacPackageId is not null => new(AppRoute.AgentRemove),
        (DevicePlatform.Windows, AppIntent.Required) when ids.WindowsPackageId is not null => new(AppRoute.AgentInstall),
        (DevicePlatform.Windows, AppIntent.Blocked) when ids.WindowsPackageId is not null => new(AppRoute.AgentRemove),
        (DevicePlatform.Linux, AppIntent.Required) when ids.LinuxPackage is not null => new(AppRoute.AgentInstall),
        (DevicePlatform.Linux, AppIntent.Blocked) when ids.LinuxPackage is not null => new(AppRoute.AgentRemove),
        (DevicePlatform.Android, AppIntent.Required) when ids.AndroidPackage is not null => new(AppRoute.NotApplicable, AndroidAgent),
        _ => null,
    };

    /// <summary>What a Mac package's row says while the catalog's new package replaces the one installed.</summary>
    public static string MacPackageUpdating(string installedSha256, string catalogSha256) =>
        $"Updating: the catalog's package changed (SHA-256 {Short(installedSha256)} installed, {Short(catalogSha256)} in the catalog); the installed one stays until the new one is in place.";

    /// <summary>Added to a failed update's reason: the package installed before is still there.</summary>
    public static string MacPackageKept(string installedSha256) =>
        $"The package installed before (SHA-256 {Short(installedSha256)}) stays installed.";

    private static string Short(string sha256) => sha256.Length > 12 ? sha256[..12] + "…" : sha256;

    /// <summary>The reason a Chromebook shows for a required extension it does not have.</summary>
    public static string ChromeMissing(string extensionId) =>
        $"missing: force-install it in Google Admin (add \"{AppIdentity.ChromeForceInstallLine(extensionId)}\" to ExtensionInstallForcelist).";
}

/// <summary>
/// The retry schedule of a failed install or removal: the first retry after <c>first</c>, each next one
/// after twice as long, never longer than <c>cap</c>. Pure, so the schedule is tested with numbers.
/// </summary>
public static class AppRetrySchedule
{
    /// <summary>How long to wait after the given number of failed attempts (1 for the first failure).</summary>
    public static TimeSpan Delay(int attempts, TimeSpan first, TimeSpan cap)
    {
        if (attempts <= 1)
        {
            return first <= cap ? first : cap;
        }

        // Doubling stops as soon as the cap is reached, so a large attempt count cannot overflow.
        var delay = first;
        for (var i = 1; i < attempts && delay < cap; i++)
        {
            delay += delay;
        }

        return delay <= cap ? delay : cap;
    }
}

/// <summary>The package identity the desktop agent uses for an app on a platform (null where it has none).</summary>
public static class AgentPackages
{
    public static string? For(DevicePlatform platform, AppIdentities ids) => platform switch
    {
        DevicePlatform.Windows => ids.WindowsPackageId,
        DevicePlatform.Linux => ids.LinuxPackage,
        DevicePlatform.MacOS => ids.MacPackageId,
        _ => null,
    };
}
