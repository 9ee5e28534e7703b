using System.Globalization;

namespace Homeroom.Rules.Safety;

/// <summary>
/// The shipped lexicon, written for Homeroom. Its choice of self-harm phrases and of the raising context
/// (talk of wanting to die, of a plan or a means, of a time, of saying goodbye, of being a burden) draws on the
/// published warning-sign lists of the 988 Suicide &amp; Crisis Lifeline, the American Foundation for Suicide
/// Prevention ("Risk factors, protective factors and warning signs") and the WHO's "Preventing suicide: a
/// resource for teachers and other school staff"; the bullying and violence phrases on StopBullying.gov's
/// description of verbal and social bullying and of threats, and on the U.S. Secret Service National Threat
/// Assessment Center's "Protecting America's Schools" (leakage: telling others of a plan to attack). The words
/// are our own; no list was copied. Weights: about 70 for a phrase that on its own means a student may be in
/// danger, 30 to 50 for one that usually does, 10 to 20 for words that only matter with others.
/// </summary>
internal static class BuiltInEntries
{
    // Raising rules. A factor of 1.5 or more is intent, plan or time (SafetyScoring.UrgencyFactor).
    private static readonly ContextRule[] FirstPersonEn =
    [
        new("i", 1.2), new("im", 1.2), new("me", 1.1), new("my", 1.1), new("myself", 1.2),
        new("i want to", 1.5), new("i wanna", 1.5), new("i need to", 1.5), new("im going to", 1.6), new("im gonna", 1.6),
        new("i will", 1.5), new("ill", 1.3), new("i am going to", 1.6), new("tonight", 1.6), new("tomorrow", 1.5),
        new("today", 1.5), new("right now", 1.6), new("after school", 1.5), new("this weekend", 1.5), new("i have a plan", 1.8),
        new("my plan", 1.6), new("goodbye", 1.5), new("going to do it", 1.6), new("how many", 1.5), new("painless", 1.6), new("gonna", 1.5),
        new("monday", 1.5), new("tuesday", 1.5), new("wednesday", 1.5), new("thursday", 1.5), new("friday", 1.5),
    ];

    private static readonly ContextRule[] FirstPersonEs =
    [
        new("yo", 1.2), new("me", 1.1), new("mi", 1.1), new("quiero", 1.5), new("voy a", 1.6), new("necesito", 1.5),
        new("esta noche", 1.6), new("manana", 1.5), new("hoy", 1.5), new("ahora mismo", 1.6), new("ya", 1.2),
        new("tengo un plan", 1.8), new("mi plan", 1.6), new("adios", 1.5), new("despues de clase", 1.5), new("sin dolor", 1.6),
        new("cuantas", 1.5),
    ];

    // Lowering rules: the same words in a report, a story, a song, a game or a figure of speech.
    private static readonly ContextRule[] ReferenceEn =
    [
        new("prevention", 0.2), new("prevent", 0.3), new("hotline", 0.2), new("lifeline", 0.2), new("crisis line", 0.2),
        new("awareness", 0.3), new("essay", 0.3), new("history", 0.4), new("research", 0.4), new("statistics", 0.3),
        new("rates", 0.4), new("report", 0.5), new("article", 0.5), new("news", 0.5), new("movie", 0.3), new("film", 0.3),
        new("trailer", 0.3), new("song", 0.3), new("lyrics", 0.3), new("album", 0.4), new("book", 0.5), new("novel", 0.4),
        new("chapter", 0.5), new("poem", 0.5), new("video game", 0.3), new("game", 0.5), new("minecraft", 0.3),
        new("fortnite", 0.3), new("roblox", 0.3), new("how to help", 0.3), new("help a friend", 0.3), new("signs of", 0.3),
        new("warning signs", 0.3), new("sparknotes", 0.2), new("quizlet", 0.4), new("wikipedia", 0.4), new("netflix", 0.4),
        new("episode", 0.4), new("season", 0.5), new("documentary", 0.3), new("shakespeare", 0.3), new("mockingbird", 0.1),
        new("homework", 0.2), new("test", 0.5), new("movies", 0.3), new("films", 0.3), new("songs", 0.3), new("books", 0.5),
        new("games", 0.5), new("squad", 0.1), new("hair", 0.1), new("education", 0.2), new("health class", 0.3),
        new("first aid", 0.2), new("wound", 0.3), new("kindness", 0.1), new("photo", 0.2), new("scores", 0.2), new("score", 0.2),
        new("pistols", 0.1),
    ];

