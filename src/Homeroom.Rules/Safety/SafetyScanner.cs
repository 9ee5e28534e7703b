namespace Homeroom.Rules.Safety;

/// <summary>
/// Scans text against a lexicon: normalise, one pass of a multi-pattern automaton over the normalised form (lexicon
/// phrases and context phrases together), then, only for texts that matched, context rules, scores and the
/// explanation in original offsets. Build once per lexicon; <see cref="Scan"/> is thread-safe.
/// </summary>
public sealed class SafetyScanner
{
    /// <summary>Characters scanned; the rest is cut and <see cref="SafetyVerdict.Truncated"/> is true.</summary>
    public const int MaxTextLength = 16_384;

    // Up to this many automaton hits, context rules look through all of them rather than through per-key links.
    private const int LinkedHitsFrom = 16;

    [ThreadStatic]
    private static Workspace? workspace;

    private readonly PhraseAutomaton automaton;
    private readonly string[] keys;
    private readonly int[][] keyEntries;
    private readonly CompiledEntry[] entries;
    private readonly AsciiFastPath fastPath;

    public SafetyScanner(SafetyLexicon lexicon)
    {
        ArgumentNullException.ThrowIfNull(lexicon);
        Lexicon = lexicon;
        var keyIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var keyList = new List<string>();
        var entriesOfKey = new List<List<int>>();
        var phraseCache = new Dictionary<string, string>(StringComparer.Ordinal);

        int KeyOf(string normalized)
        {
            if (!keyIndex.TryGetValue(normalized, out var key))
            {
                key = keyList.Count;
                keyIndex[normalized] = key;
                keyList.Add(normalized);
                entriesOfKey.Add([]);
            }

            return key;
        }

        string Normalized(string phrase)
        {
            if (!phraseCache.TryGetValue(phrase, out var normalized))
            {
                normalized = SafetyNormalizer.NormalizePhrase(phrase);
                phraseCache[phrase] = normalized;
            }

            return normalized;
        }

        var demotionsByPhrase = lexicon.Demotions
            .GroupBy(d => Normalized(d.Phrase), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        entries = new CompiledEntry[lexicon.Count];
        for (var e = 0; e < lexicon.Count; e++)
        {
            var entry = lexicon.Entries[e];
            var phrase = lexicon.NormalizedPhrase(e);
            var key = KeyOf(phrase);
            entriesOfKey[key].Add(e);
            var rules = new List<CompiledRule>(entry.Context.Count);
            foreach (var rule in entry.Context)
            {
                rules.Add(new CompiledRule(KeyOf(Normalized(rule.Phrase)), rule.Phrase, rule.Factor, false));
            }

            if (demotionsByPhrase.TryGetValue(phrase, out var demotions))
            {
                foreach (var demotion in demotions)
                {
                    rules.Add(new CompiledRule(KeyOf(Normalized(demotion.Context)), demotion.Context, demotion.Factor, true));
                }
            }

            entries[e] = new CompiledEntry(entry, [.. rules]);
        }

        keys = [.. keyList];
        keyEntries = [.. entriesOfKey.Select(l => l.ToArray())];
        automaton = new PhraseAutomaton(keys);
        fastPath = new AsciiFastPath(automaton, keys, key => keyEntries[key].Length > 0);
    }

    public SafetyLexicon Lexicon { get; }

    /// <summary>Automaton states (for the benchmark's report).</summary>
    public int StateCount => automaton.StateCount;

    public SafetyVerdict Scan(string text) => ScanCore(text, useFastPath: true);

    /// <summary>Whether the ASCII fast path alone proves that <paramref name="text"/> matches nothing (for tests).</summary>
    internal bool FastPathProvesNothing(string text) =>
        fastPath.ProvesNothing(text.AsSpan(0, Math.Min(text.Length, MaxTextLength)));

    /// <summary><see cref="Scan(string)"/> without the ASCII fast path: always the full normalisation (for tests).</summary>
    internal SafetyVerdict ScanFullPath(string text) => ScanCore(text, useFastPath: false);

    private SafetyVerdict ScanCore(string text, bool useFastPath)
    {
        if (string.IsNullOrEmpty(text))
        {
            return SafetyVerdict.Nothing;
        }

        var truncated = text.Length > MaxTextLength;
        var span = truncated ? text.AsSpan(0, MaxTextLength) : text.AsSpan();
        if (useFastPath && fastPath.ProvesNothing(span))
        {
            // Most texts: one loop over the original, no normalised copy, no allocation.
            return truncated ? SafetyVerdict.Nothing with { Truncated = true } : SafetyVerdict.Nothing;
        }

        var ws = workspace ??= new Workspace();
        var length = SafetyNormalizer.Run(span, ws.Buffers);
        ws.Hits.Count = 0;
        automaton.Find(ws.Buffers.Norm.AsSpan(0, length), ws.Hits);
        var any = false;
        for (var h = 0; h < ws.Hits.Count && !any; h++)
        {
            any = keyEntries[ws.Hits.Keys[h]].Length > 0;
        }

        return any ? Explain(text, ws, length, truncated) : SafetyScoring.Verdict([], truncated);
    }

    // Only texts that matched get here: the matches (longest wins where one lies inside another), their
    // context rules, and the offsets in the original text.
    private SafetyVerdict Explain(string text, Workspace ws, int length, bool truncated)
    {
        var hits = ws.Hits;
        var norm = ws.Buffers.Norm;
        var ns = ws.Buffers.NormStart;
        var ne = ws.Buffers.NormEnd;
        var candidates = new List<(int Entry, int Start, int End)>();
        for (var h = 0; h < hits.Count; h++)
        {
            foreach (var e in keyEntries[hits.Keys[h]])
            {
                candidates.Add((e, hits.Starts[h], hits.Ends[h]));
            }
        }

        candidates.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start)
            : a.End != b.End ? b.End.CompareTo(a.End)
            : a.Entry.CompareTo(b.Entry));
        var kept = new List<(int Entry, int Start, int End)>(candidates.Count);
        int maxEnd = -1, maxEndStart = -1;
        foreach (var c in candidates)
        {
            var inside = c.End <= maxEnd && !(maxEndStart == c.Start && maxEnd == c.End);
            if (!inside)
            {
                kept.Add(c);
            }

            if (c.End > maxEnd)
            {
                maxEnd = c.End;
                maxEndStart = c.Start;
            }
        }

