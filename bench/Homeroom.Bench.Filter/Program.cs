// Web filter benchmark: decisions per second on one core and memory, for the UT1 lists and for
// 5 million synthetic domains, against a straightforward implementation; and a list reload while
// decisions continue. Prints a table and writes JSON to bench/results/.
//   bench/filter/run.sh [--ut1 ../shared/filter-lists/ut1] [--synthetic 5000000] [--seconds 3]
using System.Diagnostics;
using System.Globalization;
using Homeroom.Bench.Filter;
using Homeroom.Bench.Load;
using Homeroom.Rules.Filtering;

var options = BenchReport.ParseArguments(args);
var ut1 = Path.GetFullPath(options.GetValueOrDefault("ut1", "../shared/filter-lists/ut1"));
var syntheticCount = int.Parse(options.GetValueOrDefault("synthetic", "5000000"), CultureInfo.InvariantCulture);
var seconds = double.Parse(options.GetValueOrDefault("seconds", "3"), CultureInfo.InvariantCulture);
var resultsDir = options.GetValueOrDefault("results", "bench/results");
var results = new Dictionary<string, object>();
var rows = new List<string[]>();

// Policy used throughout: a typical school filter.
string[] blockedCategories = ["adult", "agressif", "dating", "drogue", "gambling", "games", "hacking", "malware", "phishing", "redirector", "social_networks", "violence", "warez"];
var settings = new WebFilterSettings(blockedCategories, ["educational_games"], ["blocked.example.org", "video.example.org/shorts"], ["classroom.example.org", "docs.example.org"], AllowOnly: false);

// ---- UT1 ----
Console.WriteLine($"UT1 from {ut1}");
var (ut1List, ut1BuildMs, ut1Bytes) = Measure(() =>
{
    var builder = new FilterListBuilder();
    FilterListImport.ImportUt1Directory(ut1, builder);
    return builder.Build();
});
var ut1Hosts = Ut1Hosts(ut1);
var ut1Queries = Queries(ut1Hosts, new Random(1));
var ut1Filter = WebFilter.Compile(ut1List, settings);
var ut1Rate = DecisionsPerSecond(ut1Filter, ut1Queries, seconds, out var ut1BlockedShare);
var ut1AllCores = AllCoresRate(ut1Filter, ut1Queries, seconds);

var (naiveUt1, naiveUt1BuildMs, naiveUt1Bytes) = Measure(() => Naive(ut1));
var naiveUt1Rate = NaiveRate(naiveUt1, ut1Queries, seconds);
rows.Add(["UT1 (" + ut1List.HostCount.ToString("N0", CultureInfo.InvariantCulture) + " hosts, " + ut1List.UrlRuleCount.ToString("N0", CultureInfo.InvariantCulture) + " URL rules)", Rate(ut1Rate), Rate(ut1AllCores), Mb(ut1Bytes), $"{ut1BuildMs / 1000.0:F1} s", Rate(naiveUt1Rate), Mb(naiveUt1Bytes)]);
results["ut1"] = new
{
    hosts = ut1List.HostCount,
    url_rules = ut1List.UrlRuleCount,
    categories = ut1List.Categories.Count,
    build_ms = ut1BuildMs,
    memory_mb = ut1Bytes / 1048576.0,
    decisions_per_second_one_core = ut1Rate,
    decisions_per_second_all_cores = ut1AllCores,
    blocked_share = ut1BlockedShare,
    naive_decisions_per_second_one_core = naiveUt1Rate,
    naive_memory_mb = naiveUt1Bytes / 1048576.0,
    naive_build_ms = naiveUt1BuildMs,
};
naiveUt1 = null;

// ---- Reload under load ----
var reload = ReloadUnderLoad(ut1, settings, ut1Queries);
results["reload"] = reload;

