using System.Security.Cryptography;
using Homeroom.Agent.Capabilities.Apps;
using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Apple;
using Homeroom.Rules.Apps;

namespace Homeroom.Agent.Capabilities.MacOS;

/// <summary>Where <see cref="MacPackages"/> works and with which tools; tests point every path at a folder of their own.</summary>
/// <param name="WorkDirectory">Root-only folder for downloads and for app bundles on their way out (created 0700).</param>
/// <param name="Root">The file system root the catalog's <c>/Applications/…</c> paths are under (<c>/</c> on a Mac).</param>
/// <param name="Installer">Apple's <c>installer</c>.</param>
/// <param name="Pkgutil">Apple's <c>pkgutil</c>, which keeps the package receipts.</param>
/// <param name="MaxPackageBytes">The largest package downloaded; a larger one is refused before or while it is read.</param>
/// <param name="RequireRoot">Whether installing needs the agent to run as root (as <c>installer -target /</c> does).</param>
public sealed record MacPackageSettings(
    string WorkDirectory, string Root = "/", string Installer = "/usr/sbin/installer", string Pkgutil = "/usr/sbin/pkgutil",
    long MaxPackageBytes = MacPackageSettings.DefaultMaxPackageBytes, bool RequireRoot = true)
{
    /// <summary>4 GiB: larger than the large suites (Office is about 2.5 GB) and still a bound on the disk a download may fill.</summary>
    public const long DefaultMaxPackageBytes = 4L * 1024 * 1024 * 1024;

    /// <summary>The longest a download may take.</summary>
    public static readonly TimeSpan DownloadLimit = TimeSpan.FromHours(1);
}

/// <summary>
/// Packages on macOS: a catalog entry's Mac package is a flat <c>.pkg</c> the server names by its receipt id (the id
/// <c>pkgutil --pkgs</c> lists) with a download URL and SHA-256 (<see cref="PackageSource"/>). Install: unless the receipt
/// exists and this agent recorded installing the package with that SHA-256 (<see cref="InstalledSha256"/>: a new catalog
/// package is installed over the old one, which stays if the new one fails), the package is downloaded over https into a root-only folder (at most <see cref="MacPackageSettings.MaxPackageBytes"/>),
/// its SHA-256 is checked <b>before</b> anything runs (a mismatch deletes it and fails), then <c>installer -pkg … -target /</c>
/// runs and the receipt must exist afterwards. Removal: macOS has no uninstaller for packages, so the app bundle the catalog
/// names (else the ones <c>pkgutil --files</c> lists under /Applications) is moved away (after its bundle id is checked, when
/// the catalog gives one) and deleted, and the receipt is forgotten (<c>pkgutil --forget</c>); other files the package put
/// elsewhere stay. A blocked package's programs are its bundles' executables (<c>CFBundleExecutable</c> and
/// <c>Contents/MacOS/</c>). NEVER RUN ON macOS: written and compiled on Linux, where its logic is tested with a recording
/// command runner and a local https server.
/// </summary>
public sealed class MacPackages(IOsCommandRunner runner, HttpClient http, MacPackageSettings settings) : IPackagesCapability
{
    private static readonly TimeSpan InstallLimit = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan QueryLimit = TimeSpan.FromMinutes(1);
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, HashSet<string>> _bundles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _executables = new(StringComparer.Ordinal);

    public IEnumerable<AgentCapability> Describe()
    {
        if (!File.Exists(settings.Installer) || !File.Exists(settings.Pkgutil))
        {
            yield return new(CapabilityNames.AppInstall, false, "installer or pkgutil was not found");
        }
        else if (settings.RequireRoot && !IsRoot())
        {
            yield return new(CapabilityNames.AppInstall, false, "the agent does not run as root, which installer needs");
        }
        else
        {
            yield return new(CapabilityNames.AppInstall, true);
        }
    }

    public Task<PackageOutcome> InstallAsync(string package, CancellationToken cancellationToken) => InstallAsync(package, PackageSource.None, cancellationToken);

    public Task<PackageOutcome> RemoveAsync(string package, CancellationToken cancellationToken) => RemoveAsync(package, PackageSource.None, cancellationToken);

