namespace Homeroom.Rules.Tests;

/// <summary>
/// The data the project may not copy (UT1 lists, Apple's schemas) lives in <c>../shared</c> beside
/// the repository. A clean clone elsewhere (CI clones to a temporary folder) finds it beside the
/// repository it was cloned from, read from the clone's <c>origin</c>; HOMEROOM_SHARED_DATA overrides both.
/// </summary>
public static class SharedData
{
    public static string PathOf(string relative)
    {
        var configured = Environment.GetEnvironmentVariable("HOMEROOM_SHARED_DATA");
        if (!string.IsNullOrEmpty(configured))
        {
            return Path.Combine(configured, relative);
        }

        var root = RepositoryRoot();
        var candidates = new List<string> { Path.Combine(root, "..", "shared") };
        if (OriginPath(root) is { } origin)
        {
            candidates.Add(Path.Combine(origin, "..", "shared"));
        }

        foreach (var candidate in candidates)
        {
            var path = Path.GetFullPath(Path.Combine(candidate, relative));
            if (Path.Exists(path))
            {
                return path;
            }
        }

        throw new DirectoryNotFoundException(
            $"Test data '{relative}' is expected in ../shared beside the repository (looked in {string.Join(", ", candidates.Select(Path.GetFullPath))}); set HOMEROOM_SHARED_DATA to its folder.");
    }

    /// <summary>The checkout the tests run from (the folder holding Homeroom.slnx).</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Homeroom.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("The repository root (Homeroom.slnx) was not found above the test binaries.");
    }

    // The local folder this checkout was cloned from, when it was cloned from a folder.
    private static string? OriginPath(string root)
    {
        var config = Path.Combine(root, ".git", "config");
        if (!File.Exists(config))
        {
            return null;
        }

        var inOrigin = false;
        foreach (var raw in File.ReadLines(config))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                inOrigin = line == "[remote \"origin\"]";
            }
            else if (inOrigin && line.StartsWith("url", StringComparison.Ordinal) && line.IndexOf('=') is var eq and > 0)
            {
                var url = line[(eq + 1)..].Trim();
                if (url.StartsWith("file://", StringComparison.Ordinal))
                {
                    url = url["file://".Length..];
                }

                return Path.IsPathRooted(url) && Directory.Exists(url) ? url : null;
            }
        }

        return null;
    }
}
