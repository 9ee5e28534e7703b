using Homeroom.Rules.Policies;

namespace Homeroom.Rules.Apple;

/// <summary>
/// The configuration profile that carries a device's effective policy to an iPad or Mac: Apple's
/// built-in web content filter (allowed and blocked sites; allow-only mode as an allow list) and
/// restrictions (camera, app installation, screenshots, Bluetooth). Its identifier is stable, so
/// installing a newer one replaces the older. Category lists are not sent: they are far larger than a
/// profile can carry; on Apple devices a category block takes effect through Apple's own adult filter
/// (<c>adult</c>) only.
/// On a supervised device the restrictions also carry the bundle ids of the apps the device's catalog
/// blocks or disables (<c>catalog.blockedAppBundleIds</c> in its policy document), under Apple's current key
/// <c>blockedAppBundleIDs</c> (iOS 15 and later) and its deprecated predecessor <c>blacklistedAppBundleIDs</c>
/// (iOS 9.3 to 14, deprecated but still defined since 15): iPads that stop at iOS 12 or 14 read only the old
/// key, and a device that knows both reads the new one. Both are supervised-only keys; an unsupervised
/// device's profile carries neither (Apple would ignore them).
/// </summary>
public static class PolicyProfiles
{
    public const string Identifier = "org.homeroom.policy";

    /// <summary>The catalog's blocked apps, as the policy document carries them for supervised iPads and iPhones.</summary>
    public static IReadOnlyList<string> BlockedApps(PolicyDocument policy) => policy.Strings("catalog", "blockedAppBundleIds");

    public static Dictionary<string, object> Build(PolicyDocument policy, bool supervised = false)
    {
        var filter = policy.WebFilter;
        var webFilter = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["PayloadType"] = "com.apple.webcontent-filter",
            ["PayloadVersion"] = 1L,
            ["PayloadIdentifier"] = Identifier + ".webfilter",
            ["PayloadUUID"] = Guid.NewGuid().ToString().ToUpperInvariant(),
            ["PayloadDisplayName"] = "Web filter",
            ["FilterType"] = "BuiltIn",
        };
        if (filter.AllowOnly)
        {
            webFilter["AllowListBookmarks"] = filter.AllowedSites
                .Select(site => (object)new Dictionary<string, object> { ["URL"] = Url(site), ["Title"] = Host(site) })
                .ToList();
        }
        else
        {
            webFilter["AutoFilterEnabled"] = filter.BlockedCategories.Contains("adult", StringComparer.Ordinal);
            webFilter["PermittedURLs"] = filter.AllowedSites.Select(site => (object)Url(site)).ToList();
            webFilter["DenyListURLs"] = filter.BlockedSites.Select(site => (object)Url(site)).ToList();
        }

        var restrictions = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["PayloadType"] = "com.apple.applicationaccess",
            ["PayloadVersion"] = 1L,
            ["PayloadIdentifier"] = Identifier + ".restrictions",
            ["PayloadUUID"] = Guid.NewGuid().ToString().ToUpperInvariant(),
            ["PayloadDisplayName"] = "Restrictions",
            ["allowCamera"] = policy.Boolean("restrictions", "camera"),
            ["allowAppInstallation"] = policy.Boolean("restrictions", "appStore"),
            ["allowUIAppInstallation"] = policy.Boolean("restrictions", "appStore"),
            ["allowScreenShot"] = policy.Boolean("restrictions", "screenCapture"),
            ["allowBluetoothModification"] = policy.Boolean("restrictions", "bluetooth"),
        };
        if (supervised && BlockedApps(policy) is { Count: > 0 } blocked)
        {
            restrictions["blockedAppBundleIDs"] = blocked.Select(id => (object)id).ToList();
            restrictions["blacklistedAppBundleIDs"] = blocked.Select(id => (object)id).ToList();
        }

        return new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["PayloadType"] = "Configuration",
            ["PayloadVersion"] = 1L,
            ["PayloadIdentifier"] = Identifier,
            ["PayloadUUID"] = Guid.NewGuid().ToString().ToUpperInvariant(),
            ["PayloadDisplayName"] = "Homeroom policy",
            ["PayloadDescription"] = "The school's web filter and restrictions, kept current by Homeroom.",
            ["PayloadScope"] = "System",
            ["PayloadRemovalDisallowed"] = true,
            ["PayloadContent"] = new List<object> { webFilter, restrictions },
        };
    }

    // A site rule (host, *.host or host/path) as the URL Apple's filter expects.
    private static string Url(string site)
    {
        var text = site.Trim();
        if (text.StartsWith("*.", StringComparison.Ordinal))
        {
            text = text[2..];
        }

        return text.Contains("://", StringComparison.Ordinal) ? text : "https://" + text;
    }

    private static string Host(string site)
    {
        var url = Url(site);
        var start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var end = url.IndexOf('/', start);
        return end < 0 ? url[start..] : url[start..end];
    }
}