// ---- Synthetic ----
ut1Filter = null;
ut1List = null;
Console.WriteLine($"{syntheticCount:N0} synthetic domains");
var synthetic = SyntheticHosts(syntheticCount, new Random(2));
var (synthList, synthBuildMs, synthBytes) = Measure(() =>
{
    var builder = new FilterListBuilder();
    var categories = Enumerable.Range(0, 16).Select(i => builder.AddCategory($"cat{i}")).ToArray();
    for (var i = 0; i < synthetic.Length; i++)
    {
        builder.TryAdd(categories[i % categories.Length], synthetic[i], out _);
    }

    return builder.Build();
});
var synthSettings = settings with { BlockedCategories = ["cat0", "cat3", "cat5", "cat8"] };
var synthQueries = Queries(synthetic, new Random(3));
var synthFilter = WebFilter.Compile(synthList, synthSettings);
var synthRate = DecisionsPerSecond(synthFilter, synthQueries, seconds, out var synthBlockedShare);
var synthAllCores = AllCoresRate(synthFilter, synthQueries, seconds);
var synthPeakMb = Environment.WorkingSet / 1048576.0;
var naiveSynthRate = 0.0;
var naiveSynthBytes = 0L;
long naiveSynthBuildMs;
synthFilter = null;
synthList = null;
(var naiveSynth, naiveSynthBuildMs, naiveSynthBytes) = Measure(() =>
{
    var naive = new NaiveFilter();
    for (var i = 0; i < synthetic.Length; i++)
    {
        naive.Add($"cat{i % 16}", synthetic[i]);
    }

    naive.Block(synthSettings.BlockedCategories);
    return naive;
});
naiveSynthRate = NaiveRate(naiveSynth, synthQueries, seconds);
rows.Add([$"{syntheticCount:N0} synthetic hosts", Rate(synthRate), Rate(synthAllCores), Mb(synthBytes), $"{synthBuildMs / 1000.0:F1} s", Rate(naiveSynthRate), Mb(naiveSynthBytes)]);
results["synthetic"] = new
{
    hosts = syntheticCount,
    build_ms = synthBuildMs,
    memory_mb = synthBytes / 1048576.0,
    decisions_per_second_one_core = synthRate,
    decisions_per_second_all_cores = synthAllCores,
    blocked_share = synthBlockedShare,
    naive_decisions_per_second_one_core = naiveSynthRate,
    naive_memory_mb = naiveSynthBytes / 1048576.0,
    naive_build_ms = naiveSynthBuildMs,
    process_working_set_mb_after_build = synthPeakMb,
};
GC.KeepAlive(naiveSynth);

// ---- Report ----
Console.WriteLine();
Console.WriteLine("Decisions are full URL checks (parse, canonicalise, site rules, categories) on one thread; queries are");
Console.WriteLine("half listed hosts (with subdomains and paths), half unlisted hosts. Memory is the managed heap held by the lists.");
Console.WriteLine();
PrintTable(["lists", "decisions/s (one core)", $"decisions/s ({Environment.ProcessorCount} cores)", "memory", "build", "naive decisions/s", "naive memory"], rows);
Console.WriteLine();
Console.WriteLine($"Reload of UT1 while deciding: {reload.ReloadMs} ms to build and swap; {reload.DecisionsDuringReload:N0} decisions during it, none without a filter; longest pause between decisions {reload.LongestPauseMs:F1} ms.");
Console.WriteLine("Targets: >= 5,000,000 decisions/s per core; < 200 MB for 5 million domains.");

results["machine"] = BenchReport.Machine();
results["date"] = BenchReport.Now();
results["command"] = "bench/filter/run.sh " + string.Join(' ', args);
await BenchReport.WriteAsync(results, resultsDir, "filter", table: false);

static (T Value, long BuildMs, long Bytes) Measure<T>(Func<T> build)
{
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    var before = GC.GetTotalMemory(forceFullCollection: true);
    var watch = Stopwatch.StartNew();
    var value = build();
    var ms = watch.ElapsedMilliseconds;
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    var after = GC.GetTotalMemory(forceFullCollection: true);
    GC.KeepAlive(value);
    return (value, ms, after - before);
}

