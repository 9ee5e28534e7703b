// Zone outline benchmark. The GeoJSON check of an uploaded zone must stay fast for the largest and
// most awkward outlines it accepts (and refuse the ones it cannot check quickly), because it runs in
// the request. Times each outline several times (median and worst), then point-in-zone lookups per
// second on the largest accepted outline. Prints a table and writes JSON to bench/results/.
//   bench/zones/run.sh [--runs 5]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Homeroom.Bench.Load;
using Homeroom.Rules.Zones;

var options = BenchReport.ParseArguments(args);
var runs = options.Int("runs", 5);
var resultsDir = options.GetValueOrDefault("results", "bench/results");
var results = new Dictionary<string, object> { ["machine"] = BenchReport.Machine(), ["at"] = BenchReport.Now(), ["runs"] = runs };

var max = GeoJsonZones.MaxPositions;
(string Key, string Name, GeoPoint[] Ring, bool Accepted)[] outlines =
[
    ("round_ring", "round ring", Outlines.RoundRing(max), true),
    ("sawtooth_flat", "sawtooth, flat", Outlines.Sawtooth(max, shear: 0, upright: false), true),
    ("sawtooth_upright", "sawtooth, upright", Outlines.Sawtooth(max, shear: 0, upright: true), true),
    ("diagonal_comb", "comb of long diagonal teeth", Outlines.Sawtooth(max, shear: 2, upright: false), false),
];

Console.WriteLine($"Zone outlines of {max:N0} positions, {runs} runs each ({BenchReport.Machine()})");
Console.WriteLine();
Console.WriteLine("| outline | result | median ms | worst ms |");
Console.WriteLine("| --- | --- | ---: | ---: |");
ZoneShape? largest = null;
foreach (var (key, name, ring, accepted) in outlines)
{
    var json = Outlines.Polygon(ring);
    var times = new List<double>();
    ZoneParseResult? last = null;
    for (var run = 0; run <= runs; run++)
    {
        using var document = JsonDocument.Parse(json);
        var watch = Stopwatch.StartNew();
        last = GeoJsonZones.Parse(document.RootElement);
        watch.Stop();
        if (run > 0)
        {
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
    }

    if ((last!.Shape is not null) != accepted)
    {
        throw new InvalidOperationException($"{name}: expected {(accepted ? "accepted" : "refused")}, got {string.Join("; ", last.Errors)}");
    }

    largest ??= last.Shape;
    times.Sort();
    var median = times[times.Count / 2];
    var worst = times[^1];
    Console.WriteLine($"| {name} | {(accepted ? "accepted" : "refused")} | {median:F1} | {worst:F1} |");
    results[key + "_median_ms"] = Math.Round(median, 2);
    results[key + "_worst_ms"] = Math.Round(worst, 2);
}

// Lookups: random points in and around the largest accepted outline.
var random = new Random(1);
var points = Enumerable.Range(0, 100_000)
    .Select(_ => new GeoPoint(-122.3 + ((random.NextDouble() - 0.5) * 0.008), 47.6 + ((random.NextDouble() - 0.5) * 0.006)))
    .ToArray();
var lookups = 0L;
var inside = 0L;
var clock = Stopwatch.StartNew();
while (clock.Elapsed < TimeSpan.FromSeconds(2))
{
    foreach (var point in points)
    {
        inside += largest!.Contains(point) ? 1 : 0;
    }

    lookups += points.Length;
}

var perSecond = lookups / clock.Elapsed.TotalSeconds;
Console.WriteLine();
Console.WriteLine($"Point-in-zone on the round ring of {max:N0} positions: {perSecond:N0} lookups a second on one core ({100.0 * inside / lookups:F0} % inside)");
results["round_ring_lookups_per_second"] = Math.Round(perSecond);
await BenchReport.WriteAsync(results, resultsDir, "zones", table: false);

/// <summary>The outlines the zone tests use, written again here: the bench does not reference tests.</summary>
internal static class Outlines
{
    public static GeoPoint[] RoundRing(int positions)
    {
        var ring = new GeoPoint[positions];
        for (var i = 0; i < positions - 1; i++)
        {
            var angle = 2 * Math.PI * i / (positions - 1);
            ring[i] = new GeoPoint(-122.3 + (0.003 * Math.Cos(angle)), 47.6 + (0.002 * Math.Sin(angle)));
        }

        ring[^1] = ring[0];
        return ring;
    }

    /// <summary>Teeth 0.001° tall and 0.4 m apart across the campus; <paramref name="shear"/> leans them east; <paramref name="upright"/> turns the whole outline a quarter.</summary>
    public static GeoPoint[] Sawtooth(int positions, double shear, bool upright)
    {
        const double west = -122.302, south = 47.599, height = 0.001, spacing = 0.000005;
        var teeth = positions - 3;
        var ring = new GeoPoint[positions];
        for (var k = 0; k < teeth; k++)
        {
            var up = k % 2 == 1 ? height : 0;
            ring[k] = new GeoPoint(west + (k * spacing) + (up * shear), south + up);
        }

        ring[teeth] = new GeoPoint(ring[teeth - 1].Longitude, south - 0.0005);
        ring[teeth + 1] = new GeoPoint(west, south - 0.0005);
        ring[teeth + 2] = ring[0];
        return upright ? [.. ring.Select(p => new GeoPoint(-122.3 + (p.Latitude - 47.6), 47.6 + (p.Longitude + 122.3)))] : ring;
    }

    public static string Polygon(GeoPoint[] ring)
    {
        var text = new StringBuilder("""{"type":"Polygon","coordinates":[[""");
        for (var i = 0; i < ring.Length; i++)
        {
            text.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $"[{ring[i].Longitude:R},{ring[i].Latitude:R}]");
        }

        return text.Append("]]}").ToString();
    }
}
