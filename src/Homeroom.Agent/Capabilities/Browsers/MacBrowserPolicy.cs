using System.Runtime.Versioning;
using System.Xml.Linq;
using Homeroom.Agent.Capabilities.MacOS;
using Homeroom.Agent.State;

namespace Homeroom.Agent.Capabilities.Browsers;

/// <summary>Where the browsers read machine policy on macOS, relative to the root.</summary>
public static class MacBrowserPaths
{
    /// <summary>The managed preferences directory: a property list per preference domain, which Chrome and Edge read as mandatory policy.</summary>
    public const string ManagedPreferencesDirectory = "Library/Managed Preferences";

    /// <summary>Each Chrome-family browser's preference domain (its file is <c>&lt;domain&gt;.plist</c>).</summary>
    public static readonly IReadOnlyList<(string Browser, string Domain)> ChromiumBrowsers =
    [
        ("Google Chrome", "com.google.Chrome"),
        ("Microsoft Edge", "com.microsoft.Edge"),
    ];

    /// <summary>Firefox's application bundle resources; its <c>distribution/policies.json</c> is written only when the bundle is there.</summary>
    public const string FirefoxResourcesDirectory = "Applications/Firefox.app/Contents/Resources";
}

/// <summary>
/// macOS: the same policy as on Linux (<see cref="BrowserPolicyContent"/>), in the property lists Chrome and Edge read
/// machine policy from, <c>/Library/Managed Preferences/com.google.Chrome.plist</c> and <c>com.microsoft.Edge.plist</c>:
/// Homeroom's entry in <c>ExtensionInstallForcelist</c> and the managed configuration under
/// <c>3rdparty → extensions → &lt;id&gt;</c>. There is one file per browser, which an MDM profile or an administrator
/// may also fill, so the agent edits only its own entries, as on Windows: other keys, other extensions' entries and their
/// configurations are kept, and the id Homeroom wrote is kept in the state directory (<c>mac-browser-policy.id</c>) so a
/// changed or emptied setting takes the old entries away; a file left empty is removed. A malformed XML file (which
/// Chrome cannot read either) is replaced; a binary property list (what macOS writes for an installed configuration
/// profile) is left as it is and reported. Firefox gets <c>/Applications/Firefox.app/Contents/Resources/distribution/policies.json</c>,
/// exactly as on Linux (<see cref="PolicyFiles.ApplyFirefox"/>), when Firefox is installed there.
/// Files are written atomically (a temporary file in the same directory, then a rename), mode 0644, owned by the
/// service's user (root). <b>Written and tested on Linux under a test root; never run on macOS.</b>
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class MacBrowserPolicy(AgentOptions options, AgentPaths paths) : BrowserPolicyBase
{
    private const string Forcelist = "ExtensionInstallForcelist";

    private readonly string _root = Path.GetFullPath(options.BrowserPolicyRoot);

    private string Record => Path.Combine(paths.StateDirectory, "mac-browser-policy.id");

    private string ManagedPreferences => Path.Combine(_root, MacBrowserPaths.ManagedPreferencesDirectory);

    /// <summary>The managed preferences file of a Chrome-family browser's domain.</summary>
    public string ChromiumFile(string domain) => Path.Combine(ManagedPreferences, domain + ".plist");

    /// <summary>Firefox's policies file inside its application bundle.</summary>
    public string FirefoxFile => Path.Combine(_root, MacBrowserPaths.FirefoxResourcesDirectory, "distribution", "policies.json");

    protected override string? Unavailable() =>
        _root == "/" && !Environment.IsPrivilegedProcess ? "writing browser policy in /Library/Managed Preferences needs root; the agent is not running as root" : null;

    protected override BrowserPolicyOutcome Write(BrowserPolicyRequest? request)
    {
        var failures = new List<string>();
        var changed = new List<string>();
        var id = request?.ExtensionId;
        var written = id is not null;
        string? previous;
        try
        {
            previous = File.Exists(Record) ? File.ReadAllText(Record).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            previous = null; // an earlier extension's entries stay until removed by hand (docs/desktop-agent.md)
        }

        foreach (var (browser, domain) in MacBrowserPaths.ChromiumBrowsers)
        {
            var file = ChromiumFile(domain);
            try
            {
                if (Edit(file, request, previous, out var refusal))
                {
                    changed.Add(file);
                }

                if (refusal is not null)
                {
                    written = false;
                    failures.Add($"desktopBrowsers: {browser}'s policy {file} {refusal}");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                written = false;
                failures.Add($"desktopBrowsers: {browser}'s policy {file} could not be {(id is null ? "removed" : "written")} ({e.Message})");
            }
        }

        try
        {
            if (id is not null)
            {
                AgentPaths.WriteAtomically(Record, System.Text.Encoding.ASCII.GetBytes(id));
            }
            else if (failures.Count == 0)
            {
                File.Delete(Record);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failures.Add($"desktopBrowsers: {Record} could not be written ({e.Message})");
        }

        var firefoxResources = Path.Combine(_root, MacBrowserPaths.FirefoxResourcesDirectory);
        if (Directory.Exists(firefoxResources))
        {
            try
            {
                PolicyFiles.ApplyFirefox(request, FirefoxFile, Path.GetDirectoryName(FirefoxFile)!, PolicyFiles.FirefoxRecord(paths), failures, changed);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failures.Add($"desktopBrowsers: Firefox's policy {FirefoxFile} could not be updated ({e.Message})");
            }
        }

        return new BrowserPolicyOutcome(written, failures, changed);
    }

    /// <summary>
    /// The managed preferences of <paramref name="file"/> with Homeroom's entries as <paramref name="request"/> asks
    /// (none for null) and everyone else's kept; true when the file changed. <paramref name="refusal"/> says why a file
    /// was left alone.
    /// </summary>
    private static bool Edit(string file, BrowserPolicyRequest? request, string? previous, out string? refusal)
    {
        refusal = null;
        var id = request?.ExtensionId;
        var content = File.Exists(file) ? File.ReadAllBytes(file) : null;
        var parsed = PlistXml.Dict();
        var existing = content is null ? PlistXml.Existing.Absent : PlistXml.TryRead(content, out parsed);
        XElement root;
        switch (existing)
        {
            case PlistXml.Existing.Binary or PlistXml.Existing.TooLarge:
                // Most likely written by macOS for an installed configuration profile: that profile is the place for the extension.
                refusal = id is null ? null : existing == PlistXml.Existing.Binary
                    ? "is a binary property list (macOS writes these for an installed configuration profile) and is left as it is; give the extension through that profile"
                    : $"is larger than {PlistXml.MaxReadBytes / 1024} KB and is left as it is";
                return false;
            case PlistXml.Existing.Dictionary:
                root = parsed;
                break;
            default:
                // Absent, or malformed: Chrome cannot read a malformed file either, so nothing that works is lost.
                if (id is null && content is not null && !Mentions(content, previous))
                {
                    return false; // not Homeroom's to remove
                }

                root = PlistXml.Dict();
                break;
        }

        var before = new XElement(root);
        var ids = new[] { previous, id }.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        EditForcelist(root, ids, request is { ExtensionId: not null } ? BrowserPolicyContent.ForcelistEntry(request) : null);
        EditThirdParty(root, ids, id, request?.ManagedConfiguration);

        if (!PlistXml.Keys(root).Any())
        {
            return content is not null && PolicyFiles.Remove(file);
        }

        if (existing == PlistXml.Existing.Dictionary && XNode.DeepEquals(before, root))
        {
            return false; // nothing of Homeroom's to change: someone else's file is not even reformatted
        }

        return PolicyFiles.Put(file, Path.GetDirectoryName(file)!, PlistXml.Document(root));
    }

    private static bool Mentions(byte[] content, string? previous) =>
        previous is not null && System.Text.Encoding.UTF8.GetString(content).Contains(previous, StringComparison.Ordinal);

    private static void EditForcelist(XElement root, IReadOnlyList<string> homeroomIds, string? entry)
    {
        var kept = (PlistXml.Get(root, Forcelist) is { Name.LocalName: "array" } list ? list.Elements() : [])
            .Where(e => !(e.Name.LocalName == "string" && homeroomIds.Any(h => e.Value == h || e.Value.StartsWith(h + ";", StringComparison.Ordinal))))
            .Select(e => new XElement(e))
            .ToList();
        if (entry is not null)
        {
            kept.Add(PlistXml.String(entry));
        }

        if (kept.Count == 0)
        {
            PlistXml.Remove(root, Forcelist);
        }
        else
        {
            PlistXml.Set(root, Forcelist, PlistXml.Array(kept));
        }
    }

    private static void EditThirdParty(XElement root, IReadOnlyList<string> homeroomIds, string? id, System.Text.Json.JsonElement? configuration)
    {
        var thirdParty = PlistXml.Get(root, "3rdparty") is { Name.LocalName: "dict" } t ? t : PlistXml.Dict();
        var extensions = PlistXml.Get(thirdParty, "extensions") is { Name.LocalName: "dict" } e ? e : PlistXml.Dict();
        foreach (var homeroom in homeroomIds)
        {
            PlistXml.Remove(extensions, homeroom);
        }

        var values = BrowserPolicyContent.ManagedValues(configuration)
            .Select(v => (v.Key, Value: PlistXml.FromJson(v.Value)))
            .Where(v => v.Value is not null)
            .Select(v => (v.Key, v.Value!))
            .ToList();
        if (id is not null && values.Count > 0)
        {
            PlistXml.Set(extensions, id, PlistXml.Dict(values));
        }

        if (PlistXml.Keys(extensions).Any())
        {
            PlistXml.Set(thirdParty, "extensions", extensions);
        }
        else
        {
            PlistXml.Remove(thirdParty, "extensions");
        }

        if (PlistXml.Keys(thirdParty).Any())
        {
            PlistXml.Set(root, "3rdparty", thirdParty);
        }
        else
        {
            PlistXml.Remove(root, "3rdparty");
        }
    }
}
