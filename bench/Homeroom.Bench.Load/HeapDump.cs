using System.Diagnostics;

namespace Homeroom.Bench.Load;

/// <summary>
/// A heap dump of the server under test with <c>dotnet-gcdump</c> (installed as a global tool on first use), and its
/// report's largest types: where the server's memory per device goes. The dump file stays next to the results.
/// </summary>
public static class HeapDump
{
    private const string Version = "10.0.750501";

    public static async Task<string> CollectAsync(int processId, string resultsDirectory, string name)
    {
        var tool = await FindToolAsync();
        Directory.CreateDirectory(resultsDirectory);
        var file = Path.GetFullPath(Path.Combine(resultsDirectory, $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.gcdump"));
        var (collected, collectOutput) = await RunAsync(tool, ["collect", "-p", processId.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", file]);
        if (!collected)
        {
            Console.WriteLine($"gcdump: collect failed: {collectOutput}");
            return "failed: " + collectOutput.Trim();
        }

        var (reported, report) = await RunAsync(tool, ["report", file]);
        var top = report.Split('\n').Where(l => l.Trim().Length > 0).Take(40).ToList();
        Console.WriteLine($"gcdump: {file}");
        foreach (var line in top)
        {
            Console.WriteLine("  " + line.TrimEnd());
        }

        return reported ? Path.GetFileName(file) : $"{Path.GetFileName(file)} (report failed)";
    }

    private static async Task<string> FindToolAsync()
    {
        var home = Environment.GetEnvironmentVariable("HOME") ?? "/root";
        var tool = Path.Combine(home, ".dotnet", "tools", "dotnet-gcdump");
        if (!File.Exists(tool))
        {
            var (installed, output) = await RunAsync("dotnet", ["tool", "install", "-g", "dotnet-gcdump", "--version", Version]);
            if (!installed)
            {
                throw new InvalidOperationException($"dotnet-gcdump could not be installed: {output}");
            }
        }

        return tool;
    }

    private static async Task<(bool Ok, string Output)> RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode == 0, await output + await error);
    }
}
