using System.Globalization;
using System.Text;

namespace Homeroom.Rules.Safety;

/// <summary>
/// Reads an e2guardian weighted phrase list: one entry a line, <c>&lt;phrase&gt;&lt;weight&gt;</c>; a combination of
/// several bracketed parts (<c>&lt;kill&gt;&lt;myself&gt;&lt;50&gt;</c> or <c>&lt;kill&gt;,&lt;myself&gt;&lt;50&gt;</c>) becomes one
/// phrase of the parts in order (stricter than e2guardian, which wants them anywhere on the page); spaces inside
/// the brackets (e2guardian's word boundary) are trimmed, since every Homeroom phrase matches whole words only;
/// <c>#</c> starts a comment. <c>.Include&lt;...&gt;</c> is refused (an upload cannot read files), and so are
/// zero or negative weights (e2guardian's "good phrases": use a false-positive demotion instead).
/// Never throws on bad input: every refused line is reported with its 1-based number.
/// </summary>
public static class E2GuardianPhraseList
{
    /// <summary>The largest list accepted (UTF-8 bytes); a longer one is one error and no entries.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>At most this many errors are reported; one more says how many lines were not listed.</summary>
    public const int MaxErrors = 100;

    public static LexiconImport Parse(string text, SafetyCategory category, string language)
    {
        var errors = new List<LexiconImportError>();
        var entries = new List<LexiconEntry>();
        if (!Enum.IsDefined(category))
        {
            errors.Add(new LexiconImportError(0, "Unknown category."));
        }

        if (language is not ("en" or "es" or "any"))
        {
            errors.Add(new LexiconImportError(0, $"Language '{language}' is not en, es or any."));
        }

        if (text is null)
        {
            errors.Add(new LexiconImportError(0, "The list is empty."));
            return new LexiconImport(entries, errors);
        }

        if (text.Length > MaxBytes / 3 && Encoding.UTF8.GetByteCount(text) > MaxBytes)
        {
            return new LexiconImport([], [new LexiconImportError(0, $"The list is larger than {MaxBytes / 1048576} MB.")]);
        }

        if (errors.Count > 0)
        {
            return new LexiconImport([], errors);
        }

        var lineNumber = 0;
        var skipped = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r').Trim();
            if (lineNumber == 1)
            {
                line = line.TrimStart('\uFEFF');
            }

            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var error = ParseLine(line, category, language, out var entry);
            if (error is null)
            {
                entries.Add(entry!);
            }
            else if (errors.Count < MaxErrors)
            {
                errors.Add(new LexiconImportError(lineNumber, error));
            }
            else
            {
                skipped++;
            }
        }

        if (skipped > 0)
        {
            errors.Add(new LexiconImportError(0, $"{skipped} more refused lines are not listed."));
        }

        return new LexiconImport(entries, errors);
    }

    private static string? ParseLine(string line, SafetyCategory category, string language, out LexiconEntry? entry)
    {
        entry = null;
        if (line.StartsWith(".include", StringComparison.OrdinalIgnoreCase))
        {
            return ".Include is not supported: upload the included list itself.";
        }

        var hash = line.IndexOf('#', StringComparison.Ordinal);
        if (hash > 0 && line.LastIndexOf('>') < hash)
        {
            line = line[..hash].TrimEnd();
        }

        var parts = new List<string>();
        var i = 0;
        while (i < line.Length)
        {
            if (line[i] is ',' or ' ' or '\t')
            {
                i++;
                continue;
            }

            if (line[i] != '<')
            {
                return $"Expected '<' at column {i + 1}: a line is <phrase><weight>.";
            }

            var close = line.IndexOf('>', i + 1);
            if (close < 0)
            {
                return "A '<' has no matching '>'.";
            }

            parts.Add(line[(i + 1)..close]);
            i = close + 1;
        }

        if (parts.Count < 2)
        {
            return "Expected <phrase><weight>: no weight.";
        }

        var weightText = parts[^1].Trim();
        if (!int.TryParse(weightText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var weight))
        {
            return $"The weight '{Shorten(weightText)}' is not a whole number.";
        }

        if (weight <= 0)
        {
            return $"The weight {weight} is not positive (good phrases are not supported; use a false-positive demotion).";
        }

        if (weight > SafetyLexicon.MaxWeight)
        {
            return $"The weight {weight} is above {SafetyLexicon.MaxWeight}.";
        }

        var phrase = string.Join(' ', parts.Take(parts.Count - 1).Select(p => p.Trim()).Where(p => p.Length > 0));
        if (phrase.Length == 0)
        {
            return "The phrase is empty.";
        }

        if (phrase.Length > SafetyLexicon.MaxPhraseLength)
        {
            return $"The phrase is longer than {SafetyLexicon.MaxPhraseLength} characters.";
        }

        if (SafetyNormalizer.NormalizePhrase(phrase).Length == 0)
        {
            return $"The phrase '{Shorten(phrase)}' has no letters or digits.";
        }

        entry = new LexiconEntry(phrase, category, weight, language, []);
        return null;
    }

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
