using Homeroom.Rules.Safety;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Safety;

/// <summary>One of the district's lexicon adjustments.</summary>
public sealed record LexiconAdjustmentDto(
    Guid Id, string Kind, string Phrase, string? Category, string? Language, double? Weight, string? Context, double? Factor,
    Guid? AlertId, DateTime CreatedAt, string CreatedBy);

/// <summary>
/// A new adjustment: <c>add</c> (phrase, category, weight, language), <c>remove</c> (phrase),
/// <c>weight</c> (phrase, weight) or <c>demotion</c> (phrase, context, factor).
/// </summary>
public sealed record LexiconAdjustmentRequest(string? Kind, string? Phrase, string? Category = null, string? Language = null, double? Weight = null, string? Context = null, double? Factor = null);

/// <summary>An e2guardian weighted phrase list to add, all of one category and language.</summary>
public sealed record LexiconImportRequest(string? Category, string? Language, string? Text);

/// <summary>What an import added.</summary>
public sealed record LexiconImportResult(int Added);

/// <summary>A text to try in the lexicon tester.</summary>
public sealed record SafetyScanRequest(string? Text);

/// <summary>The tester's answer: the verdict with its full explanation, and the threshold an alert needs.</summary>
public sealed record SafetyScanResult(SafetyVerdict Verdict, string Threshold, bool WouldAlert);

/// <summary>
/// The district's lexicon: its adjustments to the built-in one (district-wide staff change them; every
/// change rebuilds the scanner at once and is audited), e2guardian imports (refused whole, with every
/// line error, so the old lexicon stays), and the tester, which scans a text without storing anything.
/// </summary>
public sealed class SafetyLexiconDirectory(IDbContextFactory<HomeroomDbContext> dbFactory, SafetyLexicons lexicons, AuditTrail audit, Microsoft.Extensions.Options.IOptions<SafetyOptions> options, TimeProvider time)
{
    public const int MaxPhraseLength = 200;
    public const int MaxImportEntries = 20_000;

