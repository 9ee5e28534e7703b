namespace Homeroom.Rules.Apps;

/// <summary>
/// What one app's <c>Status</c> in an iPad's ManagedApplicationList answer means for Homeroom.
/// </summary>
/// <param name="State">The state a required app's row takes (null: leave it as it is).</param>
/// <param name="Reason">Apple's status and what it means, in words an admin can act on (null when all is well).</param>
/// <param name="Managed">Whether the app is now managed by MDM on the device (null: the status does not say).</param>
public sealed record ManagedAppVerdict(AppInstallState? State, string? Reason, bool? Managed);

/// <summary>
/// Maps Apple's managed-app statuses (the <c>Status</c> values of the ManagedApplicationList command's
/// schema) to Homeroom's per-device states. Still on its way (queued, redeeming, prompting, validating,
/// updating, installing): installing, with Apple's status as the reason. <c>Managed</c>: installed.
/// The transient refusals Apple reports once (<c>UserRejected</c>, <c>ManagementRejected</c>,
/// <c>UserInstalledApp</c>, <c>Failed</c>) and <c>ManagedButUninstalled</c> (the student deleted it): failed
/// with the reason, so the install is retried with back-off. <c>UpdateRejected</c> leaves the installed
/// version installed. <c>Unknown</c> and anything Apple may add later change nothing.
/// </summary>
public static class AppleManagedAppStatus
{
    /// <summary>Every status Apple's schema lists, in its order.</summary>
    public static IReadOnlyList<string> Known { get; } =
    [
        "Queued", "NeedsRedemption", "Redeeming", "Prompting", "PromptingForLogin", "ValidatingPurchase", "PromptingForUpdate", "PromptingForUpdateLogin",
        "PromptingForManagement", "ValidatingUpdate", "Updating", "Installing", "Managed", "ManagedButUninstalled", "Unknown", "UserInstalledApp",
        "UserRejected", "UpdateRejected", "ManagementRejected", "Failed",
    ];

    public static ManagedAppVerdict Map(string? status) => status switch
    {
        "Queued" => OnItsWay(status, "the install is queued on the iPad"),
        "NeedsRedemption" => OnItsWay(status, "the iPad needs a redemption code for the app"),
        "Redeeming" => OnItsWay(status, "the iPad is redeeming the app's code"),
        "Prompting" => OnItsWay(status, "waiting for the student to accept the install"),
        "PromptingForLogin" => OnItsWay(status, "waiting for the student to sign in to the App Store"),
        "ValidatingPurchase" => OnItsWay(status, "the App Store is checking the licence"),
        "PromptingForUpdate" => OnItsWay(status, "waiting for the student to accept an update"),
        "PromptingForUpdateLogin" => OnItsWay(status, "waiting for the student to sign in to update the app"),
        "PromptingForManagement" => new(AppInstallState.Installing, "PromptingForManagement: waiting for the student to let the school manage the app", null),
        "ValidatingUpdate" => OnItsWay(status, "the App Store is checking an update"),
        "Updating" => OnItsWay(status, "the app is updating"),
        "Installing" => OnItsWay(status, "the app is downloading"),
        "Managed" => new(AppInstallState.Installed, null, true),
        "ManagedButUninstalled" => new(AppInstallState.Failed, "ManagedButUninstalled: the student deleted the app; Homeroom installs it again", true),
        "UserInstalledApp" => new(AppInstallState.Failed, "UserInstalledApp: the student installed the app before the managed install could; Homeroom asks again to manage it", false),
        "UserRejected" => new(AppInstallState.Failed, "UserRejected: the student declined the install", null),
        "UpdateRejected" => new(AppInstallState.Installed, "UpdateRejected: the student declined an update; the installed version stays", true),
        "ManagementRejected" => new(AppInstallState.Failed, "ManagementRejected: the student declined to let the school manage the app they installed", false),
        "Failed" => new(AppInstallState.Failed, "Failed: the iPad could not install the app", null),
        _ => new(null, null, null),
    };

    private static ManagedAppVerdict OnItsWay(string status, string words) => new(AppInstallState.Installing, $"{status}: {words}", true);
}
