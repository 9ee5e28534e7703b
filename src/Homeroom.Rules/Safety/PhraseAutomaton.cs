namespace Homeroom.Rules.Safety;

/// <summary>
/// Aho-Corasick over normalised text with a dense transition table: every state has one slot per symbol class
/// (separator, sentence end, a-z, 0-9, other letter), states are stored pre-multiplied by the class count, and a
/// negative slot means "the target state ends at least one phrase", so the hot loop is one load and one sign test.
/// States are numbered breadth-first, so the rows of the shallow states, which ordinary text visits most, lie together.
/// </summary>
internal sealed class PhraseAutomaton
{
    public const int Classes = 39;
    private const int OtherClass = 38;
    private static readonly byte[] AsciiClass = BuildClasses();

    private readonly int[] delta;
    private readonly int[] outputStart;
    private readonly int[] outputKeys;
    private readonly int[] keyLengths;

    public PhraseAutomaton(IReadOnlyList<string> keys)
    {
        keyLengths = [.. keys.Select(k => k.Length)];
        var capacity = 1024;
        var next = new int[capacity * Classes];
        Array.Fill(next, -1);
        var own = new List<List<int>?> { null };
        var states = 1;
        for (var k = 0; k < keys.Count; k++)
        {
            var s = 0;
            foreach (var ch in keys[k])
            {
                var slot = (s * Classes) + Class(ch);
                if (next[slot] < 0)
                {
                    if (states == capacity)
                    {
                        capacity *= 2;
                        var grown = new int[capacity * Classes];
                        Array.Fill(grown, -1, next.Length, grown.Length - next.Length);
                        Array.Copy(next, grown, next.Length);
                        next = grown;
                    }

                    next[slot] = states++;
                    own.Add(null);
                }

                s = next[slot];
            }

            (own[s] ??= []).Add(k);
        }

        // Breadth-first: failure links, the missing transitions filled from them, and every state's outputs
        // (its own phrases and those of its failure chain) laid out flat.
        var fail = new int[states];
        var outputs = new List<int>?[states];
        var queue = new Queue<int>();

        // The breadth-first order becomes the state numbering, so the states near the root (where almost every
        // character of ordinary text is) share a small part of the table and stay in cache.
        var order = new int[states];
        var ordered = 1;
        for (var c = 0; c < Classes; c++)
        {
            var t = next[c];
            if (t < 0)
            {
                next[c] = 0;
            }
            else
            {
                fail[t] = 0;
                outputs[t] = own[t];
                queue.Enqueue(t);
                order[ordered++] = t;
            }
        }

        while (queue.Count > 0)
        {
            var s = queue.Dequeue();
            for (var c = 0; c < Classes; c++)
            {
                var slot = (s * Classes) + c;
                var t = next[slot];
                var viaFail = next[(fail[s] * Classes) + c];
                if (t < 0)
                {
                    next[slot] = viaFail;
                    continue;
                }

                fail[t] = viaFail;
                var inherited = outputs[viaFail];
                outputs[t] = own[t] is null ? inherited : inherited is null ? own[t] : [.. own[t]!, .. inherited];
                queue.Enqueue(t);
                order[ordered++] = t;
            }
        }

        var rank = new int[states];
        for (var r = 0; r < states; r++)
        {
            rank[order[r]] = r;
        }

        outputStart = new int[states + 1];
        var flat = new List<int>();
        for (var s = 0; s < states; s++)
        {
            outputStart[s] = flat.Count;
            if (outputs[order[s]] is { } list)
            {
                flat.AddRange(list);
            }
        }

        outputStart[states] = flat.Count;
        outputKeys = [.. flat];
        delta = new int[states * Classes];
        for (var s = 0; s < states; s++)
        {
            for (var c = 0; c < Classes; c++)
            {
                var t = next[(order[s] * Classes) + c];
                delta[(s * Classes) + c] = outputs[t] is null ? rank[t] * Classes : ~(rank[t] * Classes);
            }
        }

        StateCount = states;
    }

    public int StateCount { get; }

    /// <summary>The transition table (states pre-multiplied by <see cref="Classes"/>, negative where the target has outputs).</summary>
    internal int[] Transitions => delta;

    /// <summary>The keys state <paramref name="state"/> (by number, not pre-multiplied) ends, its own and its failure chain's.</summary>
    internal ReadOnlySpan<int> OutputsOf(int state) => outputKeys.AsSpan(outputStart[state], outputStart[state + 1] - outputStart[state]);

    public static int Class(char c) => c < 128 ? AsciiClass[c] : OtherClass;

    /// <summary>Finds every key occurrence with a word boundary on both sides; appends (key, start, end) to <paramref name="hits"/>.</summary>
    public void Find(ReadOnlySpan<char> text, HitList hits)
    {
        var table = delta;
        var classes = AsciiClass;
        var s = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            s = table[s + (c < 128 ? classes[c] : OtherClass)];
            if (s < 0)
            {
                s = ~s;
                Report(text, s / Classes, i, hits);
            }
        }
    }

    private void Report(ReadOnlySpan<char> text, int state, int last, HitList hits)
    {
        if (last + 1 < text.Length && !SafetyNormalizer.IsSeparator(text[last + 1]))
        {
            return;
        }

        for (var o = outputStart[state]; o < outputStart[state + 1]; o++)
        {
            var key = outputKeys[o];
            var start = last + 1 - keyLengths[key];
            if (start == 0 || SafetyNormalizer.IsSeparator(text[start - 1]))
            {
                hits.Add(key, start, last + 1);
            }
        }
    }

    private static byte[] BuildClasses()
    {
        var table = new byte[128];
        for (var c = 0; c < 128; c++)
        {
            table[c] = (char)c switch
            {
                '\n' => 1,
                >= 'a' and <= 'z' => (byte)(2 + c - 'a'),
                >= '0' and <= '9' => (byte)(28 + c - '0'),
                _ => 0,
            };
        }

        return table;
    }
}

/// <summary>Key occurrences found in one scan (reused per thread).</summary>
internal sealed class HitList
{
    public int[] Keys = new int[64];
    public int[] Starts = new int[64];
    public int[] Ends = new int[64];
    public int Count;

    public void Add(int key, int start, int end)
    {
        if (Count == Keys.Length)
        {
            Array.Resize(ref Keys, Count * 2);
            Array.Resize(ref Starts, Count * 2);
            Array.Resize(ref Ends, Count * 2);
        }

        Keys[Count] = key;
        Starts[Count] = start;
        Ends[Count] = end;
        Count++;
    }
}
