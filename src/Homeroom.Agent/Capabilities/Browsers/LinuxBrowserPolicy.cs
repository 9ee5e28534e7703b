using System.Runtime.Versioning;
using System.Security.Cryptography;
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
    private const UnixFileMode FileMode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode DirectoryMode0755 = FileMode0644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly string _root = Path.GetFullPath(options.BrowserPolicyRoot);

    /// <summary>The SHA-256 of the Firefox policies file Homeroom last wrote (absent: Homeroom owns none).</summary>
    private string FirefoxRecord => Path.Combine(paths.StateDirectory, "firefox-policies.sha256");

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
                if (chromium is null ? Remove(file) : Put(file, Path.Combine(_root, directory), chromium))
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
            ApplyFirefox(request, failures, changed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failures.Add($"desktopBrowsers: Firefox's policy {FirefoxFile} could not be updated ({e.Message})");
        }

        return new BrowserPolicyOutcome(written, failures, changed);
    }

    private void ApplyFirefox(BrowserPolicyRequest? request, List<string> failures, List<string> changed)
    {
        var wanted = BrowserPolicyContent.FirefoxPoliciesFile(request);
        if (request is { FirefoxAddonId: not null, FirefoxInstallUrl: null })
        {
            failures.Add("desktopBrowsers.firefoxInstallUrl: empty, so Firefox is not given the add-on");
        }

        var file = FirefoxFile;
        var existing = File.Exists(file) ? File.ReadAllBytes(file) : null;
        var recorded = File.Exists(FirefoxRecord) ? File.ReadAllText(FirefoxRecord).Trim() : null;
        var ours = existing is not null && recorded is not null && Convert.ToHexStringLower(SHA256.HashData(existing)) == recorded;
        if (existing is not null && !ours)
        {
            if (wanted is not null)
            {
                failures.Add($"desktopBrowsers: Firefox is not given the add-on: {file} was not written by Homeroom and is left as it is (add the add-on to its ExtensionSettings)");
            }

            return; // someone else's file: never changed, never removed
        }

        if (wanted is null)
        {
            if (ours && Remove(file))
            {
                changed.Add(file);
            }

            File.Delete(FirefoxRecord);
            return;
        }

        // The record first: a crash between the two leaves a record of a file that is not there yet, which is harmless.
        AgentPaths.WriteAtomically(FirefoxRecord, System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(wanted))));
        if (Put(file, Path.Combine(_root, LinuxBrowserPaths.FirefoxPolicyDirectory), wanted))
        {
            changed.Add(file);
        }
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="file"/> unless it holds it already; true when written.</summary>
    private static bool Put(string file, string temporaryDirectory, byte[] content)
    {
        if (File.Exists(file) && File.ReadAllBytes(file).AsSpan().SequenceEqual(content))
        {
            return false;
        }

        CreateDirectories(Path.GetDirectoryName(file)!);
        // Beside the watched directory (Chrome reads every file in managed/), on the same file system so the rename is atomic.
        var temporary = Path.Combine(temporaryDirectory, $".homeroom-{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write }))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            // Explicitly: the service's umask (0077) would leave it unreadable to the browsers, which run as the student.
            File.SetUnixFileMode(temporary, FileMode0644);
            File.Move(temporary, file, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }

        return true;
    }

    private static bool Remove(string file)
    {
        if (!File.Exists(file))
        {
            return false;
        }

        File.Delete(file);
        return true;
    }

    private static void CreateDirectories(string directory)
    {
        if (Directory.Exists(directory))
        {
            return;
        }

        CreateDirectories(Path.GetDirectoryName(directory)!);
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, DirectoryMode0755);
    }
}