        // Word and sentence number of every normalised position, for the context window.
        var words = ws.Words(length);
        var sentences = ws.Sentences;
        int word = 0, sentence = 0;
        for (var i = 0; i < length; i++)
        {
            if (SafetyNormalizer.IsSeparator(norm[i]))
            {
                word++;
                sentence += norm[i] == '\n' ? 1 : 0;
            }

            words[i] = word;
            sentences[i] = sentence;
        }

        // The occurrences of each key, linked in text order, so a context rule looks only at its own phrase. With a
        // few hits (a short text) a rule looks at all of them in the same order instead, without building the links.
        var linked = hits.Count > LinkedHitsFrom;
        Dictionary<int, int>? firstHit = null;
        int[]? nextHit = null;
        if (linked)
        {
            firstHit = [];
            nextHit = new int[hits.Count];
            for (var h = hits.Count - 1; h >= 0; h--)
            {
                nextHit[h] = firstHit.GetValueOrDefault(hits.Keys[h], -1);
                firstHit[hits.Keys[h]] = h;
            }
        }

        // Which keys occur at all: most context rules (an entry may have dozens) name a phrase the text does not hold,
        // and are passed over with one load. Only a filter: a flag left set would only cost a look through the hits.
        var present = ws.KeyPresence(keys.Length);
        for (var h = 0; h < hits.Count; h++)
        {
            present[hits.Keys[h]] = true;
        }

        var matches = new List<PhraseMatch>(kept.Count);
        foreach (var (e, start, end) in kept)
        {
            var compiled = entries[e];
            var weight = compiled.Entry.Weight;
            var applied = new List<AppliedContext>();
            foreach (var rule in compiled.Rules)
            {
                if (!present[rule.Key])
                {
                    continue;
                }

                var found = -1;
                var bestDistance = int.MaxValue;
                for (var h = linked ? firstHit!.GetValueOrDefault(rule.Key, -1) : 0; h >= 0 && h < hits.Count; h = linked ? nextHit![h] : h + 1)
                {
                    if (hits.Keys[h] != rule.Key || sentences[hits.Starts[h]] != sentences[start])
                    {
                        continue;
                    }

                    var distance = Math.Max(0, Math.Max(words[hits.Starts[h]] - words[end - 1], words[start] - words[hits.Ends[h] - 1]));
                    if (distance <= SafetyScoring.ContextWindowWords
                        && (distance < bestDistance || (distance == bestDistance && hits.Starts[h] < hits.Starts[found])))
                    {
                        found = h;
                        bestDistance = distance;
                    }
                }

                if (found >= 0)
                {
                    weight *= rule.Factor;
                    var at = ns[hits.Starts[found]];
                    applied.Add(new AppliedContext(rule.Phrase, rule.Factor, at, ne[hits.Ends[found] - 1] - at, rule.IsDemotion));
                }
            }

            var origin = ns[start];
            var originEnd = ne[end - 1];
            matches.Add(new PhraseMatch(compiled.Entry.Phrase, compiled.Entry.Category, origin, originEnd - origin,
                text[origin..originEnd], compiled.Entry.Weight, weight, applied));
        }

        for (var h = 0; h < hits.Count; h++)
        {
            present[hits.Keys[h]] = false;
        }

        return SafetyScoring.Verdict(matches, truncated);
    }

    private sealed record CompiledEntry(LexiconEntry Entry, CompiledRule[] Rules);

    private sealed record CompiledRule(int Key, string Phrase, double Factor, bool IsDemotion);

    private sealed class Workspace
    {
        public readonly NormalizerBuffers Buffers = new();
        public readonly HitList Hits = new();
        public int[] Sentences = [];
        private int[] words = [];

        private bool[] keyPresence = [];

        // One flag per automaton key, all false between scans.
        public bool[] KeyPresence(int keyCount)
        {
            if (keyPresence.Length < keyCount)
            {
                keyPresence = new bool[keyCount];
            }

            return keyPresence;
        }

        // Both arrays, at least length long (reused: only texts that match need them).
        public int[] Words(int length)
        {
            if (words.Length < length)
            {
                words = new int[Math.Max(length, 2 * words.Length)];
                Sentences = new int[words.Length];
            }

            return words;
        }
    }
}
