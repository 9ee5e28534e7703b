using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Insights;

/// <summary>Insight rollups and reports (configuration section <c>Homeroom:Insights</c>).</summary>
public sealed class InsightsOptions
{
    public const string Section = "Homeroom:Insights";

    /// <summary>Rollup rows older than this are deleted (raw events keep their own, shorter retention).</summary>
    [Range(typeof(TimeSpan), "400.00:00:00", "3660.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(3 * 366);

    /// <summary>
    /// Connections a report reads its candidates' student sketches over at once, each for a share of the
    /// candidates (one: a single statement); unset, 2 on PostgreSQL and 1 on SQLite. A district's year of top
    /// sites by students reads about 10,000 sketches (up to 4 KB each): on PostgreSQL the database unpacks and
    /// sends one share while the server merges another. SQLite reads in the server's own process, so a second
    /// connection only adds a thread competing for the same cores (slower in the one measurement, under load).
    /// </summary>
    [Range(1, 8)]
    public int? SketchReadConnections { get; set; }

    /// <summary>How often the folder reads newly stored events and folds them into the sums it holds in memory.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan FoldInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the folder writes the sums it holds to the rollup tables (reports trail raw events by about this much).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most rollup keys held in memory; past it the folder writes at once (about 1 KB a key, more for keys with many students).</summary>
    [Range(1_000, 10_000_000)]
    public int MaxBufferedKeys { get; set; } = 200_000;

    /// <summary>
    /// How long one of the folder's write transactions runs: it writes whole partitions, one after another, and
    /// commits once this much time has passed (zero: one partition a transaction). A partition's keys are spread
    /// over the whole of each rollup table, so every transaction rewrites most of the tables' pages whatever its
    /// size: fewer, longer transactions write each page fewer times; shorter ones keep the activity writer's wait
    /// for SQLite's one write lock shorter.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan WriteTransactionTime { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// SQLite: the page cache (MB) of the folder's connection while it writes, set for the flush and put back after.
    /// A transaction upserts keys all over each rollup table; with SQLite's default 2 MB cache, pages it changed were
    /// pushed out to the log before the commit and written again when the transaction came back to them.
    /// </summary>
    [Range(2, 4096)]
    public int WriteCacheMegabytes { get; set; } = 64;

    /// <summary>Raw events read per page, live and in a rebuild; the folder also reads as soon as the activity writer has stored this many since its last round, without waiting for <see cref="FoldInterval"/>.</summary>
    [Range(100, 1_000_000)]
    public int RebuildBatch { get; set; } = 20_000;
}

/// <summary>Validates <see cref="InsightsOptions"/> at start.</summary>
[OptionsValidator]
public sealed partial class InsightsOptionsValidator : IValidateOptions<InsightsOptions>;
