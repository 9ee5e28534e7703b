using System.Globalization;
using System.Text.Json;

namespace Homeroom.Bench.Load;

/// <summary>What every benchmark does the same way: read <c>--name value</c> options, describe the machine, and report (a table on the console, JSON in bench/results/).</summary>
public static class BenchReport
{
    /// <summary><c>--name value</c> pairs; a <c>--flag</c> without a value reads "true".</summary>
    public static Dictionary<string, string> ParseArguments(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                options[args[i][2..]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
            }
        }

        return options;
    }

    public static int Int(this Dictionary<string, string> options, string name, int fallback) =>
        options.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>Cores and memory, as the results record them.</summary>
    public static string Machine() =>
        $"{Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1073741824.0:F0} GB";

    /// <summary>The nearest-rank percentile of values sorted ascending (0 when there are none).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, int percentile) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static string Now() => DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture);

    /// <summary>Prints the results as a Markdown table (unless <paramref name="table"/> is false) and writes them as JSON; returns the file.</summary>
    public static async Task<string> WriteAsync(IReadOnlyDictionary<string, object> results, string directory, string name, bool table = true)
    {
        if (table)
        {
            Console.WriteLine();
            Console.WriteLine("| metric | value |");
            Console.WriteLine("| --- | --- |");
            foreach (var (key, value) in results)
            {
                Console.WriteLine($"| {key} | {(value is IEnumerable<double> list ? string.Join(", ", list) : value)} |");
            }
        }

        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        Console.WriteLine($"wrote {file}");
        return file;
    }
}
