using Homeroom.Contracts.Enrollment;

namespace Homeroom.Rules.Apps;

/// <summary>An app's identities, one per platform; null where the catalog entry has none.</summary>
/// <remarks><c>MacPackageId</c> is the receipt id of the catalog's own Mac package (a <c>.pkg</c> the desktop agent installs); the App Store identities stay with Apple MDM.</remarks>
public sealed record AppIdentities(
    string? ChromeExtensionId, string? WebAppUrl, string? AppleAdamId, string? AppleBundleId, string? WindowsPackageId, string? AndroidPackage, string? LinuxPackage = null,
    string? MacPackageId = null);

/// <summary>What an app's effective intent means on one device's platform, said plainly.</summary>
/// <param name="Applicable">Whether the app exists on the platform at all (the catalog entry has an identity for it).</param>
/// <param name="Note">What Homeroom does, or why it cannot.</param>
public sealed record AppPlatformNote(bool Applicable, string Note);

/// <summary>
/// Which identity an app has on each device platform, and what Homeroom does today with an intent there.
/// Nothing here claims enforcement that is not built: the notes say what is recorded only.
/// </summary>
public static class AppPlatforms
{
    private const string MacMdmPackage = "Macs enrolled through Apple MDM get the same package through MDM (InstallEnterpriseApplication) when the package names its app bundle's id, by which their app lists show it.";

