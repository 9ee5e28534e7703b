using System.Diagnostics;
using System.Text;
using Homeroom.Contracts.Agents;

namespace Homeroom.Agent.Capabilities.Apps;

/// <summary>The outcome of an install or removal: whether it holds now, and the platform's words either way.</summary>
public sealed record PackageOutcome(bool Ok, string Result);

/// <summary>
/// Installs and removes packages with the platform's own package tool (<c>installPackage</c>,
/// <c>removePackage</c>), and says which executables a package puts on the machine, for blocking.
/// </summary>
public interface IPackagesCapability : ICapability
{
    /// <summary>Installs the package unless it is installed already.</summary>
    Task<PackageOutcome> InstallAsync(string package, CancellationToken cancellationToken);

    /// <summary>Removes the package unless it is not installed.</summary>
    Task<PackageOutcome> RemoveAsync(string package, CancellationToken cancellationToken);

    /// <summary>The executable names (without directory, and without <c>.exe</c>) a blocked package is known by on this machine.</summary>
    IReadOnlyCollection<string> Executables(string package);
}

/// <summary>Where a platform has no package tool this build drives: every request fails with the reason.</summary>
public sealed class UnavailablePackages(string reason) : IPackagesCapability
{
    public IEnumerable<AgentCapability> Describe() => [new(CapabilityNames.AppInstall, false, reason)];

    public Task<PackageOutcome> InstallAsync(string package, CancellationToken cancellationToken) => Task.FromResult(new PackageOutcome(false, reason));

    public Task<PackageOutcome> RemoveAsync(string package, CancellationToken cancellationToken) => Task.FromResult(new PackageOutcome(false, reason));

    public IReadOnlyCollection<string> Executables(string package) => [];
}

/// <summary>A finished run of a package tool: its exit code and the end of what it printed.</summary>
public sealed record ToolRun(int ExitCode, string Output)
{
    /// <summary>The last non-empty lines the tool printed (its error, usually), at most <paramref name="max"/> characters.</summary>
    public string Tail(int max = 600)
    {
        var lines = Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var text = string.Join(" | ", lines.TakeLast(4));
        return text.Length <= max ? text : text[^max..];
    }
}

/// <summary>
/// Runs a package tool to completion with its output captured (bounded) and a time limit; package tools
/// are run directly, never through a shell, with the package identity as one argument after <c>--</c>
/// where the tool takes it.
/// </summary>
public static class PackageTool
{
    private const int MaxOutputChars = 64 * 1024;

    public static async Task<ToolRun> RunAsync(string fileName, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment, TimeSpan limit, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var output = new StringBuilder();
        void Append(object? _, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (output)
            {
                output.Append(e.Data).Append('\n');
                if (output.Length > MaxOutputChars)
                {
                    output.Remove(0, output.Length - MaxOutputChars);
                }
            }
        }

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ToolRun(-1, $"{fileName} could not be started: {e.Message}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return new ToolRun(-1, $"{Path.GetFileName(fileName)} did not finish within {limit.TotalMinutes:0} minutes and was stopped");
        }

        process.WaitForExit(); // drains the redirected output
        lock (output)
        {
            return new ToolRun(process.ExitCode, output.ToString());
        }
    }
}