    public async Task<List<LexiconAdjustmentDto>> ListAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadSafety);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.SafetyLexiconAdjustments().AsNoTracking().OrderBy(a => a.CreatedAt).ThenBy(a => a.Id)
            .Select(a => new LexiconAdjustmentDto(a.Id, a.Kind, a.Phrase, a.Category, a.Language, a.Weight, a.Context, a.Factor, a.AlertId, a.CreatedAt, a.CreatedBy))
            .ToListAsync(cancellationToken);
    }

    public async Task<LexiconAdjustmentDto> AddAsync(StaffScope scope, LexiconAdjustmentRequest request, CancellationToken cancellationToken = default)
    {
        EnsureDistrict(scope);
        var validation = new Validation().Required("kind", request.Kind, 16).Required("phrase", request.Phrase, MaxPhraseLength)
            .Optional("context", request.Context, MaxPhraseLength).Optional("language", request.Language, 8);
        switch (request.Kind)
        {
            case AdjustmentKinds.Add:
                validation.Check(request.Category is not null && SafetyLexicons.TryCategory(request.Category, out _), "category", "One of selfHarm, bullying, violence, drugs, sexual, extremism.")
                    .Check(request.Weight is { } w && double.IsFinite(w) && w > 0 && w <= 1000, "weight", "More than 0, at most 1000.")
                    .Check(request.Language is null or "en" or "es" or "any", "language", "One of en, es, any.");
                break;
            case AdjustmentKinds.Remove:
                break;
            case AdjustmentKinds.Weight:
                validation.Check(request.Weight is { } rw && double.IsFinite(rw) && rw > 0 && rw <= 1000, "weight", "More than 0, at most 1000 (remove a phrase to silence it).");
                break;
            case AdjustmentKinds.Demotion:
                validation.Check(!string.IsNullOrWhiteSpace(request.Context), "context", "This field is required.")
                    .Check(request.Factor is { } f && double.IsFinite(f) && f > 0 && f < 1, "factor", "More than 0 and less than 1.");
                break;
            default:
                validation.Add("kind", $"One of {string.Join(", ", AdjustmentKinds.All)}.");
                break;
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var row = new SafetyLexiconAdjustment
        {
            Id = Guid.CreateVersion7(),
            Kind = request.Kind!,
            Phrase = request.Phrase!.Trim(),
            Category = request.Kind == AdjustmentKinds.Add ? request.Category : null,
            Language = request.Kind == AdjustmentKinds.Add ? request.Language ?? "any" : null,
            Weight = request.Kind is AdjustmentKinds.Add or AdjustmentKinds.Weight ? request.Weight : null,
            Context = request.Kind == AdjustmentKinds.Demotion ? request.Context!.Trim() : null,
            Factor = request.Kind == AdjustmentKinds.Demotion ? request.Factor : null,
            CreatedAt = time.GetUtcNow().UtcDateTime,
            CreatedBy = scope.Username,
        };

        // The engine validates entries: a bad one is refused here, before it is saved.
        try
        {
            _ = SafetyLexicon.BuiltIn.With(SafetyLexicons.ToAdjustments([row]));
        }
        catch (ArgumentException e)
        {
            throw new RequestValidationException(new() { ["phrase"] = [e.Message] });
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.SafetyLexiconAdjustments().Add(row);
        audit.Record(db, "safety.lexicon.adjust", "safetyLexicon", row.Id.ToString(), Describe(row));
        await db.SaveChangesAsync(cancellationToken);
        lexicons.Invalidate();
        return new LexiconAdjustmentDto(row.Id, row.Kind, row.Phrase, row.Category, row.Language, row.Weight, row.Context, row.Factor, row.AlertId, row.CreatedAt, row.CreatedBy);
    }

    /// <summary>Removes an adjustment (a demotion from a false positive too: reversible); false when there is none.</summary>
    public async Task<bool> DeleteAsync(StaffScope scope, Guid id, CancellationToken cancellationToken = default)
    {
        EnsureDistrict(scope);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = await db.SafetyLexiconAdjustments().FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        if (row is null)
        {
            return false;
        }

        db.SafetyLexiconAdjustments().Remove(row);
        audit.Record(db, "safety.lexicon.adjustment.delete", "safetyLexicon", id.ToString(), Describe(row));
        await db.SaveChangesAsync(cancellationToken);
        lexicons.Invalidate();
        return true;
    }

    /// <summary>
    /// Adds the entries of an e2guardian weighted phrase list. A list with any error is refused whole
    /// (400 listing each line's error) and the lexicon stays as it was.
    /// </summary>
    public async Task<LexiconImportResult> ImportAsync(StaffScope scope, LexiconImportRequest request, CancellationToken cancellationToken = default)
    {
        EnsureDistrict(scope);
        var category = default(SafetyCategory);
        var validation = new Validation()
            .Check(request.Category is not null && SafetyLexicons.TryCategory(request.Category, out category), "category", "One of selfHarm, bullying, violence, drugs, sexual, extremism.")
            .Check(request.Language is "en" or "es" or "any", "language", "One of en, es, any.")
            .Check(!string.IsNullOrEmpty(request.Text), "text", "This field is required.");
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var import = E2GuardianPhraseList.Parse(request.Text!, category, request.Language!);
        if (!import.IsValid)
        {
            throw new RequestValidationException(new()
            {
                ["text"] = import.Errors.Take(100).Select(e => $"Line {e.Line}: {e.Message}").ToArray(),
            });
        }

        if (import.Entries.Count == 0 || import.Entries.Count > MaxImportEntries)
        {
            throw new RequestValidationException(new() { ["text"] = [$"The list must have 1 to {MaxImportEntries} phrases."] });
        }

        var now = time.GetUtcNow().UtcDateTime;
        var rows = import.Entries.Select(e => new SafetyLexiconAdjustment
        {
            Id = Guid.CreateVersion7(),
            Kind = AdjustmentKinds.Add,
            Phrase = e.Phrase,
            Category = SafetyLexicons.Name(e.Category),
            Language = e.Language,
            Weight = e.Weight,
            CreatedAt = now,
            CreatedBy = scope.Username,
        }).ToList();
        try
        {
            _ = SafetyLexicon.BuiltIn.With(SafetyLexicons.ToAdjustments(rows));
        }
        catch (ArgumentException e)
        {
            throw new RequestValidationException(new() { ["text"] = [e.Message] });
        }

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.SafetyLexiconAdjustments().AddRange(rows);
        audit.Record(db, "safety.lexicon.import", "safetyLexicon", null, $"{rows.Count} {request.Category} phrases ({request.Language}) from an e2guardian list");
        await db.SaveChangesAsync(cancellationToken);
        lexicons.Invalidate();
        return new LexiconImportResult(rows.Count);
    }

    /// <summary>Scans a text with the district's lexicon and explains the verdict; stores nothing and raises no alert.</summary>
    public async Task<SafetyScanResult> ScanAsync(StaffScope scope, SafetyScanRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ScanSafetyText);
        var validation = new Validation().Required("text", request.Text, SafetyScanner.MaxTextLength);
        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        var scanner = await lexicons.ScannerAsync(cancellationToken);
        var verdict = scanner.Scan(request.Text!);
        var threshold = options.Value.AlertThreshold;
        return new SafetyScanResult(verdict, SafetyLexicons.Name(threshold), verdict.Category is not null && verdict.Severity >= threshold && verdict.Severity > SafetySeverity.None);
    }

    private static void EnsureDistrict(StaffScope scope)
    {
        scope.EnsureCan(Permission.ManageSafety);
        if (!scope.IsDistrictWide)
        {
            throw new ForbiddenException("District-wide only", "The lexicon is the district's: only district-wide staff may change it.");
        }
    }

    private static string Describe(SafetyLexiconAdjustment row) => row.Kind switch
    {
        AdjustmentKinds.Add => $"add \"{row.Phrase}\" ({row.Category}, {row.Language}) weight {row.Weight}",
        AdjustmentKinds.Remove => $"remove \"{row.Phrase}\"",
        AdjustmentKinds.Weight => $"weight of \"{row.Phrase}\" {row.Weight}",
        _ => $"demote \"{row.Phrase}\" near \"{row.Context}\" ×{row.Factor}",
    };
}
