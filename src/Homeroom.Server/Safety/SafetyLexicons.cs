using System.Text.Json;
using Homeroom.Rules.Safety;
using Homeroom.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Safety;

/// <summary>
/// The district's scanner: the built-in lexicon with the district's adjustments
/// (<see cref="SafetyLexiconAdjustment"/>), built once and shared (a scan is thread-safe), rebuilt
/// after the adjustments change (<see cref="Invalidate"/>, called by whoever changed them), so a
/// lexicon change applies to the next signal.
/// </summary>
public sealed class SafetyLexicons(IDbContextFactory<HomeroomDbContext> dbFactory)
{
    private readonly SemaphoreSlim _building = new(1, 1);
    private volatile SafetyScanner? _scanner;
    private long _generation;

    /// <summary>The scanner for the district's current lexicon.</summary>
    public async ValueTask<SafetyScanner> ScannerAsync(CancellationToken cancellationToken = default)
    {
        if (_scanner is { } ready)
        {
            return ready;
        }

        await _building.WaitAsync(cancellationToken);
        try
        {
            while (_scanner is null)
            {
                var generation = Interlocked.Read(ref _generation);
                await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
                var rows = await db.SafetyLexiconAdjustments().AsNoTracking().OrderBy(a => a.CreatedAt).ThenBy(a => a.Id).ToListAsync(cancellationToken);
                var scanner = new SafetyScanner(Build(rows));
                if (generation == Interlocked.Read(ref _generation))
                {
                    _scanner = scanner;
                }
            }

            return _scanner;
        }
        finally
        {
            _building.Release();
        }
    }

    /// <summary>
    /// The built-in lexicon with the rows applied. Rows are checked when they are saved; one the engine
    /// refuses all the same (a stricter engine after an upgrade) is left out rather than stopping every scan.
    /// </summary>
    public static SafetyLexicon Build(IReadOnlyList<SafetyLexiconAdjustment> rows)
    {
        try
        {
            return SafetyLexicon.BuiltIn.With(ToAdjustments(rows));
        }
        catch (ArgumentException)
        {
            return SafetyLexicon.BuiltIn.With(ToAdjustments(rows.Where(IsAccepted)));
        }
    }

    /// <summary>Whether the engine accepts the row on its own.</summary>
    public static bool IsAccepted(SafetyLexiconAdjustment row)
    {
        try
        {
            _ = SafetyLexicon.BuiltIn.With(ToAdjustments([row]));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The adjustments changed: the next scan uses a lexicon built from them.</summary>
    public void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _scanner = null;
    }

    /// <summary>The engine's adjustments from the stored rows (a later row for the same phrase wins).</summary>
    public static LexiconAdjustments ToAdjustments(IEnumerable<SafetyLexiconAdjustment> rows)
    {
        var added = new List<LexiconEntry>();
        var removed = new List<string>();
        var weights = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);
        var demotions = new List<FalsePositiveRule>();
        foreach (var row in rows)
        {
            switch (row.Kind)
            {
                case AdjustmentKinds.Add when row.Category is not null && TryCategory(row.Category, out var category) && row.Weight is { } weight:
                    added.Add(new LexiconEntry(row.Phrase, category, weight, row.Language ?? "any", []));
                    break;
                case AdjustmentKinds.Remove:
                    removed.Add(row.Phrase);
                    break;
                case AdjustmentKinds.Weight when row.Weight is { } weight:
                    weights[row.Phrase] = weight;
                    break;
                case AdjustmentKinds.Demotion when row.Context is not null && row.Factor is { } factor:
                    demotions.Add(new FalsePositiveRule(row.Phrase, row.Context, factor));
                    break;
            }
        }

        return new LexiconAdjustments(added, removed, weights, demotions);
    }

    /// <summary>The JSON name of a category (<c>selfHarm</c>).</summary>
    public static string Name(SafetyCategory category) => JsonNamingPolicy.CamelCase.ConvertName(category.ToString());

    /// <summary>The JSON name of a severity (<c>high</c>).</summary>
    public static string Name(SafetySeverity severity) => JsonNamingPolicy.CamelCase.ConvertName(severity.ToString());

    public static bool TryCategory(string name, out SafetyCategory category)
    {
        foreach (var value in Enum.GetValues<SafetyCategory>())
        {
            if (Name(value) == name)
            {
                category = value;
                return true;
            }
        }

        category = default;
        return false;
    }

    public static bool TrySeverity(string name, out SafetySeverity severity)
    {
        foreach (var value in Enum.GetValues<SafetySeverity>())
        {
            if (Name(value) == name)
            {
                severity = value;
                return true;
            }
        }

        severity = default;
        return false;
    }
}
