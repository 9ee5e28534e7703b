using Homeroom.Contracts.Agents;
using Homeroom.Contracts.Enrollment;

namespace Homeroom.Simulator.Fleet;

/// <summary>One safety signal a virtual student sends at a time of the school day.</summary>
/// <param name="TimeOfDay">Local time of day (the fleet's zone) it is sent at.</param>
/// <param name="Source">A <see cref="SignalSources"/> value.</param>
/// <param name="Text">What the student searched, viewed or typed.</param>
/// <param name="Url">The page it happened on.</param>
/// <param name="Concerning">Whether it is meant to raise an alert (false: a harmless look-alike the engine should ignore).</param>
public sealed record ScriptedSignal(TimeSpan TimeOfDay, string Source, string Text, string? Url, bool Concerning);

/// <summary>
/// Which virtual students search, view or type something concerning, and when, so the demo shows
/// real safety alerts beside correctly ignored false alarms. Fixed by the seed and the device's
/// index: the same seed gives the same students, phrases and times every school day. About one
/// student in twenty is at risk (two or three concerning signals of one kind, in English or Spanish,
/// one of them in the evening at home); about one in five sends a harmless look-alike ("history essay
/// on the holocaust", "this homework is killing me", "suicide prevention hotline"). Only devices with
/// an agent that reads text send any: Chromebooks (searches, titles, typed text) and Windows and Mac
/// laptops (window titles); iPads and Android tablets give no such signal.
/// </summary>
public static class SafetyScript
{
    /// <summary>One student in this many is at risk.</summary>
    public const int AtRiskOneIn = 20;

    /// <summary>One student in this many (of the others) sends harmless look-alikes.</summary>
    public const int LookAlikeOneIn = 5;

    private static readonly TimeSpan SchoolStart = TimeSpan.FromHours(8);
    private static readonly TimeSpan SchoolEnd = TimeSpan.FromHours(14.5);
    private static readonly TimeSpan EveningStart = TimeSpan.FromHours(19);

    // What at-risk students search, view and type, by kind (English and Spanish), written for the
    // demo. The self-harm ones follow the warning signs of the 988 Suicide & Crisis Lifeline's "Know
    // the signs" list (talking about wanting to die or being a burden, searching online for a method),
    // put the way a student would type them. The first of each kind says it plainly and is always sent
    // (at school), so every at-risk student shows up in the queue; the others are subtler and show what
    // the district's lexicon catches and what it still misses.
    private static readonly (string Source, string Text)[][] Concerning =
    [
        [
            (SignalSources.Search, "painless ways to kill myself"),
            (SignalSources.Search, "how to tie a noose"),
            (SignalSources.Typed, "nobody would even notice if i was gone"),
            (SignalSources.Title, "I want to die and I don't know who to tell - Forum"),
        ],
        [
            (SignalSources.Typed, "ya no quiero vivir, nadie me va a extrañar"),
            (SignalSources.Search, "como suicidarse sin dolor"),
            (SignalSources.Search, "cuantas pastillas para morir"),
        ],
        [
            (SignalSources.Typed, "i cut myself again last night"),
            (SignalSources.Search, "how to hide cutting scars from parents"),
            (SignalSources.Search, "self harm with a razor blade"),
        ],
        [
            (SignalSources.Typed, "everyone hates you, you should just kill yourself"),
            (SignalSources.Typed, "kys nobody wants you here"),
            (SignalSources.Search, "how to make someone's life miserable at school"),
        ],
        [
            (SignalSources.Typed, "i'm bringing my dad's gun to school tomorrow"),
            (SignalSources.Search, "how to make a pipe bomb"),
            (SignalSources.Search, "how to buy a gun without a background check"),
        ],
        [
            (SignalSources.Typed, "who has xanax and percocet for sale after school"),
            (SignalSources.Search, "where can i buy fentanyl pills"),
            (SignalSources.Search, "how much vodka to get drunk fast"),
        ],
    ];

