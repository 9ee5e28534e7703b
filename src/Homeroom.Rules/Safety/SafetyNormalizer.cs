using System.Globalization;
using System.Text;

namespace Homeroom.Rules.Safety;

/// <summary>
/// Normalised text with a map from every normalised character back to the original characters it came from.
/// The normalised form holds only <c>a</c>-<c>z</c>, <c>0</c>-<c>9</c>, other letters (non-Latin scripts,
/// kept as they are), single spaces between words and <c>\n</c> where a sentence ends.
/// </summary>
public sealed class NormalizedText
{
    private readonly int[] starts;
    private readonly int[] ends;

    internal NormalizedText(string text, int[] starts, int[] ends)
    {
        Text = text;
        this.starts = starts;
        this.ends = ends;
    }

    public string Text { get; }

    /// <summary>The first original UTF-16 offset that normalised character <paramref name="index"/> came from.</summary>
    public int OriginalStart(int index) => starts[index];

    /// <summary>The original UTF-16 offset just after the characters normalised character <paramref name="index"/> came from.</summary>
    public int OriginalEnd(int index) => ends[index];
}

/// <summary>
/// The safety engine's text normalisation (docs/safety.md, "Normalisation"): compatibility decomposition and
/// case folding, accents removed, look-alike letters and leetspeak mapped, zero-width and bidi controls removed,
/// lone surrogates and punctuation made separators, letters spread out with spaces or dots joined, and repeated
/// letters collapsed to one. Lexicon phrases go through the same steps, so "kill" and "kiiiill" both become "kil".
/// </summary>
public static class SafetyNormalizer
{
    /// <summary>A compatibility mapping longer than this (a few Arabic ligatures) is cut to this many characters.</summary>
    public const int MaxExpansion = 4;

    /// <summary>The widest original gap (in UTF-16 characters, no line break) between single letters that are joined into one word.</summary>
    public const int MaxSpreadGap = 3;

    /// <summary>How many single letters in a row, at most <see cref="MaxSpreadGap"/> apart, are joined ("k i l l", "d.i.e").</summary>
    public const int MinSpreadLetters = 3;

    // Placeholder for a letter outside the Basic Multilingual Plane: a word character no phrase contains.
    internal const char OtherLetter = '\uFFFD';

    // Stage one's output for ASCII: the character itself, a separator (' '), a sentence end ('\n') or '\0' (removed).
    private static readonly char[] AsciiOut = BuildAsciiTable();
    private static readonly string?[] BmpCache = new string?[65536];
    private static readonly string?[] SupplementaryCache = new string?[0x1D800 - 0x1D400 + 0x100];

    // The compatibility decompositions (NFKD, marks removed) of UnicodeFolding.Table: string.Normalize does not
    // decompose under invariant globalization, which the server uses.
    private static readonly Lazy<Dictionary<int, string>> Folding = new(ReadFolding);

    // Reused by Normalize on each thread: building a lexicon normalises thousands of phrases.
    [ThreadStatic]
    private static NormalizerBuffers? sharedBuffers;

