using System.Runtime.CompilerServices;
using System.Text;

[assembly: InternalsVisibleTo("Homeroom.Rules.Tests")]
[assembly: InternalsVisibleTo("Homeroom.Bench.Safety")]

namespace Homeroom.Rules.Safety;

/// <summary>
/// The scanner's fast path for all-ASCII text (docs/safety.md, "Matching"): lower-casing, leetspeak, apostrophes
/// removed, punctuation as separators and repeated letters collapsed, fed straight into the automaton in one loop over
/// the original text, with no normalised string and no offset map. It only ever answers "certainly nothing": it gives
/// up (and the scanner runs the full path) on a non-ASCII character, on three single-letter words in a row that
/// could be joined as a spread word, and on any lexicon phrase that starts and ends at a word boundary.
/// </summary>
/// <remarks>
/// Why "nothing" is exact: for ASCII text without a spread word the full normaliser emits, word by word, the same
/// characters as this loop; the only difference is that it writes a sentence end ('\n') where this loop writes a
/// space, and no phrase contains either at its ends or a sentence end inside, so this loop finds every phrase the full
/// path finds (and perhaps a few more, which only send the text to the full path). Words are the same in both, so a
/// phrase of k+1 words starts at a word boundary exactly when it starts where the word k words back starts.
/// </remarks>
internal sealed class AsciiFastPath
{
    // Per ASCII character, everything the loop needs in one load: the automaton class of the character after
    // folding and leetspeak (bits 0-5), whether it separates words or is removed, whether it is a letter or a digit
    // before leetspeak and a letter after it, and a digit's own class (for numbers, where digits stay digits).
    private const int ClassMask = 0x3F;
    private const int Separator = 0x40;
    private const int Dropped = 0x80;
    private const int Letter = 0x100;
    private const int Digit = 0x200;
    private const int LeetLetter = 0x400;
    private const int DigitClassShift = 11;
    private const int LetterClass = 2;
    private static readonly int[] Info = BuildInfo();

    // How many word starts are remembered; a phrase of more words than this sends the text to the full path.
    private const int RememberedWords = 64;

    private readonly int[] delta;

    // For each automaton state, the lexicon phrases it ends as (length, spaces) pairs: reportStart[s]..reportStart[s+1].
    private readonly int[] reportStart;
    private readonly int[] reportLength;
    private readonly int[] reportSpaces;

    /// <param name="automaton">The scanner's automaton.</param>
    /// <param name="keys">The automaton's keys (normalised phrases).</param>
    /// <param name="hasEntries">Whether a key is a lexicon phrase (not only a context phrase).</param>
    public AsciiFastPath(PhraseAutomaton automaton, IReadOnlyList<string> keys, Func<int, bool> hasEntries)
    {
        delta = automaton.Transitions;
        reportStart = new int[automaton.StateCount + 1];
        var lengths = new List<int>();
        var spaces = new List<int>();
        for (var s = 0; s < automaton.StateCount; s++)
        {
            reportStart[s] = lengths.Count;
            foreach (var key in automaton.OutputsOf(s))
            {
                if (hasEntries(key))
                {
                    lengths.Add(keys[key].Length);
                    spaces.Add(keys[key].Count(c => c == ' '));
                }
            }
        }

        reportStart[automaton.StateCount] = lengths.Count;
        reportLength = [.. lengths];
        reportSpaces = [.. spaces];
    }

