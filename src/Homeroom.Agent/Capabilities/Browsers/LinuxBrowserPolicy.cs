using System.Runtime.Versioning;
using Homeroom.Agent.State;

namespace Homeroom.Agent.Capabilities.Browsers;

/// <summary>Where the browsers read machine policy on Linux, relative to the root (also named in the systemd unit).</summary>
public static class LinuxBrowserPaths
{
    /// <summary>Each Chrome-family browser's policy directory (its <c>managed</c> subdirectory holds the file), relative to the root.</summary>
    public static readonly IReadOnlyList<(string Browser, string PolicyDirectory)> ChromiumBrowsers =
    [
        ("Google Chrome", "etc/opt/chrome/policies"),
        ("Chromium", "etc/chromium/policies"),
        ("Microsoft Edge", "etc/opt/edge/policies"),
    ];

    /// <summary>Firefox's policy directory, relative to the root.</summary>
    public const string FirefoxPolicyDirectory = "etc/firefox/policies";

    /// <summary>Homeroom's file name in each Chrome-family <c>managed</c> directory.</summary>
    public const string ChromiumFileName = "homeroom.json";
}

/// <summary>
/// Linux: Homeroom's own managed policy file for each Chrome-family browser (Google Chrome, Chromium, Microsoft Edge;
/// written whether or not the browser is installed yet, so one installed later starts with it), and Firefox's
/// <c>policies.json</c> when a Firefox add-on is asked for. Every path is under <see cref="AgentOptions.BrowserPolicyRoot"/>
/// (<c>/</c> on a device). Files are written atomically (a temporary file beside the policy directory, then a rename),
/// mode 0644 (browsers run as the student), only when their content changes, and removed when the policy no longer asks.
/// <para>
/// Firefox reads one <c>policies.json</c>, which someone else may have written. Homeroom writes it only when it is
/// absent or is byte for byte what Homeroom last wrote there (its SHA-256 is kept in the state directory), and removes
/// only such a file; any other file is left as it is and reported as a failure.
/// </para>
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class LinuxBrowserPolicy(AgentOptions options, AgentPaths paths) : BrowserPolicyBase
{
    private readonly string _root = Path.GetFullPath(options.BrowserPolicyRoot);

    private string FirefoxRecord => PolicyFiles.FirefoxRecord(paths);

    /// <summary>The file Chrome, Chromium or Edge reads Homeroom's policy from.</summary>
    public string ChromiumFile(string policyDirectory) => Path.Combine(_root, policyDirectory, "managed", LinuxBrowserPaths.ChromiumFileName);

    /// <summary>Firefox's policies file.</summary>
    public string FirefoxFile => Path.Combine(_root, LinuxBrowserPaths.FirefoxPolicyDirectory, "policies.json");

    protected override string? Unavailable() =>
        _root == "/" && !Environment.IsPrivilegedProcess ? "writing browser policy in /etc needs root; the agent is not running as root" : null;

    protected override BrowserPolicyOutcome Write(BrowserPolicyRequest? request)
    {
        var failures = new List<string>();
        var changed = new List<string>();
        var chromium = BrowserPolicyContent.ChromiumPolicyFile(request);
        var written = chromium is not null;
        foreach (var (browser, directory) in LinuxBrowserPaths.ChromiumBrowsers)
        {
            var file = ChromiumFile(directory);
            try
            {
                if (chromium is null ? PolicyFiles.Remove(file) : PolicyFiles.Put(file, Path.Combine(_root, directory), chromium))
                {
                    changed.Add(file);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                written = false;
                failures.Add($"desktopBrowsers: {browser}'s policy {file} could not be {(chromium is null ? "removed" : "written")} ({e.Message})");
            }
        }

        try
        {
            PolicyFiles.ApplyFirefox(request, FirefoxFile, Path.Combine(_root, LinuxBrowserPaths.FirefoxPolicyDirectory), FirefoxRecord, failures, changed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failures.Add($"desktopBrowsers: Firefox's policy {FirefoxFile} could not be updated ({e.Message})");
        }

        return new BrowserPolicyOutcome(written, failures, changed);
    }
}