    // Harmless text that shares words with the concerning lexicon: the engine's context rules
    // should let every one of these pass.
    private static readonly (string Source, string Text)[] LookAlikes =
    [
        (SignalSources.Search, "history essay on the holocaust"),
        (SignalSources.Typed, "this homework is killing me"),
        (SignalSources.Search, "suicide prevention hotline"),
        (SignalSources.Search, "to kill a mockingbird chapter 3 summary"),
        (SignalSources.Title, "Romeo and Juliet: the death scene explained - SparkNotes"),
        (SignalSources.Search, "killer whale facts for kids"),
        (SignalSources.Typed, "i'm dying to see the new movie lol"),
        (SignalSources.Search, "basketball shooting drills for beginners"),
        (SignalSources.Search, "prevencion del suicidio en adolescentes"),
        (SignalSources.Title, "The Battle of Gettysburg - History"),
        (SignalSources.Typed, "that test was brutal, i'm dead"),
        (SignalSources.Search, "drug abuse health class project ideas"),
    ];

    /// <summary>The signals a device sends each school day, in time order; empty for most devices.</summary>
    public static IReadOnlyList<ScriptedSignal> For(int seed, DeviceSpec spec)
    {
        if (spec.IsSpare || spec.Platform is not (DevicePlatform.ChromeOS or DevicePlatform.Windows or DevicePlatform.MacOS))
        {
            return [];
        }

        // Not HashCode.Combine: it is randomised per process, and the script must be the same every run.
        var random = new Random(unchecked((seed * 7_919) + (spec.Index * 104_729) + 17));
        var signals = new List<ScriptedSignal>();
        var roll = random.Next(AtRiskOneIn * LookAlikeOneIn);
        if (roll < LookAlikeOneIn)
        {
            var kind = Concerning[random.Next(Concerning.Length)];
            var count = 2 + random.Next(2);
            var next = random.Next(kind.Length - 1);
            for (var i = 0; i < count; i++)
            {
                // The plain one first, then the subtler ones of the kind in turn.
                var (source, text) = i == 0 ? kind[0] : kind[1 + ((next + i - 1) % (kind.Length - 1))];
                // The last one in the evening, at home (only scanned where the district's policy says safety.atHome).
                var at = i == count - 1 ? EveningStart + Minutes(random, 120) : SchoolTime(random);
                signals.Add(Make(spec, at, source, text, concerning: true));
            }
        }

        if (roll < LookAlikeOneIn || random.Next(LookAlikeOneIn) == 0)
        {
            var (source, text) = LookAlikes[random.Next(LookAlikes.Length)];
            signals.Add(Make(spec, SchoolTime(random), source, text, concerning: false));
        }

        return [.. signals.OrderBy(s => s.TimeOfDay)];
    }

    private static TimeSpan SchoolTime(Random random) => SchoolStart + Minutes(random, (int)(SchoolEnd - SchoolStart).TotalMinutes);

    private static TimeSpan Minutes(Random random, int range) => TimeSpan.FromMinutes(random.Next(range)) + TimeSpan.FromSeconds(random.Next(60));

    private static ScriptedSignal Make(DeviceSpec spec, TimeSpan at, string source, string text, bool concerning)
    {
        if (spec.Platform != DevicePlatform.ChromeOS)
        {
            // The .NET agent sees window titles: a search, a page and a document all show up there.
            var title = source switch
            {
                SignalSources.Search => $"{text} - Google Search - Google Chrome",
                SignalSources.Typed => $"{text} - Notepad",
                _ => $"{text} - Google Chrome",
            };
            return new ScriptedSignal(at, SignalSources.Window, title, null, concerning);
        }

        var url = source switch
        {
            SignalSources.Search => $"https://www.google.com/search?q={Uri.EscapeDataString(text).Replace("%20", "+", StringComparison.Ordinal)}",
            SignalSources.Typed => "https://docs.google.com/document/d/1",
            _ => "https://forum.example.org/t/1",
        };
        return new ScriptedSignal(at, source, text, url, concerning);
    }
}