    /// <summary>Normalises a text (allocates the result; the scanner uses a reusable workspace instead).</summary>
    public static NormalizedText Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var buffers = sharedBuffers ??= new NormalizerBuffers();
        var length = Run(text, buffers);
        return new NormalizedText(new string(buffers.Norm, 0, length), buffers.NormStart[..length], buffers.NormEnd[..length]);
    }

    /// <summary>A lexicon or context phrase in normalised form: as <see cref="Normalize"/>, with sentence ends as plain spaces.</summary>
    public static string NormalizePhrase(string phrase)
    {
        ArgumentNullException.ThrowIfNull(phrase);
        return Normalize(phrase).Text.Replace('\n', ' ');
    }

    internal static bool IsLetter(char c) => c is >= 'a' and <= 'z' || c >= 0x80;

    internal static bool IsSeparator(char c) => c is ' ' or '\n';

    /// <summary>Normalises <paramref name="text"/> into <paramref name="buffers"/>; returns the normalised length.</summary>
    internal static int Run(ReadOnlySpan<char> text, NormalizerBuffers buffers)
    {
        buffers.Ensure(text.Length);
        var raw = FirstStage(text, buffers);
        return SecondStage(text, buffers, raw);
    }

    // Stage one: one original character (or surrogate pair) at a time to 0..MaxExpansion characters, each
    // remembering its original span; runs of separators become one (a sentence end wins over a space).
    private static int FirstStage(ReadOnlySpan<char> text, NormalizerBuffers b)
    {
        var raw = b.Raw;
        var rs = b.RawStart;
        var re = b.RawEnd;
        var r = 0;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c < 128)
            {
                var m = AsciiOut[c];
                if (c == '.')
                {
                    // "google.com", "3.5" and "s.u.i.c.i.d.e" are not sentence ends.
                    m = r > 0 && !IsSeparator(raw[r - 1]) && i + 1 < text.Length && char.IsAsciiLetterOrDigit(text[i + 1]) ? ' ' : '\n';
                }

                if (m != '\0')
                {
                    r = Emit(raw, rs, re, r, m, i, i + 1);
                }

                i++;
                continue;
            }

            string mapped;
            var width = 1;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                mapped = Supplementary(char.ConvertToUtf32(c, text[i + 1]));
                width = 2;
            }
            else if (char.IsSurrogate(c))
            {
                // Invalid UTF-16 (a lone surrogate) separates words; it never joins or hides them.
                mapped = " ";
            }
            else
            {
                mapped = BmpCache[c] ??= MapBmp(c);
            }

            foreach (var m in mapped)
            {
                r = Emit(raw, rs, re, r, m, i, i + width);
            }

            i += width;
        }

        return r;
    }

    private static int Emit(char[] raw, int[] rs, int[] re, int r, char m, int start, int end)
    {
        if (IsSeparator(m) && r > 0 && IsSeparator(raw[r - 1]))
        {
            if (m == '\n')
            {
                raw[r - 1] = '\n';
            }

            re[r - 1] = end;
            return r;
        }

        raw[r] = m;
        rs[r] = start;
        re[r] = end;
        return r + 1;
    }

    // Stage two, word by word: leetspeak in words that hold a letter ("k1ll", "$uicide"; "2024" stays a
    // number), repeated letters collapsed, and runs of single letters joined ("k i l l" -> "kill" -> "kil").
    private static int SecondStage(ReadOnlySpan<char> text, NormalizerBuffers b, int rawLength)
    {
        var raw = b.Raw;
        var rawStart = b.RawStart;
        var rawEnd = b.RawEnd;
        var norm = b.Norm;
        var ns = b.NormStart;
        var ne = b.NormEnd;
        var o = 0;
        var pending = '\0';
        int pendingStart = 0, pendingEnd = 0;
        int runStart = 0, runLength = 0, lastSingleEnd = 0, lastSingleOut = 0, gapStart = 0, gapLength = 0;
        var i = 0;
        while (i < rawLength)
        {
            var c = raw[i];
            if (IsSeparator(c))
            {
                pending = c;
                pendingStart = rawStart[i];
                pendingEnd = rawEnd[i];
                i++;
                continue;
            }

            var j = i;
            bool hasLetter = false, hasDigit = false;
            while (j < rawLength && !IsSeparator(raw[j]))
            {
                var t = raw[j];
                hasLetter |= IsLetter(t);
                hasDigit |= char.IsAsciiDigit(t);
                j++;
            }

            if (!hasLetter && !hasDigit)
            {
                // Only '@' and '$': nothing to keep.
                i = j;
                continue;
            }

            var single = false;
            if (hasLetter)
            {
                var first = Leet(raw[i]);
                single = first is >= 'a' and <= 'z';
                for (var k = i + 1; single && k < j; k++)
                {
                    single = Leet(raw[k]) == first;
                }
            }

            // Letters of one spread word are set apart the same way: "k-i-l-l m-y-s-e-l-f" is two words, and in
            // "i w.a.n.t" the changed gap makes "w" the first letter of a new spread word.
            var gapOk = single && runLength > 0 && GapAllowsJoin(text, lastSingleEnd, rawStart[i]);
            var continues = gapOk
                && (runLength == 1 || text.Slice(lastSingleEnd, rawStart[i] - lastSingleEnd).SequenceEqual(text.Slice(gapStart, gapLength)));
            if (continues && runLength == 1)
            {
                gapStart = lastSingleEnd;
                gapLength = rawStart[i] - lastSingleEnd;
            }

            if (!continues && gapOk && runLength < MinSpreadLetters)
            {
                runStart = lastSingleOut;
                runLength = 1;
                gapStart = lastSingleEnd;
                gapLength = rawStart[i] - lastSingleEnd;
            }
            else if (!continues)
            {
                if (runLength >= MinSpreadLetters)
                {
                    o = JoinRun(norm, ns, ne, runStart, o);
                }

                runLength = 0;
            }

            if (o > 0 && pending != '\0')
            {
                norm[o] = pending;
                ns[o] = pendingStart;
                ne[o] = pendingEnd;
                o++;
            }

            pending = '\0';
            if (single)
            {
                if (runLength == 0)
                {
                    runStart = o;
                }

                runLength++;
                lastSingleEnd = rawEnd[j - 1];
                lastSingleOut = o;
            }

            var tokenStart = o;
            for (var k = i; k < j; k++)
            {
                var t = raw[k];
                if (hasLetter)
                {
                    t = Leet(t);
                }
                else if (t is '@' or '$')
                {
                    continue;
                }

                if (o > tokenStart && norm[o - 1] == t && IsLetter(t))
                {
                    ne[o - 1] = rawEnd[k];
                    continue;
                }

                norm[o] = t;
                ns[o] = rawStart[k];
                ne[o] = rawEnd[k];
                o++;
            }

            i = j;
        }

        if (runLength >= MinSpreadLetters)
        {
            o = JoinRun(norm, ns, ne, runStart, o);
        }

        return o;
    }

    private static bool GapAllowsJoin(ReadOnlySpan<char> text, int previousEnd, int nextStart)
    {
        // Letters from one expanded character ("⒜⒝" style) are not a spread word; nor is a wide gap.
        if (nextStart < previousEnd || nextStart - previousEnd > MaxSpreadGap)
        {
            return false;
        }

        return text[previousEnd..nextStart].IndexOfAny('\n', '\r') < 0;
    }

    private static int JoinRun(char[] norm, int[] ns, int[] ne, int runStart, int end)
    {
        var w = runStart;
        for (var k = runStart; k < end; k++)
        {
            var t = norm[k];
            if (IsSeparator(t))
            {
                continue;
            }

            if (w > runStart && norm[w - 1] == t)
            {
                ne[w - 1] = ne[k];
                continue;
            }

            norm[w] = t;
            ns[w] = ns[k];
            ne[w] = ne[k];
            w++;
        }

        return w;
    }

    internal static char Leet(char c) => c switch
    {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        '@' => 'a',
        '$' => 's',
        _ => c,
    };

    /// <summary>Stage one's output for an ASCII character other than '.' (which is a separator either way).</summary>
    internal static char AsciiStageOne(char c) => AsciiOut[c];

    private static char[] BuildAsciiTable()
    {
        var table = new char[128];
        for (var c = 0; c < 128; c++)
        {
            var ch = (char)c;
            table[c] = ch switch
            {
                >= 'A' and <= 'Z' => (char)(ch + 32),
                >= 'a' and <= 'z' or >= '0' and <= '9' or '@' or '$' => ch,
                '\'' or '`' => '\0',
                '.' or '!' or '?' or ';' or '\n' or '\r' => '\n',
                _ => ' ',
            };
        }

        return table;
    }

    // Look-alike letters from other scripts (after lower-casing) that are written to pass for Latin ones.
    private static char LookAlike(char c) => c switch
    {
        'а' => 'a', 'в' => 'b', 'е' => 'e', 'ё' => 'e', 'к' => 'k', 'м' => 'm', 'н' => 'h', 'о' => 'o', 'р' => 'p',
        'с' => 'c', 'т' => 't', 'у' => 'y', 'х' => 'x', 'і' => 'i', 'ї' => 'i', 'ј' => 'j', 'ѕ' => 's', 'ԁ' => 'd',
        'ɡ' => 'g', 'ı' => 'i', 'ł' => 'l', 'ø' => 'o', 'đ' => 'd', 'ħ' => 'h',
        'α' => 'a', 'β' => 'b', 'ε' => 'e', 'η' => 'n', 'ι' => 'i', 'κ' => 'k', 'ν' => 'v', 'ο' => 'o', 'ρ' => 'p',
        'τ' => 't', 'υ' => 'u', 'χ' => 'x', 'ς' => 's', 'ω' => 'w', 'γ' => 'y',
        _ => c,
    };

    private static string MapBmp(char c)
    {
        if (char.GetUnicodeCategory(c) == UnicodeCategory.Format)
        {
            // Zero-width characters, bidi controls, the soft hyphen: used to hide words, so they vanish.
            return string.Empty;
        }

        if (c is '\u2028' or '\u2029')
        {
            return "\n";
        }

        if (c is 'ß' or 'ẞ')
        {
            return "ss";
        }

        return MapDecomposed(Folding.Value.GetValueOrDefault(c, c.ToString()));
    }

    private static string MapDecomposed(string decomposed)
    {
        var result = new StringBuilder(MaxExpansion);
        foreach (var d in decomposed)
        {
            var category = char.GetUnicodeCategory(d);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
                or UnicodeCategory.EnclosingMark or UnicodeCategory.Format)
            {
                continue;
            }

            var lower = LookAlike(char.ToLowerInvariant(d));
            char m;
            if (lower < 128)
            {
                m = AsciiOut[lower];
                if (lower == '.')
                {
                    m = ' ';
                }
            }
            else if (lower is '\u2018' or '\u2019' or '\u02BC' or '\u2032')
            {
                m = '\0';
            }
            else if (char.IsLetterOrDigit(lower))
            {
                m = lower;
            }
            else if (lower is '\u3002' or '\uFF01' or '\uFF1F' or '\u2026' or '\u0964')
            {
                m = '\n';
            }
            else
            {
                m = ' ';
            }

            if (m == '\0' || (IsSeparator(m) && result.Length > 0 && IsSeparator(result[^1])))
            {
                continue;
            }

            if (result.Length == MaxExpansion)
            {
                break;
            }

            result.Append(m);
        }

        return result.ToString();
    }

    private static Dictionary<int, string> ReadFolding()
    {
        var table = UnicodeFolding.Table;
        var folding = new Dictionary<int, string>(4600);
        var i = 0;
        while (i < table.Length)
        {
            Rune.DecodeFromUtf16(table.AsSpan(i), out var rune, out var width);
            i += width;
            var length = table[i] - '0';
            folding[rune.Value] = table.Substring(i + 1, length);
            i += 1 + length;
        }

        return folding;
    }

    private static string Supplementary(int codePoint)
    {
        // Regional indicator letters (🇰🇮🇱🇱) spell Latin letters.
        if (codePoint is >= 0x1F1E6 and <= 0x1F1FF)
        {
            return ((char)('a' + (codePoint - 0x1F1E6))).ToString();
        }

        // Mathematical alphanumerics (𝐤𝐢𝐥𝐥) and enclosed alphanumerics (🄺) decompose to Latin letters and digits.
        var slot = codePoint switch
        {
            >= 0x1D400 and < 0x1D800 => codePoint - 0x1D400,
            >= 0x1F100 and < 0x1F200 => 0x400 + codePoint - 0x1F100,
            _ => -1,
        };
        if (slot >= 0)
        {
            return SupplementaryCache[slot] ??= MapDecomposed(Folding.Value.GetValueOrDefault(codePoint, string.Empty));
        }

        return Rune.IsLetterOrDigit(new Rune(codePoint)) ? "\uFFFD" : " ";
    }
}

/// <summary>Reusable buffers of one normalisation (one per thread in the scanner).</summary>
internal sealed class NormalizerBuffers
{
    public char[] Raw = [];
    public int[] RawStart = [];
    public int[] RawEnd = [];
    public char[] Norm = [];
    public int[] NormStart = [];
    public int[] NormEnd = [];

    public void Ensure(int textLength)
    {
        var capacity = (textLength * SafetyNormalizer.MaxExpansion) + 8;
        if (Raw.Length >= capacity)
        {
            return;
        }

        capacity = Math.Max(capacity, 1024);
        Raw = new char[capacity];
        RawStart = new int[capacity];
        RawEnd = new int[capacity];
        Norm = new char[capacity];
        NormStart = new int[capacity];
        NormEnd = new int[capacity];
    }
}