static double DecisionsPerSecond(WebFilter filter, string[] queries, double seconds, out double blockedShare)
{
    // Warm up (tiering, caches), then count whole passes over the query set for the given time.
    var blocked = 0L;
    for (var i = 0; i < queries.Length; i++)
    {
        blocked += filter.Decide(queries[i]).Blocked ? 1 : 0;
    }

    blockedShare = (double)blocked / queries.Length;
    var watch = Stopwatch.StartNew();
    long decisions = 0;
    while (watch.Elapsed.TotalSeconds < seconds)
    {
        for (var i = 0; i < queries.Length; i++)
        {
            blocked += filter.Decide(queries[i]).Blocked ? 1 : 0;
        }

        decisions += queries.Length;
    }

    GC.KeepAlive(blocked);
    return decisions / watch.Elapsed.TotalSeconds;
}

// The same work on every core at once: what one server or agent process gets in total.
static double AllCoresRate(WebFilter filter, string[] queries, double seconds)
{
    var threads = Environment.ProcessorCount;
    var counts = new long[threads];
    var watch = Stopwatch.StartNew();
    Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
    {
        long decisions = 0;
        var blocked = 0L;
        var i = t * (queries.Length / threads);
        while (watch.Elapsed.TotalSeconds < seconds)
        {
            for (var n = 0; n < 65536; n++)
            {
                blocked += filter.Decide(queries[i]).Blocked ? 1 : 0;
                i = i + 1 == queries.Length ? 0 : i + 1;
            }

            decisions += 65536;
        }

        counts[t] = decisions + (blocked & 0);
    });
    return counts.Sum() / watch.Elapsed.TotalSeconds;
}

static double NaiveRate(NaiveFilter filter, string[] queries, double seconds)
{
    var blocked = 0L;
    long decisions = 0;
    var watch = Stopwatch.StartNew();
    while (watch.Elapsed.TotalSeconds < seconds)
    {
        for (var i = 0; i < 65536; i++)
        {
            blocked += filter.IsBlocked(queries[(int)(decisions++ % queries.Length)]) ? 1 : 0;
        }
    }

    GC.KeepAlive(blocked);
    return decisions / watch.Elapsed.TotalSeconds;
}

static NaiveFilter Naive(string ut1)
{
    var naive = new NaiveFilter();
    foreach (var dir in Directory.EnumerateDirectories(ut1))
    {
        var file = Path.Combine(dir, "domains");
        if (!File.Exists(file))
        {
            continue;
        }

        var category = Path.GetFileName(dir);
        foreach (var line in File.ReadLines(file))
        {
            var host = line.Trim().ToLowerInvariant();
            if (host.Length > 0 && host[0] != '#')
            {
                naive.Add(category, host);
            }
        }
    }

    naive.Block(["adult", "agressif", "dating", "drogue", "gambling", "games", "hacking", "malware", "phishing", "redirector", "social_networks", "violence", "warez"]);
    return naive;
}

static string[] Ut1Hosts(string ut1) =>
    Directory.EnumerateDirectories(ut1)
        .Select(d => Path.Combine(d, "domains"))
        .Where(File.Exists)
        .SelectMany(File.ReadLines)
        .Select(l => l.Trim())
        .Where(l => l.Length > 0 && l[0] != '#' && !l.Contains(' ', StringComparison.Ordinal))
        .Distinct(StringComparer.Ordinal)
        .ToArray();