    public async Task<PackageOutcome> InstallAsync(string package, PackageSource source, CancellationToken cancellationToken)
    {
        if (Refuse(package, source) is { } refusal)
        {
            return refusal;
        }

        if (source.Url is not { } url || source.Sha256 is not { } expected || url.Scheme != Uri.UriSchemeHttps || !AppIdentity.IsSha256(expected))
        {
            return new(false, $"{package}: the install names no https package URL and SHA-256 (the catalog entry has no Mac package)");
        }

        expected = expected.ToLowerInvariant();
        // Installed already only as the catalog has it now: a receipt from another package (the catalog's URL or hash changed,
        // or it was installed some other way) is installed over, and stays until the new package is in place.
        var before = await InfoAsync(package, cancellationToken) is not null;
        if (before && InstalledSha256(package) == expected)
        {
            await LearnAsync(package, source, cancellationToken);
            return new(true, "already installed");
        }

        var kept = before ? "; the package installed before stays" : "";
        var download = await DownloadAsync(package, url, cancellationToken);
        if (download.Failure is { } failure)
        {
            return new(false, failure + kept);
        }

        try
        {
            if (!string.Equals(download.Sha256, expected, StringComparison.Ordinal))
            {
                return new(false, $"the downloaded package's SHA-256 is {download.Sha256}, not the catalog's {expected}: it was deleted and nothing was installed{kept}");
            }

            var run = await runner.RunCapturedAsync(new(settings.Installer, ["-pkg", download.Path!, "-target", "/"], InstallLimit) { Environment = Quiet }, cancellationToken);
            var receipt = await InfoAsync(package, cancellationToken) is not null;
            if (receipt)
            {
                await LearnAsync(package, source, cancellationToken);
            }

            var outcome = MacInstallerResults.Outcome(run, package, receipt);
            if (!outcome.Ok)
            {
                return outcome with { Result = outcome.Result + kept };
            }

            RecordInstalled(package, expected);
            return before ? new(true, $"updated with installer to the package with SHA-256 {expected}") : outcome;
        }
        finally
        {
            TryDelete(download.Path);
        }
    }

    public async Task<PackageOutcome> RemoveAsync(string package, PackageSource source, CancellationToken cancellationToken)
    {
        if (Refuse(package, source) is { } refusal)
        {
            return refusal;
        }

        var info = await InfoAsync(package, cancellationToken);
        var bundles = new SortedSet<string>(StringComparer.Ordinal);
        if (source.AppPath is { } named)
        {
            bundles.Add(named);
        }
        else if (info is not null)
        {
            var files = await runner.RunCapturedAsync(new(settings.Pkgutil, ["--files", package], QueryLimit) { Environment = Quiet, CaptureStandardError = false }, cancellationToken);
            if (files.ExitCode == 0)
            {
                bundles.UnionWith(MacPackageTool.AppBundles(info.Location, files.Output));
            }
        }

        lock (_gate)
        {
            bundles.UnionWith(source.AppPath is null && _bundles.TryGetValue(package, out var known) ? known : []);
        }

        var present = bundles.Where(b => Directory.Exists(Full(b))).ToList();
        if (info is null && present.Count == 0)
        {
            return new(true, "not installed");
        }

        foreach (var bundle in present)
        {
            if (source.BundleId is { } expected && MacBundle.Identifier(Full(bundle)) is var actual && !string.Equals(actual, expected, StringComparison.Ordinal))
            {
                return new(false, $"{bundle} is {actual ?? "an app without a readable bundle id"}, not {expected}: it was left in place");
            }
        }

        Sweep();
        var moved = new List<string>();
        foreach (var bundle in present)
        {
            Remember(package, bundle, MacBundle.Executables(Full(bundle)));
            if (MoveAway(bundle) is { } error)
            {
                return new(false, $"{bundle} could not be moved away: {error}");
            }

            moved.Add(Path.GetFileName(bundle));
        }

        Sweep();
        if (info is not null)
        {
            var forget = await runner.RunCapturedAsync(new(settings.Pkgutil, ["--forget", package], QueryLimit) { Environment = Quiet }, cancellationToken);
            if (forget.ExitCode != 0)
            {
                return new(false, $"{(moved.Count == 0 ? "" : $"moved {string.Join(", ", moved)} away, but ")}pkgutil --forget exited with {forget.ExitCode}: {forget.Tail()}");
            }
        }

        RecordInstalled(package, null);

        var what = moved.Count == 0 ? "no app bundle was on the disk" : $"removed {string.Join(", ", moved)}";
        return new(true, info is null
            ? $"{what}; there was no receipt"
            : $"{what} and forgot the receipt (macOS has no uninstaller for packages: files it put elsewhere stay)");
    }

