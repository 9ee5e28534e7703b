namespace Homeroom.Rules.Tests;

/// <summary>
/// The data the project is not allowed to copy (UT1 lists, Apple's schemas) lives in <c>../shared</c>
/// beside the repository. Found from the repository root, or from HOMEROOM_SHARED_DATA.
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

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Homeroom.slnx")))
            {
                var path = Path.Combine(dir.FullName, "..", "shared", relative);
                if (!Path.Exists(path))
                {
                    throw new DirectoryNotFoundException($"Test data '{relative}' is expected in ../shared beside the repository ({Path.GetFullPath(path)}).");
                }

                return Path.GetFullPath(path);
            }
        }

        throw new DirectoryNotFoundException("The repository root (Homeroom.slnx) was not found above the test binaries.");
    }
}