    private static readonly ContextRule[] JokesEn = [new("lol", 0.5), new("lmao", 0.4), new("jk", 0.4), new("joking", 0.4)];

    private static readonly ContextRule[] ReferenceEs =
    [
        new("prevencion", 0.2), new("prevenir", 0.3), new("linea de ayuda", 0.2), new("linea de la vida", 0.2),
        new("ensayo", 0.3), new("historia", 0.4), new("investigacion", 0.4), new("estadisticas", 0.3), new("noticias", 0.5),
        new("pelicula", 0.3), new("serie", 0.4), new("cancion", 0.3), new("letra", 0.4), new("libro", 0.5), new("novela", 0.4),
        new("videojuego", 0.3), new("juego", 0.5), new("como ayudar", 0.3), new("senales de", 0.3), new("tarea", 0.2),
        new("de risa", 0.05), new("jaja", 0.4), new("jajaja", 0.4), new("broma", 0.4), new("examen", 0.2),
        new("pelo", 0.1), new("foto", 0.2), new("camara", 0.2), new("educacion", 0.2),
    ];

    private static readonly ContextRule[] EnRules = [.. FirstPersonEn, .. ReferenceEn, .. JokesEn];
    private static readonly ContextRule[] EsRules = [.. FirstPersonEs, .. ReferenceEs];
    private static readonly ContextRule[] EnReference = ReferenceEn;
    private static readonly ContextRule[] EsReference = ReferenceEs;

    // Figures of speech that look like threats.
    private static readonly ContextRule[] FigurativeEn =
    [
        new("homework", 0.1), new("is killing me", 0.1), new("killing it", 0.1), new("dying to", 0.1),
        new("dying of laughter", 0.1), new("to die for", 0.1), new("lol", 0.3), new("lmao", 0.3),
    ];