    /// <summary>
    /// True when <paramref name="text"/> is ASCII and certainly matches no lexicon phrase after normalisation; false
    /// when the full path must decide (it may still find nothing).
    /// </summary>
    [SkipLocalsInit]
    public bool ProvesNothing(ReadOnlySpan<char> text)
    {
        // One vectorised check up front, so the loop below never tests for non-ASCII characters.
        if (!Ascii.IsValid(text))
        {
            return false;
        }

        var table = delta;
        var info = Info;
        var s = 0;

        // The state that ended a lexicon phrase at the last normalised character, or -1; checked at each word's end
        // (the normaliser never writes a letter right after a word, only a separator or nothing).
        var armed = -1;

        // Normalised characters so far, and where the last RememberedWords words started (slots are written before
        // they are read: only the last min(words, RememberedWords) are looked at).
        var o = 0;
        Span<int> wordStarts = stackalloc int[RememberedWords];
        var words = 0;
        var emitted = false;
        var singles = 0;
        var lastSingleEnd = 0;
        var i = 0;
        var n = text.Length;
        while (i < n)
        {
            int x = info[text[i]];
            if ((x & (Separator | Dropped)) != 0)
            {
                i++;
                continue;
            }

            // One word, the characters up to the next separator (apostrophes inside are removed), fed in the same
            // pass on the guess that it holds a letter (so leetspeak applies); a word without one is fed again.
            var start = i;
            var end = i;
            var wordState = s;
            var wordOut = o;
            if (emitted)
            {
                // No phrase ends with a separator, so the state reached ends none that counts.
                s = table[s];
                s = s < 0 ? ~s : s;
                o++;
            }

            wordStarts[words & (RememberedWords - 1)] = o;
            words++;
            var flags = 0;
            var first = x & ClassMask;
            var differs = 0;
            var previous = -1;
            var j = i;
            for (; j < n; j++)
            {
                x = info[text[j]];
                if ((x & (Separator | Dropped)) != 0)
                {
                    if ((x & Separator) != 0)
                    {
                        break;
                    }

                    continue;
                }

                flags |= x;
                end = j + 1;
                var t = x & ClassMask;
                differs |= t ^ first;
                if (t == previous && (x & LeetLetter) != 0)
                {
                    continue;
                }

                previous = t;
                o++;
                s = table[s + t];
                armed = -1;
                if (s < 0)
                {
                    s = ~s;
                    var state = s / PhraseAutomaton.Classes;
                    armed = reportStart[state] < reportStart[state + 1] ? state : -1;
                }
            }

            i = j;
            var hasLetter = (flags & Letter) != 0;
            if (!hasLetter)
            {
                // Undo the guess: only '@' and '$' (the normaliser drops the word and leaves the spread-word state
                // alone), or a number, whose digits stay digits and '@' and '$' vanish.
                s = wordState;
                o = wordOut;
                words--;
                armed = -1;
                if ((flags & Digit) == 0)
                {
                    continue;
                }

                if (emitted)
                {
                    s = table[s];
                    s = s < 0 ? ~s : s;
                    o++;
                }

                wordStarts[words & (RememberedWords - 1)] = o;
                words++;
                for (var k = start; k < end; k++)
                {
                    x = info[text[k]];
                    if ((x & Digit) != 0)
                    {
                        o++;
                        s = Step(table, s, x >> DigitClassShift, ref armed);
                    }
                }
            }

            if (hasLetter && differs == 0 && (uint)(first - LetterClass) < 26)
            {
                // A single letter ("i", "a", "kk"): three in a row, close together, could be a spread word.
                singles = singles > 0 && GapAllowsJoin(text, lastSingleEnd, start) ? singles + 1 : 1;
                if (singles >= SafetyNormalizer.MinSpreadLetters)
                {
                    return false;
                }

                lastSingleEnd = end;
            }
            else
            {
                singles = 0;
            }

            // The next normalised character is a separator or the end: a phrase ending here is at a word boundary.
            if (armed >= 0 && StartsAtWord(armed, o, wordStarts, words))
            {
                return false;
            }

            armed = -1;
            emitted = true;
        }

        return true;
    }

    // One automaton step; remembers the state if it ends a lexicon phrase.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Step(int[] table, int s, int symbolClass, ref int armed)
    {
        s = table[s + symbolClass];
        armed = -1;
        if (s < 0)
        {
            s = ~s;
            var state = s / PhraseAutomaton.Classes;
            armed = reportStart[state] < reportStart[state + 1] ? state : -1;
        }

        return s;
    }

    // Whether one of the lexicon phrases that state ends, ending at normalised position end, starts where a word starts.
    private bool StartsAtWord(int state, int end, ReadOnlySpan<int> wordStarts, int words)
    {
        for (var r = reportStart[state]; r < reportStart[state + 1]; r++)
        {
            var back = reportSpaces[r];
            if (back >= words || back >= RememberedWords || end - reportLength[r] == wordStarts[(words - 1 - back) % RememberedWords])
            {
                return true;
            }
        }

        return false;
    }

    private static bool GapAllowsJoin(ReadOnlySpan<char> text, int previousEnd, int nextStart) =>
        nextStart - previousEnd <= SafetyNormalizer.MaxSpreadGap && text[previousEnd..nextStart].IndexOfAny('\n', '\r') < 0;

    private static int[] BuildInfo()
    {
        var table = new int[128];
        for (var c = 0; c < 128; c++)
        {
            var m = SafetyNormalizer.AsciiStageOne((char)c);
            if (m == '\0')
            {
                table[c] = Dropped;
                continue;
            }

            if (SafetyNormalizer.IsSeparator(m))
            {
                table[c] = Separator;
                continue;
            }

            var t = SafetyNormalizer.Leet(m);
            table[c] = PhraseAutomaton.Class(t)
                | (m is >= 'a' and <= 'z' ? Letter : 0)
                | (m is >= '0' and <= '9' ? Digit | (PhraseAutomaton.Class(m) << DigitClassShift) : 0)
                | (t is >= 'a' and <= 'z' ? LeetLetter : 0);
        }

        return table;
    }
}
