using System.Runtime.Versioning;
using System.Security.Cryptography;
using Homeroom.Agent.State;

namespace Homeroom.Agent.Capabilities.Browsers;

/// <summary>
/// The file writing the Linux and macOS browser policies share: whole files written atomically and only when their
/// content changes, mode 0644 (the browsers run as the student), and Firefox's <c>policies.json</c>, which may be
/// someone else's (<see cref="ApplyFirefox"/>).
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class PolicyFiles
{
    private const UnixFileMode FileMode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode DirectoryMode0755 = FileMode0644 | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>The SHA-256 of the Firefox policies file Homeroom last wrote (absent: Homeroom owns none).</summary>
    public static string FirefoxRecord(AgentPaths paths) => Path.Combine(paths.StateDirectory, "firefox-policies.sha256");

    /// <summary>
    /// Firefox's <c>policies.json</c> at <paramref name="file"/>: written when absent or byte for byte what Homeroom last
    /// wrote (its hash in <paramref name="record"/>), removed only then; any other file, malformed or not, is left as it is.
    /// </summary>
    public static void ApplyFirefox(BrowserPolicyRequest? request, string file, string temporaryDirectory, string record, List<string> failures, List<string> changed)
    {
        var wanted = BrowserPolicyContent.FirefoxPoliciesFile(request);
        if (request is { FirefoxAddonId: not null, FirefoxInstallUrl: null })
        {
            failures.Add("desktopBrowsers.firefoxInstallUrl: empty, so Firefox is not given the add-on");
        }

        var existing = File.Exists(file) ? File.ReadAllBytes(file) : null;
        var recorded = File.Exists(record) ? File.ReadAllText(record).Trim() : null;
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

            File.Delete(record);
            return;
        }

        // The record first: a crash between the two leaves a record of a file that is not there yet, which is harmless.
        AgentPaths.WriteAtomically(record, System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(SHA256.HashData(wanted))));
        if (Put(file, temporaryDirectory, wanted))
        {
            changed.Add(file);
        }
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="file"/> unless it holds it already; true when written.</summary>
    public static bool Put(string file, string temporaryDirectory, byte[] content)
    {
        if (File.Exists(file) && File.ReadAllBytes(file).AsSpan().SequenceEqual(content))
        {
            return false;
        }

        CreateDirectories(Path.GetDirectoryName(file)!);
        CreateDirectories(temporaryDirectory);
        // Beside the watched directory (Chrome reads every file in managed/), on the same file system so the rename is atomic.
        AgentPaths.WriteReadableAtomically(file, temporaryDirectory, content);
        return true;
    }

    public static bool Remove(string file)
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