    public static IEnumerable<LexiconEntry> All()
    {
        foreach (var entry in Read(SafetyCategory.SelfHarm, "en", EnRules, SelfHarmEn))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.SelfHarm, "es", EsRules, SelfHarmEs))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Bullying, "en", EnRules, BullyingEn))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Bullying, "es", EsRules, BullyingEs))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Violence, "en", [.. EnRules, .. FigurativeEn], ViolenceEn))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Violence, "es", EsRules, ViolenceEs))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Drugs, "en", EnReference, DrugsEn))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Drugs, "es", EsReference, DrugsEs))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Sexual, "en", EnReference, SexualEn))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Sexual, "es", EsReference, SexualEs))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Extremism, "en", EnReference, ExtremismEn))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Extremism, "es", EsReference, ExtremismEs))
        {
            yield return entry;
        }
    }

    // "weight phrase" lines.
    private static IEnumerable<LexiconEntry> Read(SafetyCategory category, string language, ContextRule[] rules, string lines)
    {
        foreach (var line in lines.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var weight = double.Parse(line.AsSpan(0, space), CultureInfo.InvariantCulture);
            yield return new LexiconEntry(line[(space + 1)..], category, weight, language, rules);
        }
    }

    private const string SelfHarmEn = """
        70 kill myself
        70 killing myself
        70 killmyself
        50 kms
        60 sucide
        60 suicde
        40 ending it all
        40 ending my life
        60 hide cuts
        60 hide my cuts
        55 cutting myself
        40 started cutting
        70 suicide methods
        70 end my life
        70 take my own life
        70 commit suicide
        60 suicide
        60 suicidal
        50 want to die
        60 wanna die
        50 dont want to live
        50 dont want to be alive
        40 better off without me
        40 better off dead
        40 no reason to live
        35 self harm
        35 selfharm
        55 cut myself
        40 hurt myself
        50 hang myself
        50 overdose
        40 how to overdose
        45 slit my wrists
        30 nobody would miss me
        30 everyone would be better off
        30 im a burden
        35 i am a burden
        60 suicide note
        30 end it all
        45 ways to die
        50 painless way to die
        60 how to kill yourself
        """;

    private const string SelfHarmEs = """
        70 matarme
        70 quitarme la vida
        60 suicidarme
        60 suicidarse
        60 suicidar
        60 suicidas
        70 pensamientos suicidas
        70 formas de suicidarse
        70 me voy a matar
        50 me corto
        70 me corto los brazos
        70 cortarme los brazos
        60 suicidio
        60 suicida
        50 quiero morir
        50 quiero morirme
        50 no quiero vivir
        45 me quiero morir
        40 cortarme
        40 hacerme dano
        40 autolesion
        30 nadie me extranaria
        30 estarian mejor sin mi
        30 soy una carga
        45 formas de morir
        30 me muero
        """;

    private const string BullyingEn = """
        60 kill yourself
        60 kys
        25 go die
        40 go die in a hole
        20 nobody likes you
        35 everyone hates you
        15 loser
        15 ugly
        20 fat pig
        35 you should die
        20 no one likes you
        15 freak
        15 retard
        20 worthless
        20 shut up fatso
        """;

    private const string BullyingEs = """
        60 matate
        30 muerete
        30 nadie te quiere
        35 todos te odian
        15 perdedor
        15 fea
        35 gorda asquerosa
        15 inutil
        """;

    private const string ViolenceEn = """
        90 shoot up the school
        80 bring a gun to school
        80 bringing a gun to school
        50 bring a gun
        55 stab him
        55 stab her
        70 kill everyone
        50 kill you
        45 kill him
        45 kill her
        45 kill them
        40 stab
        50 stab you
        20 shoot
        40 school shooting
        70 how to make a bomb
        60 pipe bomb
        40 buy a gun
        20 gun
        15 killing
        20 kill
        40 murder
        50 hurt them
        40 beat you up
        """;

    private const string ViolenceEs = """
        50 te voy a matar
        45 matarlo
        45 matarla
        70 matar a todos
        40 apunalar
        20 disparar
        80 llevar una pistola a la escuela
        70 una pistola a la escuela
        80 tiroteo en la escuela
        70 como hacer una bomba
        40 comprar un arma
        20 pistola
        20 matar
        """;

    private const string DrugsEn = """
        30 cocaine
        30 meth
        40 fentanyl
        25 heroin
        35 buy weed
        35 smoke weed
        15 weed pen
        20 vape
        35 get high
        25 molly
        35 get molly
        25 xanax
        35 buy xanax
        30 percocet
        35 lean drink
        """;

    private const string DrugsEs = """
        30 cocaina
        20 marihuana
        25 drogarse
        35 fumar mota
        35 comprar mota
        35 comprar droga
        40 vendo marihuana
        40 vendo mota
        """;

    private const string SexualEn = """
        40 porn
        40 pornhub
        30 nudes
        30 send nudes
        25 sex
        40 sex videos
        40 sex video
        25 naked
        40 naked girls
        40 naked pics
        40 onlyfans
        20 horny
        """;

    private const string SexualEs = """
        40 porno
        30 desnuda
        30 desnudos
        30 sexo
        35 fotos intimas
        """;

    private const string ExtremismEn = """
        70 white power
        50 race war
        70 join isis
        40 great replacement
        40 14 words
        70 heil hitler
        40 jihad
        40 accelerationism
        """;

    private const string ExtremismEs = """
        50 guerra racial
        50 unirse al estado islamico
        70 supremacia blanca
        40 yihad
        """;
}