    /// <summary>The programs of the package's app bundles: those learned while it was installed, and those of the bundles the catalog names that are on the disk now.</summary>
    public IReadOnlyCollection<string> Executables(string package)
    {
        string[] bundles;
        var names = new HashSet<string>(StringComparer.Ordinal);
        lock (_gate)
        {
            bundles = _bundles.TryGetValue(package, out var known) ? [.. known] : [];
            if (_executables.TryGetValue(package, out var learned))
            {
                names.UnionWith(learned);
            }
        }

        foreach (var bundle in bundles)
        {
            names.UnionWith(MacBundle.Executables(Full(bundle)));
        }

        return names;
    }

    public void Locate(string package, string appPath)
    {
        if (AppIdentity.IsMacPackageId(package) && AppIdentity.IsMacAppPath(appPath))
        {
            Remember(package, appPath, []);
        }
    }

    /// <summary>
    /// The SHA-256 of the package this agent last installed under the receipt id (kept in the work folder's <c>installed</c>
    /// folder, root only), or null when it installed none: a receipt says which package id is installed, never which build.
    /// </summary>
    public string? InstalledSha256(string package)
    {
        try
        {
            var file = Path.Combine(settings.WorkDirectory, "installed", package);
            return AppIdentity.IsMacPackageId(package) && File.Exists(file) && File.ReadAllText(file).Trim() is var text && AppIdentity.IsSha256(text)
                ? text.ToLowerInvariant()
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // unreadable: the package is installed again, which is safe
        }
    }

