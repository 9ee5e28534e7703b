using System.Diagnostics;

namespace Homeroom.Agent.Tests.Support;

/// <summary>
/// A real Debian package built for a test with <c>dpkg-deb --build</c>: one program (a copy of
/// <c>sleep</c>, so it runs as a file of its own name) in <c>/usr/bin</c>. Disposing removes it from
/// this machine if a test left it installed.
/// </summary>
public sealed class TestPackage : IAsyncDisposable
{
    private TestPackage(string name, string deb, string program) => (Name, Deb, Program) = (name, deb, program);

    /// <summary>The package name (unique per test).</summary>
    public string Name { get; }

    /// <summary>The built <c>.deb</c>, named as the agent's package directory expects.</summary>
    public string Deb { get; }

    /// <summary>The program's file name (in <c>/usr/bin</c> once installed).</summary>
    public string Program { get; }

    /// <summary>Builds the package's <paramref name="version"/>; give <paramref name="name"/> to build another version of one built before.</summary>
    public static async Task<TestPackage> BuildAsync(string packageDirectory, string version = "1.0", string? name = null)
    {
        name ??= "homeroom-test-" + Guid.NewGuid().ToString("N")[..10];
        var program = name + "-run";
        var root = Path.Combine(Path.GetTempPath(), "pkgroot-" + name);
        Directory.CreateDirectory(Path.Combine(root, "DEBIAN"));
        Directory.CreateDirectory(Path.Combine(root, "usr", "bin"));
        var binary = Path.Combine(root, "usr", "bin", program);
        File.Copy("/bin/sleep", binary);
        File.SetUnixFileMode(binary, (UnixFileMode)Convert.ToInt32("755", 8));
        await File.WriteAllTextAsync(Path.Combine(root, "DEBIAN", "control"),
            $"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: Homeroom tests <tests@example.org>\nDescription: Homeroom agent test package\n");
        Directory.CreateDirectory(packageDirectory);
        var deb = Path.Combine(packageDirectory, $"{name}_{version}_all.deb");
        (await RunAsync("dpkg-deb", "--build", "--root-owner-group", root, deb)).ShouldBe(0);
        Directory.Delete(root, recursive: true);
        return new TestPackage(name, deb, program);
    }

    /// <summary>The installed version, as dpkg says (null when not installed).</summary>
    public async Task<string?> InstalledVersionAsync()
    {
        var start = new ProcessStartInfo("dpkg-query", ["-W", "-f=${db:Status-Abbrev} ${Version}", Name]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return process.ExitCode == 0 && output.StartsWith("ii", StringComparison.Ordinal) ? output.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1] : null;
    }

    /// <summary>dpkg's own answer, not the agent's.</summary>
    public async Task<bool> IsInstalledAsync()
    {
        var start = new ProcessStartInfo("dpkg-query", ["-W", "-f=${db:Status-Abbrev}", Name]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return process.ExitCode == 0 && output.StartsWith("ii", StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        if (await IsInstalledAsync())
        {
            await RunAsync("dpkg", "--purge", Name);
        }
    }

    internal static async Task<int> RunAsync(string file, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        await Task.WhenAll(output, error);
        return process.ExitCode;
    }
}
