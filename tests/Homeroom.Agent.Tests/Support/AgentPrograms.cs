using System.Diagnostics;
using Homeroom.Rules.Tests;

namespace Homeroom.Agent.Tests.Support;

/// <summary>
/// The agent program as a release builds it, made once per test process and shared by the tests that run the real
/// program: <c>scripts/package-agent.sh</c> for linux-x64 at <see cref="PackageVersion"/> (the Native AOT program,
/// the .deb and the checksums), and the program published again at <see cref="UpdateVersion"/> as a self-update's
/// new build. The update is the self-contained single file (the form of the Windows and macOS builds), not a second
/// AOT compilation: a self-update replaces the program whatever its form, and one AOT compile is the slow part of
/// the suite's builds. The second publish waits for the first: both use the agent's own obj folder for linux-x64.
/// </summary>
public static class AgentPrograms
{
    public const string PackageVersion = "1.0.0";

    public const string UpdateVersion = "2.0.0";

    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);
    private static readonly string Root = CreateRoot();
    private static readonly Lazy<Task<string>> Package = new(PackageAsync);
    private static readonly Lazy<Task<string>> Update = new(PublishUpdateAsync);

    /// <summary>The package script's output folder: <c>linux-x64/homeroom-agent</c>, the .deb and <c>SHA256SUMS</c>.</summary>
    public static Task<string> PackageOutputAsync() => Package.Value;

    /// <summary>The packaged single file (<see cref="PackageVersion"/>).</summary>
    public static async Task<string> PackagedProgramAsync() => Path.Combine(await Package.Value, "linux-x64", "homeroom-agent");

    /// <summary>The same program at <see cref="UpdateVersion"/>.</summary>
    public static Task<string> UpdateProgramAsync() => Update.Value;

    /// <summary>Runs a program to its end (killed past <paramref name="timeout"/>) without the test host's DOTNET_ROOT; its exit code and output.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string program, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("DOTNET_ROOT");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string CreateRoot()
    {
        var root = Directory.CreateTempSubdirectory("homeroom-agent-builds-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // A program still running from it; the temporary folder is the system's to clear.
            }
        };
        return root;
    }

    private static async Task<string> PackageAsync()
    {
        var output = Path.Combine(Root, "package");
        var (code, log) = await RunAsync("bash", BuildTimeout, Path.Combine(SharedData.RepositoryRoot(), "scripts", "package-agent.sh"),
            "--out", output, "--version", PackageVersion, "--rid", "linux-x64", "--no-msi");
        if (code != 0)
        {
            throw new InvalidOperationException($"scripts/package-agent.sh failed ({code}):\n{log}");
        }

        return output;
    }

    private static async Task<string> PublishUpdateAsync()
    {
        await Package.Value;
        var output = Path.Combine(Root, UpdateVersion);
        // The flags scripts/package-agent.sh publishes the single files (win-x64, osx-*) with, for linux-x64 at another version.
        var (code, log) = await RunAsync("dotnet", BuildTimeout,
            "publish", Path.Combine(SharedData.RepositoryRoot(), "src", "Homeroom.Agent"), "-c", "Release", "-r", "linux-x64", "--self-contained",
            "-p:PublishSingleFile=true", "-p:IncludeNativeLibrariesForSelfExtract=true", "-p:DebugType=none",
            "-p:PublishDocumentationFile=false", "-p:PublishReferencesDocumentationFiles=false", $"-p:Version={UpdateVersion}",
            "-o", output, "--nologo", "-v", "quiet", "-clp:ErrorsOnly");
        if (code != 0)
        {
            throw new InvalidOperationException($"dotnet publish of the update failed ({code}):\n{log}");
        }

        return Path.Combine(output, "homeroom-agent");
    }
}