    /// <summary>The note for an app's intent on a platform.</summary>
    public static AppPlatformNote For(DevicePlatform platform, AppIdentities ids, AppIntent intent) => platform switch
    {
        DevicePlatform.ChromeOS when ids.ChromeExtensionId is null && ids.WebAppUrl is null =>
            new(false, "Not for Chromebooks: the catalog entry has no Chrome extension id or web app URL."),
        DevicePlatform.ChromeOS when intent == AppIntent.Required && ids.ChromeExtensionId is { } id =>
            new(true, $"Chrome cannot force-install from an extension: add \"{AppIdentity.ChromeForceInstallLine(id)}\" to ExtensionInstallForcelist in Google Admin; Homeroom's extension reports it while it is missing."),
        DevicePlatform.ChromeOS when intent == AppIntent.Required =>
            new(true, "Chrome cannot install a web app from an extension: add the URL to Google Admin's force-installed web apps."),
        DevicePlatform.ChromeOS when intent == AppIntent.Available =>
            new(true, "Allowed: nothing to install."),
        DevicePlatform.ChromeOS when ids.ChromeExtensionId is null =>
            new(true, "Recorded only: Homeroom's extension turns off extensions, not web apps; block the site with a profile's web filter."),
        DevicePlatform.ChromeOS =>
            new(true, "Homeroom's extension turns it off (chrome.management) and back on when it is no longer blocked or disabled."),
        DevicePlatform.IPadOS or DevicePlatform.IOS when ids.AppleAdamId is null =>
            new(false, "Not for iPads: the catalog entry has no App Store id."),
        DevicePlatform.IPadOS or DevicePlatform.IOS when intent == AppIntent.Required =>
            new(true, "Installed through Apple MDM (InstallApplication, after a licence where the app has them); its status is on this page."),
        DevicePlatform.IPadOS or DevicePlatform.IOS when intent == AppIntent.Blocked =>
            new(true, "Removed through Apple MDM (RemoveApplication) where Homeroom installed it, and on a supervised iPad from iPadOS 26 wherever it came from; "
                + "a supervised iPad's restrictions also hide it and stop it from starting."),
        DevicePlatform.IPadOS or DevicePlatform.IOS =>
            new(true, "Recorded only: Homeroom installs required apps and removes blocked ones; nothing is sent for available or disabled apps."),
        DevicePlatform.MacOS when ids.AppleAdamId is null && ids.AppleBundleId is null && ids.MacPackageId is null =>
            new(false, "Not for Macs: the catalog entry has no App Store id and no Mac package."),
        DevicePlatform.MacOS when intent == AppIntent.Required && ids.AppleAdamId is null && ids.MacPackageId is null =>
            new(false, "Not installed on Macs: the catalog entry has no App Store id or Mac package to install from."),
        DevicePlatform.MacOS when intent == AppIntent.Required && ids.AppleAdamId is null =>
            new(true, $"Installed by the desktop agent on Macs that run it, from the catalog's package (checked against its SHA-256, then installed with installer); {MacMdmPackage} A new URL or SHA-256 in the catalog installs the new package over the old. Its status is on this page."),
        DevicePlatform.MacOS when intent == AppIntent.Required && ids.MacPackageId is not null =>
            new(true, "Installed through Apple MDM on Macs enrolled through MDM (InstallApplication, after a licence where the app has them), and by the desktop agent from the catalog's package on Macs that run the agent. Its status is on this page."),
        DevicePlatform.MacOS when intent == AppIntent.Required =>
            new(true, "Installed through Apple MDM on Macs enrolled through MDM (InstallApplication, after a licence where the app has them); the App Store app needs a macOS version. Its status is on this page."),
        DevicePlatform.MacOS when intent == AppIntent.Blocked && ids.AppleBundleId is null && ids.MacPackageId is null =>
            new(false, "Not removed on Macs: the catalog entry has no bundle id and no Mac package."),
        DevicePlatform.MacOS when intent == AppIntent.Blocked && ids.AppleBundleId is null =>
            new(true, $"Removed by the desktop agent on Macs that run it: the app bundle is moved away and the package receipt forgotten (macOS has no uninstaller for packages), and its programs are ended when they start. On Macs enrolled through Apple MDM it is removed (RemoveApplication) where MDM installed it."),
        DevicePlatform.MacOS when intent == AppIntent.Blocked && ids.MacPackageId is not null =>
            new(true, "Removed through Apple MDM where MDM installed it (RemoveApplication); on Macs that run the desktop agent, the package's app bundle is moved away, its receipt forgotten and its programs are ended when they start."),
        DevicePlatform.MacOS when intent == AppIntent.Blocked =>
            new(true, "Removed through Apple MDM where MDM installed it (RemoveApplication). macOS has no restriction that blocks an App Store app: a copy installed another way stays and is not stopped from starting."),
        DevicePlatform.MacOS =>
            new(true, "Recorded only: Homeroom installs required apps on Macs and removes blocked ones; nothing is sent for available or disabled apps."),
        DevicePlatform.Windows when ids.WindowsPackageId is null =>
            new(false, "Not for Windows: the catalog entry has no Windows package id."),
        DevicePlatform.Windows when intent == AppIntent.Required =>
            new(true, "Installed by the desktop agent with winget; its status is on this page."),
        DevicePlatform.Windows when intent == AppIntent.Blocked =>
            new(true, "Removed by the desktop agent with winget where installed; the catalog has no executable names for Windows apps, so it is not stopped from starting."),
        DevicePlatform.Windows =>
            new(true, "Recorded only: the desktop agent installs required packages and removes blocked ones."),
        DevicePlatform.Linux when ids.LinuxPackage is null =>
            new(false, "Not for Linux: the catalog entry has no Debian package name."),
        DevicePlatform.Linux when intent == AppIntent.Required =>
            new(true, "Installed by the desktop agent with apt (Debian and Ubuntu); its status is on this page."),
        DevicePlatform.Linux when intent == AppIntent.Blocked =>
            new(true, "Removed by the desktop agent (dpkg) where installed, and its programs are ended when they start."),
        DevicePlatform.Linux =>
            new(true, "Recorded only: the desktop agent installs required packages and removes blocked ones."),
        DevicePlatform.Android =>
            new(false, "Not applied: there is no Homeroom agent for Android yet; the package name is recorded for later."),
        _ => new(false, "Not applied: Homeroom manages no apps on this platform."),
    };
}
