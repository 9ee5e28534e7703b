// Safety scan benchmark: MB/s on one core over generated student text (searches, chat lines, page titles, a
// small share concerning) with a lexicon of 10,000 entries in English and Spanish, normalisation included,
// against a straightforward implementation (lower-casing plus one compiled Regex alternation with \b).
// Also the time to build the lexicon and the scanner. Prints a table; JSON goes to bench/results/.
//   bench/safety/run.sh [--entries 10000] [--texts 200000] [--seconds 5]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Homeroom.Bench.Load;
using Homeroom.Bench.Safety;
using Homeroom.Rules.Safety;

var options = BenchReport.ParseArguments(args);
var entryCount = options.Int("entries", 10_000);
var textCount = options.Int("texts", 200_000);
var seconds = double.Parse(options.GetValueOrDefault("seconds", "5"), CultureInfo.InvariantCulture);
var resultsDir = options.GetValueOrDefault("results", "bench/results");

var watch = Stopwatch.StartNew();
var builtIn = SafetyLexicon.BuiltIn;
var builtInScanner = new SafetyScanner(builtIn);
var builtInMs = watch.Elapsed.TotalMilliseconds;
GC.KeepAlive(builtInScanner);

var entries = StudentText.Lexicon(entryCount);
var english = entries.Count(e => e.Language == "en");
var cpuAtBuild = Environment.CpuUsage.TotalTime;
watch.Restart();
var lexicon = SafetyLexicon.Build(entries);
var lexiconMs = watch.Elapsed.TotalMilliseconds;
watch.Restart();
var scanner = new SafetyScanner(lexicon);
var scannerMs = watch.Elapsed.TotalMilliseconds;
var buildCpuMs = (Environment.CpuUsage.TotalTime - cpuAtBuild).TotalMilliseconds;

var texts = StudentText.Texts(textCount, 0.02, new Random(14));
var bytes = texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
var matched = texts.Count(t => scanner.Scan(t).IsMatch);

var rate = Rate(texts, bytes, seconds, t => scanner.Scan(t).IsMatch);
var clean = texts.Where(t => !scanner.Scan(t).IsMatch).ToArray();
var cleanRate = Rate(clean, clean.Sum(t => (long)Encoding.UTF8.GetByteCount(t)), seconds, t => scanner.Scan(t).IsMatch);
var dirty = texts.Where(t => scanner.Scan(t).IsMatch).ToArray();
var dirtyRate = Rate(dirty, dirty.Sum(t => (long)Encoding.UTF8.GetByteCount(t)), seconds, t => scanner.Scan(t).IsMatch);
// Profile of the texts that match: the fast path's attempt (it gives up), and the normalisation alone.
var dirtyBytes = dirty.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
var dirtyFastRate = Rate(dirty, dirtyBytes, seconds, scanner.FastPathProvesNothing);
var dirtyNormalizeRate = Rate(dirty, dirtyBytes, seconds, t => SafetyNormalizer.Normalize(t).Text.Length > 0);
// Profile: the ASCII fast path's decision alone over the unmatched texts, and how many of them it decides.
var fastDecided = clean.Count(scanner.FastPathProvesNothing);
var fastRate = Rate(clean, clean.Sum(t => (long)Encoding.UTF8.GetByteCount(t)), seconds, t => !scanner.FastPathProvesNothing(t));
// Profile: normalisation alone (the public, allocating Normalize: an upper bound of the scan's own share).
var normalizeRate = Rate(texts, bytes, seconds, t => SafetyNormalizer.Normalize(t).Text.Length > 0);
var pages = Pages(texts, 4096);
var pageRate = Rate(pages, pages.Sum(t => (long)Encoding.UTF8.GetByteCount(t)), seconds, t => scanner.Scan(t).IsMatch);

