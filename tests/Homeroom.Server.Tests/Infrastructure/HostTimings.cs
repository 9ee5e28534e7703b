using System.Diagnostics;
using System.Globalization;
using Homeroom.Server.Data;

namespace Homeroom.Server.Tests.Infrastructure;

/// <summary>
/// Where a test host's start and stop spend their time, one line per host appended to the file named by
/// HOMEROOM_TEST_TIMINGS (unset: nothing is measured or written). Used to find what makes the suite slow.
/// </summary>
public sealed class HostTimings
{
    private static readonly string? Path = Environment.GetEnvironmentVariable("HOMEROOM_TEST_TIMINGS");
    private static readonly Lock WriteLock = new();
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly List<string> _laps = [];

    public static HostTimings Start() => new();

    public void Lap(string phase)
    {
        if (Path is not null)
        {
            _laps.Add(string.Create(CultureInfo.InvariantCulture, $"{phase}={_watch.Elapsed.TotalMilliseconds:F0}"));
            _watch.Restart();
        }
    }

    public void Write(DatabaseProvider provider)
    {
        if (Path is null)
        {
            return;
        }

        lock (WriteLock)
        {
            File.AppendAllText(Path, $"{provider} {string.Join(' ', _laps)}{Environment.NewLine}");
        }
    }
}