    // Written to a temporary file and moved into place, so a crash never leaves half a hash; null forgets it.
    private void RecordInstalled(string package, string? sha256)
    {
        var file = Path.Combine(Folder("installed"), package);
        try
        {
            if (sha256 is null)
            {
                File.Delete(file);
                return;
            }

            var temporary = $"{file}.{Guid.NewGuid():N}.tmp";
            File.WriteAllText(temporary, sha256);
            File.Move(temporary, file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unrecorded: the next install of this package downloads and installs it again.
        }
    }

    /// <summary>The receipt's version and install location (<c>pkgutil --pkg-info</c>), or null when the package is not installed.</summary>
    internal async Task<MacPackageInfo?> InfoAsync(string package, CancellationToken cancellationToken)
    {
        var run = await runner.RunCapturedAsync(new(settings.Pkgutil, ["--pkg-info", package], QueryLimit) { Environment = Quiet, CaptureStandardError = false }, cancellationToken);
        return run.ExitCode == 0 ? MacPackageTool.ParseInfo(run.Output) is { } info && info.PackageId == package ? info : null : null;
    }

    private static readonly IReadOnlyDictionary<string, string> Quiet = new Dictionary<string, string> { ["LC_ALL"] = "C" };

    private PackageOutcome? Refuse(string package, PackageSource source)
    {
        if (!AppIdentity.IsMacPackageId(package))
        {
            return new(false, $"'{package}' is not a Mac package id");
        }

        if (source.AppPath is { } path && !AppIdentity.IsMacAppPath(path))
        {
            return new(false, $"'{path}' is not an app bundle under /Applications");
        }

        return Describe().First() is { Available: false } unavailable ? new(false, unavailable.Reason ?? "not available") : null;
    }

    // The bundles a package installed, from the catalog or pkgutil's file list, with their programs while they are on the disk.
    private async Task LearnAsync(string package, PackageSource source, CancellationToken cancellationToken)
    {
        var bundles = new List<string>();
        if (source.AppPath is { } named)
        {
            bundles.Add(named);
        }
        else if (await InfoAsync(package, cancellationToken) is { } info)
        {
            var files = await runner.RunCapturedAsync(new(settings.Pkgutil, ["--files", package], QueryLimit) { Environment = Quiet, CaptureStandardError = false }, cancellationToken);
            bundles.AddRange(files.ExitCode == 0 ? MacPackageTool.AppBundles(info.Location, files.Output) : []);
        }

        foreach (var bundle in bundles)
        {
            Remember(package, bundle, MacBundle.Executables(Full(bundle)));
        }
    }

    private void Remember(string package, string bundle, IEnumerable<string> executables)
    {
        lock (_gate)
        {
            if (!_bundles.TryGetValue(package, out var bundles))
            {
                _bundles[package] = bundles = new(StringComparer.Ordinal);
            }

            bundles.Add(bundle);
            if (!_executables.TryGetValue(package, out var names))
            {
                _executables[package] = names = new(StringComparer.Ordinal);
            }

            names.UnionWith(executables);
        }
    }

    private sealed record Download(string? Path, string? Sha256, string? Failure);

    // Streams the package to a root-only file, hashing as it goes; a failure leaves no file behind.
    private async Task<Download> DownloadAsync(string package, Uri url, CancellationToken cancellationToken)
    {
        var folder = Folder("downloads");
        var path = Path.Combine(folder, $"{package}-{Guid.NewGuid():N}.pkg");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(MacPackageSettings.DownloadLimit);
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, limit.Token);
            if (!response.IsSuccessStatusCode)
            {
                return new(null, null, $"downloading {url} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            if (response.Content.Headers.ContentLength > settings.MaxPackageBytes)
            {
                return new(null, null, $"the package at {url} is {response.Content.Headers.ContentLength} bytes, more than the limit of {settings.MaxPackageBytes}: nothing was downloaded");
            }

            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            await using (var body = await response.Content.ReadAsStreamAsync(limit.Token))
            await using (var file = new FileStream(path, options))
            {
                var buffer = new byte[81_920];
                long total = 0;
                int read;
                while ((read = await body.ReadAsync(buffer, limit.Token)) > 0)
                {
                    total += read;
                    if (total > settings.MaxPackageBytes)
                    {
                        TryDelete(path);
                        return new(null, null, $"the package at {url} is larger than the limit of {settings.MaxPackageBytes} bytes: the download was stopped and deleted");
                    }

                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), limit.Token);
                }
            }

            return new(path, Convert.ToHexStringLower(hash.GetHashAndReset()), null);
        }
        catch (Exception e) when ((e is HttpRequestException or IOException or OperationCanceledException) && !cancellationToken.IsCancellationRequested)
        {
            TryDelete(path);
            return new(null, null, $"downloading {url} failed: {(e is OperationCanceledException ? $"it took longer than {MacPackageSettings.DownloadLimit.TotalMinutes:0} minutes" : e.Message)}");
        }
    }

    // A bundle on its way out goes to the work folder first (one rename: it is gone from /Applications at once), then is deleted.
    private string? MoveAway(string bundle)
    {
        var from = Full(bundle);
        var to = Path.Combine(Folder("removed"), $"{Guid.NewGuid():N}-{Path.GetFileName(bundle)}");
        try
        {
            Directory.Move(from, to);
            return null;
        }
        catch (IOException)
        {
            // Another volume: delete it where it is.
        }
        catch (UnauthorizedAccessException e)
        {
            return e.Message;
        }

        try
        {
            Directory.Delete(from, recursive: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    // Bundles moved away and downloads left by an interrupted run: nothing in the work folder outlives the next package command.
    private void Sweep()
    {
        foreach (var name in (string[])["removed", "downloads"])
        {
            var folder = Path.Combine(settings.WorkDirectory, name);
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
            {
                try
                {
                    if (Directory.Exists(entry))
                    {
                        Directory.Delete(entry, recursive: true);
                    }
                    else if (name == "removed")
                    {
                        File.Delete(entry);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Tried again at the next removal.
                }
            }
        }
    }

    private string Folder(string name)
    {
        var folder = Path.Combine(settings.WorkDirectory, name);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(settings.WorkDirectory, OwnerOnly);
            Directory.CreateDirectory(folder, OwnerOnly);
        }

        return folder;
    }

    private string Full(string appPath) => Path.Combine(settings.Root, appPath.TrimStart('/'));

    private static void TryDelete(string? path)
    {
        try
        {
            if (path is not null)
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The next removal's sweep takes it.
        }
    }

    private static bool IsRoot() => Environment.UserName == "root" || (!OperatingSystem.IsWindows() && State.UnixFileOwnership.EffectiveUserId == 0);
}

/// <summary>A package receipt as <c>pkgutil --pkg-info</c> prints it.</summary>
/// <param name="PackageId">The receipt id.</param>
/// <param name="Version">The package's version, when it gives one.</param>
/// <param name="Location">Where its files' paths start, relative to the volume (<c>/</c> or empty for the root, <c>Applications</c>).</param>
public sealed record MacPackageInfo(string PackageId, string? Version, string Location);

/// <summary>Reads what <c>pkgutil</c> prints (pure, so tested on any OS).</summary>
public static class MacPackageTool
{
    /// <summary>The receipt ids of <c>pkgutil --pkgs</c>, one a line; lines that are not package ids are skipped.</summary>
    public static IReadOnlyList<string> ParsePackageIds(string output) =>
        [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(AppIdentity.IsMacPackageId).Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// <c>pkgutil --pkg-info</c>: <c>package-id: …</c>, <c>version: …</c>, <c>volume: /</c>, <c>location: …</c>,
    /// <c>install-time: …</c>, one a line; null without a valid package id.
    /// </summary>
    public static MacPackageInfo? ParseInfo(string output)
    {
        string? id = null, version = null, location = null;
        foreach (var line in output.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var value = line[(colon + 1)..].Trim();
            switch (line[..colon].Trim())
            {
                case "package-id":
                    id ??= value;
                    break;
                case "version":
                    version ??= value.Length is > 0 and <= ProtocolLimits.MaxShortText ? value : null;
                    break;
                case "location":
                    location ??= value;
                    break;
            }
        }

        return AppIdentity.IsMacPackageId(id) ? new(id!, version, location ?? "") : null;
    }

    /// <summary>
    /// The app bundles among a receipt's files (<c>pkgutil --files</c>: paths relative to its install location): the
    /// outermost <c>.app</c> folders that end up under /Applications, as absolute paths.
    /// </summary>
    public static IReadOnlyList<string> AppBundles(string location, string filesOutput)
    {
        var prefix = "/" + location.Trim('/');
        var bundles = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in filesOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var path = (prefix == "/" ? "" : prefix) + "/" + line.TrimStart('/');
            var app = path.IndexOf(".app/", StringComparison.Ordinal) is var end and >= 0 ? path[..(end + 4)] : path;
            if (app.EndsWith(".app", StringComparison.Ordinal) && AppIdentity.IsMacAppPath(app))
            {
                bundles.Add(app);
            }
        }

        return [.. bundles];
    }
}

/// <summary>What an app bundle says about itself: its id and its programs.</summary>
public static class MacBundle
{
    private static readonly PropertyListLimits Limits = PropertyListLimits.ForDocument(1024 * 1024);

    /// <summary>The bundle's <c>CFBundleIdentifier</c> from <c>Contents/Info.plist</c> (XML or binary), or null when unreadable.</summary>
    public static string? Identifier(string bundle) => Info(bundle)?.GetValueOrDefault("CFBundleIdentifier") as string;

    /// <summary>The bundle's programs: <c>CFBundleExecutable</c> and the files directly in <c>Contents/MacOS/</c>, by file name.</summary>
    public static IReadOnlyCollection<string> Executables(string bundle)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (Info(bundle)?.GetValueOrDefault("CFBundleExecutable") is string main && main.Length > 0 && !main.Contains('/', StringComparison.Ordinal))
        {
            names.Add(main);
        }

        var programs = Path.Combine(bundle, "Contents", "MacOS");
        try
        {
            if (Directory.Exists(programs))
            {
                names.UnionWith(Directory.EnumerateFiles(programs).Select(f => Path.GetFileName(f)).Take(100));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unreadable: what Info.plist names is still known.
        }

        return names;
    }

    private static Dictionary<string, object>? Info(string bundle)
    {
        var file = Path.Combine(bundle, "Contents", "Info.plist");
        try
        {
            return File.Exists(file) && new FileInfo(file).Length <= Limits.MaxBytes ? PropertyList.ReadDictionary(File.ReadAllBytes(file), Limits) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PropertyListException)
        {
            return null;
        }
    }
}

/// <summary>
/// What <c>installer</c>'s exit code and words mean: 0 with the receipt in place is installed; 0 without it means the
/// catalog's package id is not the one this package installs; anything else fails with installer's own error line
/// (<c>installer: Error - …</c> or <c>installer: The install failed. (…)</c>).
/// </summary>
public static class MacInstallerResults
{
    public static PackageOutcome Outcome(ToolRun run, string package, bool receipt)
    {
        if (!run.Finished)
        {
            return new(false, $"installer did not finish: {run.Output}");
        }

        if (run.ExitCode == 0)
        {
            return receipt
                ? new(true, "installed with installer")
                : new(false, $"installer finished, but pkgutil has no receipt {package}: the package installs under another package id than the catalog's");
        }

        return new(false, $"installer exited with {run.ExitCode}: {Reason(run.Output) ?? run.Tail()}");
    }

    /// <summary>installer's error line without its <c>installer:</c> prefix, or null when it printed none.</summary>
    public static string? Reason(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.StartsWith("installer:", StringComparison.Ordinal) ? l["installer:".Length..].Trim() : l)
            .ToList();
        var reason = lines.LastOrDefault(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("The install failed", StringComparison.Ordinal)
            || l.StartsWith("The upgrade failed", StringComparison.Ordinal));
        return reason is { Length: > 600 } ? reason[..600] : reason;
    }
}
