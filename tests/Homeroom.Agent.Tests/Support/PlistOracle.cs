using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Homeroom.Agent.Tests.Support;

/// <summary>
/// Reads a property list with Python's <c>plistlib</c>, a parser the agent's code has nothing to do with, and gives
/// it back as JSON (booleans, integers and strings as JSON's own), so a test compares what Apple's format holds,
/// not what the agent's writer meant.
/// </summary>
public static class PlistOracle
{
    private const string Script = """
        import json, plistlib, sys
        with open(sys.argv[1], "rb") as f:
            value = plistlib.load(f, fmt=plistlib.FMT_XML)
        print(json.dumps(value))
        """;

    public static async Task<JsonNode> ReadAsync(string file)
    {
        File.Exists("/usr/bin/python3").ShouldBeTrue("python3 reads the property list");
        var start = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var part in (string[])["-c", Script, file])
        {
            start.ArgumentList.Add(part);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var error = await process.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        process.ExitCode.ShouldBe(0, error);
        return JsonNode.Parse(output)!;
    }
}