watch.Restart();
var pattern = @"\b(?:" + string.Join('|', entries.Select(e => Regex.Escape(e.Phrase.ToLowerInvariant())).OrderByDescending(p => p.Length)) + @")\b";
var regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
var regexMs = watch.Elapsed.TotalMilliseconds;
// The regular expression is slow enough that a sample of the texts is measured.
var sample = texts[..Math.Min(texts.Length, options.Int("regex-texts", 5_000))];
var regexRate = Rate(sample, sample.Sum(t => (long)Encoding.UTF8.GetByteCount(t)), seconds, t => regex.IsMatch(t.ToLowerInvariant()));
var regexMatched = sample.Count(t => regex.IsMatch(t.ToLowerInvariant()));

Console.WriteLine();
Console.WriteLine($"{texts.Length:N0} texts, {bytes / 1048576.0:F1} MB (UTF-8), {matched:N0} matched ({100.0 * matched / texts.Length:F1} %); lexicon {lexicon.Count:N0} entries ({english:N0} en, {lexicon.Count - english:N0} es), {scanner.StateCount:N0} automaton states.");
Console.WriteLine();
Console.WriteLine("| implementation | MB/s per CPU-second | texts per CPU-second | MB/s wall clock | build | texts matched |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
Console.WriteLine($"| SafetyScanner (normalised, Aho-Corasick) | {rate.MbPerSecond:F0} | {rate.TextsPerSecond:N0} | {rate.WallMbPerSecond:F0} | {lexiconMs + scannerMs:F0} ms | {matched:N0} |");
Console.WriteLine($"| SafetyScanner, only texts that match nothing | {cleanRate.MbPerSecond:F0} | {cleanRate.TextsPerSecond:N0} | {cleanRate.WallMbPerSecond:F0} | | 0 |");
Console.WriteLine($"| SafetyScanner, only texts that match | {dirtyRate.MbPerSecond:F0} | {dirtyRate.TextsPerSecond:N0} | {dirtyRate.WallMbPerSecond:F0} | | {dirty.Length:N0} |");
Console.WriteLine($"| profile: texts that match, the fast path's attempt alone | {dirtyFastRate.MbPerSecond:F0} | {dirtyFastRate.TextsPerSecond:N0} | {dirtyFastRate.WallMbPerSecond:F0} | | |");
Console.WriteLine($"| profile: texts that match, SafetyNormalizer.Normalize alone | {dirtyNormalizeRate.MbPerSecond:F0} | {dirtyNormalizeRate.TextsPerSecond:N0} | {dirtyNormalizeRate.WallMbPerSecond:F0} | | |");
Console.WriteLine($"| SafetyScanner, the same text as 4 KB pages | {pageRate.MbPerSecond:F0} | {pageRate.TextsPerSecond:N0} | {pageRate.WallMbPerSecond:F0} | | |");
Console.WriteLine($"| profile: ASCII fast path decision alone, unmatched texts ({100.0 * fastDecided / Math.Max(1, clean.Length):F1} % decided there) | {fastRate.MbPerSecond:F0} | {fastRate.TextsPerSecond:N0} | {fastRate.WallMbPerSecond:F0} | | |");
Console.WriteLine($"| profile: SafetyNormalizer.Normalize alone (allocates its result) | {normalizeRate.MbPerSecond:F0} | {normalizeRate.TextsPerSecond:N0} | {normalizeRate.WallMbPerSecond:F0} | | |");
Console.WriteLine($"| lower-case + compiled Regex alternation | {regexRate.MbPerSecond:F0} | {regexRate.TextsPerSecond:N0} | {regexRate.WallMbPerSecond:F0} | {regexMs:F0} ms | {regexMatched:N0} of the first {sample.Length:N0} |");
Console.WriteLine();
Console.WriteLine($"Built-in lexicon ({builtIn.Count} entries) loaded and its scanner built in {builtInMs:F0} ms; the {lexicon.Count:N0}-entry lexicon validated in {lexiconMs:F0} ms and its scanner built in {scannerMs:F0} ms (wall clock); both together took {buildCpuMs:F0} ms of CPU time.");
Console.WriteLine("Targets: >= 300 MB/s per core; the 10,000-entry lexicon loads and builds in under 1 s.");

var results = new Dictionary<string, object>
{
    ["entries"] = lexicon.Count,
    ["entries_en"] = english,
    ["entries_es"] = lexicon.Count - english,
    ["automaton_states"] = scanner.StateCount,
    ["texts"] = texts.Length,
    ["megabytes_utf8"] = bytes / 1048576.0,
    ["texts_matched"] = matched,
    ["scan_mb_per_second_one_core"] = rate.MbPerSecond,
    ["scan_texts_per_second_one_core"] = rate.TextsPerSecond,
    ["scan_mb_per_second_wall_clock"] = rate.WallMbPerSecond,
    ["load_average_at_end"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "",
    ["scan_mb_per_second_one_core_unmatched_texts"] = cleanRate.MbPerSecond,
    ["scan_mb_per_second_one_core_matched_texts"] = dirtyRate.MbPerSecond,
    ["scan_texts_per_second_one_core_matched_texts"] = dirtyRate.TextsPerSecond,
    ["matched_texts_fast_path_attempt_texts_per_second_one_core"] = dirtyFastRate.TextsPerSecond,
    ["matched_texts_normalize_alone_texts_per_second_one_core"] = dirtyNormalizeRate.TextsPerSecond,
    ["scan_mb_per_second_one_core_4kb_pages"] = pageRate.MbPerSecond,
    ["normalize_alone_mb_per_second_one_core"] = normalizeRate.MbPerSecond,
    ["fast_path_alone_mb_per_second_one_core_unmatched_texts"] = fastRate.MbPerSecond,
    ["fast_path_decided_share_of_unmatched_texts"] = (double)fastDecided / Math.Max(1, clean.Length),
    ["lexicon_build_ms"] = lexiconMs,
    ["scanner_build_ms"] = scannerMs,
    ["lexicon_and_scanner_build_cpu_ms"] = buildCpuMs,
    ["builtin_load_and_build_ms"] = builtInMs,
    ["regex_mb_per_second_one_core"] = regexRate.MbPerSecond,
    ["regex_texts_per_second_one_core"] = regexRate.TextsPerSecond,
    ["regex_build_ms"] = regexMs,
    ["regex_texts_matched"] = regexMatched,
    ["machine"] = BenchReport.Machine(),
    ["date"] = BenchReport.Now(),
    ["command"] = "bench/safety/run.sh " + string.Join(' ', args),
};
await BenchReport.WriteAsync(results, resultsDir, "safety", table: false);

// The same texts joined into pages of about the given size (a typed-text or page-text signal).
static string[] Pages(string[] texts, int size)
{
    var pages = new List<string>();
    var page = new StringBuilder();
    foreach (var text in texts)
    {
        page.Append(text).Append(". ");
        if (page.Length >= size)
        {
            pages.Add(page.ToString());
            page.Clear();
        }
    }

    return [.. pages];
}

// Whole passes over the texts for the given time, after one warm-up pass. The rate is per second of this
// process's CPU time (the loop is single-threaded), so a machine shared with other work still gives the rate of
// one core; the wall-clock rate is kept beside it.
static (double MbPerSecond, double TextsPerSecond, double WallMbPerSecond) Rate(string[] texts, long bytes, double seconds, Func<string, bool> scan)
{
    var hits = 0L;
    foreach (var text in texts)
    {
        hits += scan(text) ? 1 : 0;
    }

    var passes = 0;
    var cpuBefore = Environment.CpuUsage.TotalTime;
    var watch = Stopwatch.StartNew();
    while (watch.Elapsed.TotalSeconds < seconds)
    {
        foreach (var text in texts)
        {
            hits += scan(text) ? 1 : 0;
        }

        passes++;
    }

    var elapsed = watch.Elapsed.TotalSeconds;
    var cpu = (Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds;
    GC.KeepAlive(hits);
    return (passes * bytes / 1048576.0 / cpu, passes * (double)texts.Length / cpu, passes * bytes / 1048576.0 / elapsed);
}