// 1 million URLs: half a listed host (bare, with a subdomain, with a path), half an unlisted host.
static string[] Queries(string[] listed, Random random)
{
    string[] tlds = ["com", "org", "net", "edu", "fr", "de", "io"];
    string[] paths = ["/", "/index.html", "/watch?v=abc123", "/search?q=photosynthesis", "/a/b/c"];
    var queries = new string[1_000_000];
    for (var i = 0; i < queries.Length; i++)
    {
        string host;
        if (random.Next(2) == 0)
        {
            host = listed[random.Next(listed.Length)];
            if (random.Next(3) == 0)
            {
                host = "www." + host;
            }
        }
        else
        {
            host = $"{RandomLabel(random)}.{RandomLabel(random)}.{tlds[random.Next(tlds.Length)]}";
        }

        queries[i] = "https://" + host + paths[random.Next(paths.Length)];
    }

    return queries;
}

static string[] SyntheticHosts(int count, Random random)
{
    string[] tlds = ["com", "org", "net", "edu", "fr", "de", "io", "co.uk", "info", "xyz"];
    var hosts = new HashSet<string>(count, StringComparer.Ordinal);
    while (hosts.Count < count)
    {
        var host = random.Next(4) == 0
            ? $"{RandomLabel(random)}.{RandomLabel(random)}.{tlds[random.Next(tlds.Length)]}"
            : $"{RandomLabel(random)}.{tlds[random.Next(tlds.Length)]}";
        hosts.Add(host);
    }

    return [.. hosts];
}

static string RandomLabel(Random random)
{
    const string letters = "abcdefghijklmnopqrstuvwxyz0123456789";
    Span<char> label = stackalloc char[random.Next(4, 14)];
    for (var i = 0; i < label.Length; i++)
    {
        label[i] = letters[random.Next(i == 0 ? 26 : letters.Length)];
    }

    return new string(label);
}

static ReloadResult ReloadUnderLoad(string ut1, WebFilterSettings settings, string[] queries)
{
    var builder0 = new FilterListBuilder();
    FilterListImport.ImportUt1Directory(ut1, builder0);
    var current = WebFilter.Compile(builder0.Build(), settings);
    var stop = false;
    long decisions = 0;
    long longestPauseTicks = 0;
    var worker = new Thread(() =>
    {
        var last = Stopwatch.GetTimestamp();
        var i = 0;
        while (!Volatile.Read(ref stop))
        {
            var filter = Volatile.Read(ref current);
            if (filter is null)
            {
                throw new InvalidOperationException("A decision found no filter.");
            }

            filter.Decide(queries[i++ % queries.Length]);
            decisions++;
            var now = Stopwatch.GetTimestamp();
            longestPauseTicks = Math.Max(longestPauseTicks, now - last);
            last = now;
        }
    });
    worker.Start();
    Thread.Sleep(200);
    var before = Interlocked.Read(ref decisions);
    longestPauseTicks = 0;
    var watch = Stopwatch.StartNew();
    var builder = new FilterListBuilder();
    FilterListImport.ImportUt1Directory(ut1, builder);
    var next = WebFilter.Compile(builder.Build(), settings);
    Volatile.Write(ref current, next);
    var reloadMs = watch.ElapsedMilliseconds;
    var during = Interlocked.Read(ref decisions) - before;
    Volatile.Write(ref stop, true);
    worker.Join();
    return new ReloadResult(reloadMs, during, longestPauseTicks * 1000.0 / Stopwatch.Frequency);
}

static string Rate(double perSecond) => perSecond >= 1e6 ? $"{perSecond / 1e6:F2} M" : $"{perSecond / 1e3:F0} k";

static string Mb(long bytes) => $"{bytes / 1048576.0:F0} MB";

static void PrintTable(string[] header, List<string[]> rows)
{
    var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
    Console.WriteLine(string.Join(" | ", header.Select((h, i) => h.PadRight(widths[i]))));
    Console.WriteLine(string.Join("-|-", widths.Select(w => new string('-', w))));
    foreach (var row in rows)
    {
        Console.WriteLine(string.Join(" | ", row.Select((c, i) => c.PadRight(widths[i]))));
    }
}

internal sealed record ReloadResult(long ReloadMs, long DecisionsDuringReload, double LongestPauseMs);
