using System.Globalization;

namespace Homeroom.Rules.Safety;

/// <summary>
/// The shipped lexicon, written for Homeroom. Its choice of self-harm phrases and of the raising context
/// (talk of wanting to die, of a plan or a means, of a time, of saying goodbye, of being a burden) draws on the
/// published warning-sign lists of the 988 Suicide &amp; Crisis Lifeline, the American Foundation for Suicide
/// Prevention ("Risk factors, protective factors and warning signs") and the WHO's "Preventing suicide: a
/// resource for teachers and other school staff"; the bullying and violence phrases on StopBullying.gov's
/// description of verbal and social bullying and of threats, and on the U.S. Secret Service National Threat
/// Assessment Center's "Protecting America's Schools" and "Averting Targeted School Violence" (leakage: telling
/// others of a plan to attack). The second round draws the kinds of phrasing (not the words) for drugs from the
/// DEA's public "Drug Slang Code Words" report, for sexual exploitation from the FBI's and NCMEC's public
/// sextortion and grooming warnings, and for extremism from the ADL's "Hate on Display" database. The words
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
        new("id", 1.2), new("ive", 1.2), new("gona", 1.5), new("imma", 1.5),
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
        new("pistols", 0.1), new("988", 0.2), new("mean girls", 0.2), new("effects of", 0.4), new("dangers of", 0.3),
        new("analysis", 0.3), new("scene", 0.4), new("character", 0.4), new("theme", 0.4), new("literature", 0.3),
        new("assignment", 0.4),
    ];

    private static readonly ContextRule[] JokesEn = [new("lol", 0.5), new("lmao", 0.4), new("jk", 0.4), new("joking", 0.4)];

    // Figures of speech that every English category shares ("this test is killing me", "i could die of embarrassment").
    private static readonly ContextRule[] IdiomsEn =
    [
        new("is killing me", 0.1), new("killing it", 0.1), new("dying to", 0.1), new("to die for", 0.1),
        new("of embarrassment", 0.1), new("dying laughing", 0.1), new("died laughing", 0.1), new("laughing so hard", 0.1),
        new("cant stop laughing", 0.1), new("of laughter", 0.1), new("on the team", 0.3), new("to the team", 0.3),
        new("to my team", 0.3),
    ];

    private static readonly ContextRule[] ReferenceEs =
    [
        new("prevencion", 0.2), new("prevenir", 0.3), new("linea de ayuda", 0.2), new("linea de la vida", 0.2),
        new("ensayo", 0.3), new("historia", 0.4), new("investigacion", 0.4), new("estadisticas", 0.3), new("noticias", 0.5),
        new("pelicula", 0.3), new("serie", 0.4), new("cancion", 0.3), new("letra", 0.4), new("libro", 0.5), new("novela", 0.4),
        new("videojuego", 0.3), new("juego", 0.5), new("como ayudar", 0.3), new("senales de", 0.3), new("tarea", 0.2),
        new("de risa", 0.05), new("jaja", 0.4), new("jajaja", 0.4), new("broma", 0.4), new("examen", 0.2),
        new("pelo", 0.1), new("foto", 0.2), new("camara", 0.2), new("educacion", 0.2),
        new("las unas", 0.1), new("flequillo", 0.1), new("fleco", 0.1), new("cabello", 0.1), new("de hambre", 0.1),
        new("de ganas", 0.1), new("de cansancio", 0.1), new("de sueno", 0.1), new("de frio", 0.1), new("de calor", 0.1),
        new("de verguenza", 0.1), new("clase de salud", 0.3), new("efectos del", 0.4),
        new("analisis", 0.3), new("escena", 0.4), new("personaje", 0.4), new("literatura", 0.3),
    ];

    private static readonly ContextRule[] EnRules = [.. FirstPersonEn, .. ReferenceEn, .. JokesEn, .. IdiomsEn];
    private static readonly ContextRule[] EsRules = [.. FirstPersonEs, .. ReferenceEs];
    private static readonly ContextRule[] EnReference = ReferenceEn;
    private static readonly ContextRule[] EsReference = ReferenceEs;

    // Method and lethality questions ("does it hurt", "how much is lethal", "high enough to die"): looking for a way
    // to kill oneself, such as searching online for means, is a warning sign on its own in the 988 Lifeline's and
    // AFSP's lists, so these raise a self-harm match without any first-person or intent word. Below 1.5: they make a
    // match serious, not imminent.
    private static readonly ContextRule[] LethalityEn =
    [
        new("to die", 1.3), new("lethal", 1.3), new("fatal", 1.3), new("hurt", 1.25), new("painful", 1.25),
        new("best way", 1.3), new("fastest way", 1.3), new("easiest way", 1.3), new("how much", 1.25), new("how long", 1.2),
        new("how high", 1.3), new("enough to", 1.2), new("what happens if", 1.2),
    ];

    private static readonly ContextRule[] LethalityEs =
    [
        new("para morir", 1.3), new("letal", 1.3), new("mortal", 1.3), new("duele", 1.25), new("mejor forma", 1.3),
        new("forma mas rapida", 1.3), new("cuanto", 1.2), new("que pasa si", 1.2),
    ];

    // Making or getting a weapon (interest in and acquisition of weapons, one of the behaviours the Secret Service
    // NTAC's "Averting Targeted School Violence" found before attacks): raises a weapon match without intent words.
    private static readonly ContextRule[] WeaponMakingEn =
    [
        new("how to make", 1.3), new("how do you make", 1.3), new("how to build", 1.3), new("homemade", 1.3),
        new("diy", 1.3), new("instructions", 1.3), new("recipe", 1.3), new("where to buy", 1.3), new("where can i buy", 1.3),
        new("without id", 1.3),
    ];

    private static readonly ContextRule[] WeaponMakingEs =
    [
        new("como hacer", 1.3), new("como fabricar", 1.3), new("casera", 1.3), new("casero", 1.3), new("instrucciones", 1.3),
        new("donde comprar", 1.3), new("sin permiso", 1.3),
    ];

    // A search for a method is not an insult aimed at someone ("best way to hang yourself" is self-harm).
    private static readonly ContextRule[] SearchNotInsultEn =
    [
        new("how to", 0.3), new("best way to", 0.3), new("ways to", 0.3), new("does it hurt", 0.3), new("how do you", 0.3),
    ];

    // Bullying keeps its meaning when the bully laughs ("ur such a loser lmao"), so it leaves out the joke rules.
    private static readonly ContextRule[] SelfHarmEnRules = [.. EnRules, .. LethalityEn];
    private static readonly ContextRule[] SelfHarmEsRules = [.. EsRules, .. LethalityEs];
    private static readonly ContextRule[] BullyingEnRules = [.. FirstPersonEn, .. ReferenceEn, .. IdiomsEn, .. SearchNotInsultEn];

    // Figures of speech that look like threats.
    private static readonly ContextRule[] FigurativeEn =
    [
        new("homework", 0.1), new("is killing me", 0.1), new("killing it", 0.1), new("dying to", 0.1),
        new("dying of laughter", 0.1), new("to die for", 0.1), new("lol", 0.3), new("lmao", 0.3),
        new("boss", 0.3), new("zombie", 0.3), new("zombies", 0.3), new("ender dragon", 0.2), new("process", 0.1),
        new("linux", 0.1), new("terminal", 0.2),
    ];

    public static IEnumerable<LexiconEntry> All()
    {
        foreach (var entry in Read(SafetyCategory.SelfHarm, "en", SelfHarmEnRules, SelfHarmEn))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.SelfHarm, "es", SelfHarmEsRules, SelfHarmEs))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Bullying, "en", BullyingEnRules, BullyingEn))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Bullying, "es", EsRules, BullyingEs))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Violence, "en", [.. EnRules, .. FigurativeEn, .. WeaponMakingEn], ViolenceEn))
        {
            yield return entry;
        }

        foreach (var entry in Read(SafetyCategory.Violence, "es", [.. EsRules, .. WeaponMakingEs], ViolenceEs))
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

    // The third round weighs means and lethality ("lethal dose", "slit your wrists", "take a whole bottle", common
    // overdose medicines as words that count only with others) so they are serious without a first-person word: the
    // 988 Lifeline and AFSP list searching for a way to kill oneself as a warning sign in itself.
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
        55 better off dead
        40 no reason to live
        35 self harm
        35 selfharm
        55 cut myself
        40 hurt myself
        50 hang myself
        50 overdose
        40 how to overdose
        55 slit my wrists
        30 nobody would miss me
        30 everyone would be better off
        30 im a burden
        35 i am a burden
        60 suicide note
        30 end it all
        45 ways to die
        50 painless way to die
        60 how to kill yourself
        60 wish i was dead
        60 wish i were dead
        50 wish i wasnt alive
        45 wish i was never born
        45 wish i could disappear
        50 dont want to wake up
        55 never wake up again
        50 sleep and never wake up
        45 sleep forever
        50 tired of living
        50 tired of being alive
        45 sick of living
        45 sick of being alive
        50 dont want to exist
        55 stop existing
        35 want to disappear
        45 disappear forever
        55 no point in living
        55 no point living
        50 whats the point of living
        50 point in living
        45 nothing to live for
        50 life isnt worth living
        50 not worth living
        45 life is pointless
        22 hate my life
        35 cant go on
        20 cant do this anymore
        25 cant take it anymore
        25 cant take this anymore
        50 want it all to stop
        50 want it all to end
        55 want to end it
        45 end it tonight
        60 unalive myself
        60 unaliving myself
        60 how to unalive yourself
        50 unalive
        60 sewer slide
        60 sewerslide
        60 suiside
        55 suicid
        60 sucidal
        60 suicidial
        60 suisidal
        60 suicidel
        60 suecide
        60 sucicide
        60 suicide method
        60 methods of suicide
        60 ways to commit suicide
        55 want to be dead
        55 wanna be dead
        50 ready to die
        45 want to dye
        40 wanna dye
        45 deserve to die
        50 let me die
        50 just let me die
        70 kill my self
        60 end myself
        60 off myself
        60 offing myself
        50 better off if i was gone
        50 better off if i wasnt here
        50 happier if i was gone
        50 happier without me
        35 if i was gone
        35 if i were gone
        35 when im gone
        55 wont be here much longer
        55 wont be here tomorrow
        55 not be here tomorrow
        45 be gone soon
        40 wont need it anymore
        40 giving away my stuff
        40 giving away my things
        45 burden to everyone
        40 im such a burden
        45 burden on my family
        40 no hope left
        35 no way out
        40 nothing will ever get better
        35 never going to get better
        25 i hate myself
        30 im worthless
        30 i am worthless
        35 deserve to suffer
        35 deserve pain
        60 pills to die
        50 overdose on
        60 lethal dose
        60 fatal dose
        45 how much tylenol
        60 tylenol overdose
        60 overdose on tylenol
        50 how many tylenol
        45 how many advil
        50 whole bottle of pills
        55 take all my pills
        55 take all the pills
        55 taking all my pills
        60 how deep to cut
        60 how deep do you have to cut
        60 how deep to cut wrists
        55 slit wrists
        55 slitting my wrists
        50 slitting your wrists
        60 cut my wrists
        60 cutting my wrists
        50 cut wrists
        50 cutting wrists
        60 hanging myself
        60 how to hang yourself
        40 noose
        50 tie a noose
        45 how to tie a noose
        45 jump off a bridge
        45 jump off the bridge
        45 jump off a building
        55 jump in front of a train
        45 step in front of a car
        60 drown myself
        65 shoot myself
        55 gun to my head
        40 bleed out
        50 how long to bleed out
        45 starve myself
        50 burn myself
        50 burning myself
        45 hurting myself
        35 self harming
        35 selfharming
        45 cutting again
        40 cut again
        50 started cutting again
        45 hide my scars
        55 hide self harm scars
        60 how to hide cuts
        60 suicide letter
        40 goodbye letter
        40 goodbye letters
        60 last day alive
        45 last day on earth
        45 final goodbye
        45 this is goodbye
        50 goodbye forever
        40 wont see me again
        55 how to die
        60 easiest way to die
        60 quickest way to die
        60 fastest way to die
        55 best way to die
        70 painless suicide
        45 how to end it
        45 overdosing
        55 plan to end my life
        45 suicidal thoughts
        60 painless way to go
        60 painless way out
        45 i end it
        55 im ending it
        60 im going to end it
        50 gonna end it
        55 see the point in living
        40 moms pills
        40 dads pills
        50 all my pills
        45 dont want to be here anymore
        35 dont want to be here
        50 dont wanna live
        50 dont wanna be alive
        45 dont wanna be here anymore
        50 want to give up on life
        45 give up on life
        45 giving up on life
        45 done with life
        50 end my suffering
        35 end the pain
        40 make the pain stop
        40 cant live like this
        45 no reason to keep going
        60 wish i could die
        55 wish i would die
        45 hope i die
        55 hope i dont wake up
        60 suicide plan
        40 suicide attempt
        35 attempted suicide
        40 bottle of pills
        25 sleeping pills
        50 how many sleeping pills
        45 drinking bleach
        15 razor
        15 razors
        50 cut deeper
        45 deeper cuts
        50 slit your wrists
        50 slit wrist
        50 hang yourself
        55 hanging yourself
        50 take a whole bottle
        50 took a whole bottle
        50 swallow a whole bottle
        50 jump from to die
        50 high enough to die
        45 how high to jump
        45 fall to die
        15 acetaminophen
        15 tylenol
        15 paracetamol
        15 ibuprofen
        15 advil
        15 aspirin
        15 benadryl
        50 never wake up
        60 id be better off dead
        40 deserve to feel pain
        40 deserve to hurt
        55 no way out for me
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
        70 me quiero matar
        70 me voy a suicidar
        70 quiero suicidarme
        60 ojala estuviera muerta
        60 ojala estuviera muerto
        60 quisiera estar muerta
        60 quisiera estar muerto
        60 quiero estar muerta
        60 quiero estar muerto
        50 no quiero despertar
        50 ojala no despertara
        60 no quiero seguir viviendo
        55 ya no quiero vivir
        55 no quiero estar viva
        55 no quiero estar vivo
        45 ya no quiero estar aqui
        50 cansada de vivir
        50 cansado de vivir
        50 harta de vivir
        50 harto de vivir
        50 no tiene sentido vivir
        45 la vida no tiene sentido
        50 no vale la pena vivir
        45 desaparecer para siempre
        40 quiero desaparecer
        50 mejor si yo no estuviera
        55 si yo no existiera
        50 si yo no estuviera
        40 nadie me va a extranar
        40 soy un estorbo
        40 soy una carga para
        70 ahorcarme
        55 ahorcarse
        65 como ahorcarse
        50 colgarme
        70 cortarme las venas
        60 cortarse las venas
        55 cortar las venas
        60 tirarme de un puente
        60 tirarme del puente
        65 tomarme todas las pastillas
        45 todas las pastillas
        35 cuantas pastillas
        40 sobredosis
        55 dosis letal
        50 hacerme cortes
        50 me hago cortes
        40 me lastimo
        45 lastimarme
        55 autolesionarme
        35 autolesiones
        55 carta de despedida
        35 mi despedida
        45 despedirme de todos
        45 ya no voy a estar
        45 ya no estare
        70 acabar con mi vida
        70 terminar con mi vida
        45 acabar con todo
        40 terminar con todo
        25 no aguanto mas
        25 ya no puedo mas
        25 no hay salida
        50 kiero morir
        50 kiero morirme
        45 me kiero morir
        55 suisidio
        50 me voy a colgar
        60 pastillas para morir
        65 formas de matarse
        65 como matarse
        70 como suicidarse
        70 como morir sin dolor
        60 morir sin dolor
        55 no quiero existir
        50 dejar de existir
        60 quiero dejar de existir
        55 ya me canse de vivir
        45 me quiero ir para siempre
        30 nadie me necesita
        25 me odio
        35 me odio a mi misma
        35 me odio a mi mismo
        30 no sirvo para nada
        30 no valgo nada
        50 quiero dormir para siempre
        45 quiero dejar de sufrir
        40 me voy a tirar
        50 tomar veneno
        55 mejor si yo no existiera
        15 paracetamol
        15 ibuprofeno
        """;

    // The third round adds verbal and social bullying of the kinds StopBullying.gov describes (mocking, exclusion,
    // name-calling), with no joke rules: an insult with "lmao" after it is still an insult.
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
        60 unalive yourself
        50 drink bleach
        55 go drink bleach
        50 hang yourself
        60 go hang yourself
        30 jump off a cliff
        35 nobody wants you
        35 no one wants you
        40 no one wants you here
        40 nobody wants you here
        35 everybody hates you
        35 everyone hates u
        25 ur ugly
        25 youre ugly
        20 ugly af
        35 fat and ugly
        35 fat cow
        35 fat whale
        25 fatass
        25 fat ass
        25 youre pathetic
        25 ur pathetic
        35 youre worthless
        35 ur worthless
        30 youre a loser
        30 ur a loser
        35 no one cares about you
        35 nobody cares about you
        40 nobody will miss you
        40 no one would miss you
        40 nobody would miss you
        35 if you died
        45 world would be better without you
        35 better off without you
        45 you deserve to die
        35 die in a hole
        60 kill urself
        60 kill ur self
        60 killurself
        60 kill yourself loser
        15 retarded
        40 faggot
        35 fag
        30 dyke
        30 tranny
        40 nigger
        35 go back to your country
        35 go back where you came from
        30 everyone is laughing at you
        40 we all hate you
        30 we hate you
        45 post your nudes
        50 leak your nudes
        45 share your nudes
        30 expose you
        35 post that video of you
        30 embarrassing video of you
        25 dont sit with us
        25 you cant sit with us
        20 nobody likes u
        20 no one likes u
        30 ur so fat
        30 youre so fat
        30 dumb bitch
        30 stupid bitch
        25 slut
        25 whore
        50 go cut yourself
        35 starve yourself
        35 youre a waste of space
        35 waste of oxygen
        35 no one will ever love you
        35 nobody will ever love you
        25 youre disgusting
        25 ur disgusting
        35 ugly bitch
        35 fat bitch
        35 nobody wants to be your friend
        35 laughing at you
        30 ur so ugly
        30 youre so ugly
        25 nobody talks to you
        25 no one talks to you
        35 nobody at this school likes you
        35 nobody at school likes you
        35 nobody here likes you
        20 just disappear
        30 roast you
        35 ur such a retard
        35 youre such a retard
        30 such a retard
        15 and die
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
        60 deberias matarte
        50 ojala te mueras
        35 nadie te soporta
        30 te odiamos
        30 eres un asco
        25 das asco
        25 eres fea
        25 eres feo
        30 gorda fea
        35 vaca gorda
        30 eres un perdedor
        30 eres una perdedora
        30 eres un inutil
        25 retrasado
        25 retrasada
        25 mongolico
        35 maricon
        25 marica
        20 puta
        20 zorra
        30 se burlan de ti
        35 todos se rien de ti
        25 se rien de ti
        40 nadie te extranaria
        45 el mundo estaria mejor sin ti
        30 mejor sin ti
        35 vete a tu pais
        35 regresate a tu pais
        30 subir tu video
        45 voy a publicar tus fotos
        40 publicar tus fotos
        35 pasar tus fotos
        40 cortate
        55 ahorcate
        50 tirate de un puente
        40 nadie te quiere aqui
        30 eres una basura
        35 nadie quiere ser tu amigo
        35 fea asquerosa
        20 asquerosa
        20 asqueroso
        """;

    // The third round adds leakage of targets ("a list of people im going to hurt") and of weapons, after the
    // Secret Service NTAC's "Averting Targeted School Violence" (2021), and a misspelling of murder.
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
        90 shoot up my school
        90 shoot up this school
        90 shooting up the school
        90 shoot up school
        70 shoot everyone
        70 shoot them all
        80 shoot the school
        30 shoot up
        50 school shooter
        70 become a school shooter
        50 next school shooter
        90 bomb the school
        85 blow up the school
        85 blow up my school
        50 bomb threat
        70 bomb in the school
        75 bring a knife to school
        75 bringing a knife to school
        85 bring my gun to school
        70 gun to school
        50 my dads gun
        50 my moms gun
        40 dads gun
        50 my fathers gun
        45 dont come to school
        45 everyone will pay
        50 they will all pay
        50 theyll all pay
        35 make them pay
        50 make them all pay
        50 everyone will remember my name
        50 hit list
        60 kill list
        55 stab them
        50 stab someone
        70 stab everyone
        30 stabbing
        50 shank you
        25 shank
        60 slit your throat
        60 slit his throat
        60 murder you
        55 murder him
        55 murder her
        55 murder them
        70 murder everyone
        60 kill my dad
        60 kill my mom
        60 kill my stepdad
        60 kill my stepmom
        70 kill my teacher
        55 kill my brother
        55 kill my sister
        65 kill the teacher
        65 kill my parents
        70 kill them all
        70 kill you all
        70 kill all of you
        50 kill u
        35 beat him up
        35 beat her up
        35 beat the crap out of
        35 beat the shit out of
        30 jump him
        30 jump her
        30 jump you
        35 fight you after school
        25 punch you
        35 break your face
        35 smash your face
        25 hurt you
        40 hurt people
        55 hurt everyone
        55 ghost gun
        45 3d printed gun
        50 where to buy a gun
        50 how to get a gun
        35 get a gun
        40 buy ammo
        15 ammo
        15 rifle
        25 ar15
        25 ar 15
        25 ak47
        25 ak 47
        20 glock
        15 pistol
        15 shotgun
        35 loaded gun
        40 load the gun
        70 how to build a bomb
        55 build a bomb
        55 make a bomb
        60 homemade bomb
        40 molotov
        50 molotov cocktail
        70 pressure cooker bomb
        60 how to make explosives
        30 massacre
        35 mass shooting
        30 columbine
        45 shoot him
        45 shoot her
        50 shoot you
        50 shoot them
        65 kill that teacher
        55 kill that kid
        70 youre all going to die
        70 you are all going to die
        50 everyone is going to die
        35 gonna shoot
        70 im bringing a gun
        55 bringing a gun
        60 bringing my gun
        45 bring a knife
        50 bringing a knife
        55 bring a weapon
        75 weapon to school
        70 gun in my backpack
        60 knife in my backpack
        60 theyre all going to die
        55 theyll all die
        25 get revenge
        60 watch them bleed
        50 make them bleed
        35 list of people
        60 people im going to hurt
        30 going to hurt
        45 school will pay
        50 end them all
        50 bring the rifle
        50 bring the gun
        50 bring my rifle
        40 murdr
        55 murdr him
        55 murdr her
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
        60 los voy a matar
        60 las voy a matar
        50 voy a matar a
        70 los mato a todos
        70 matarlos a todos
        45 matarlos
        45 matarte
        60 te voy a apunalar
        55 apunalarte
        60 te voy a acuchillar
        40 acuchillar
        70 cuchillo a la escuela
        75 llevar un cuchillo a la escuela
        75 un arma a la escuela
        50 llevar un arma
        75 pistola a la escuela
        85 disparar en la escuela
        75 disparar a todos
        80 balacera en la escuela
        30 balacera
        30 tiroteo
        60 bomba casera
        60 fabricar una bomba
        55 hacer una bomba
        85 explotar la escuela
        80 volar la escuela
        70 poner una bomba
        50 amenaza de bomba
        35 romper la cara
        35 partir la cara
        40 partirle la cara
        30 le voy a pegar
        30 golpearlo
        30 golpearla
        35 darle una paliza
        50 comprar una pistola
        50 conseguir un arma
        50 conseguir una pistola
        60 no vengan a la escuela
        35 van a pagar
        50 todos van a pagar
        45 me las van a pagar
        60 lo voy a matar
        60 la voy a matar
        50 voy a disparar
        70 voy a llevar un arma
        30 me voy a vengar
        60 se van a morir todos
        55 van a morir todos
        """;

    // The third round adds cocaine slang of the kind in the DEA's "Drug Slang Code Words" ("coke" counts only with a
    // sale or use word: alone it is a soft drink) and lets a drug-test question outweigh the "test" lowering rule.
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
        40 thc carts
        35 dab pen
        30 wax pen
        40 selling carts
        40 buy carts
        25 edibles
        40 buy edibles
        20 thc
        35 shrooms
        35 magic mushrooms
        45 buy shrooms
        30 lsd
        35 acid tabs
        30 ecstasy
        35 mdma
        30 xans
        30 xannies
        30 percs
        25 oxy
        30 oxycodone
        35 sizzurp
        35 purple drank
        45 snorting adderall
        25 snort
        30 snorting
        45 how to snort
        40 crack pipe
        40 crystal meth
        30 ketamine
        30 whippets
        35 get drunk
        30 getting drunk
        30 get wasted
        35 get crossfaded
        30 crossfaded
        45 how to get high
        30 getting high
        35 get stoned
        35 smoking weed
        40 hide a vape
        40 hide my vape
        40 hide vape
        35 vape at school
        20 vaping
        20 juul
        35 buy vapes
        35 buy a vape
        65 pass a drug test
        20 drug dealer
        40 sell drugs
        40 selling drugs
        40 buy drugs
        45 where to buy drugs
        30 fent
        35 pop pills
        35 popping pills
        40 robotripping
        25 dxm
        30 nutmeg high
        30 huffing
        40 how to huff
        20 blunt
        35 roll a blunt
        25 bong
        30 weed brownies
        30 pot brownies
        20 marijuana
        40 buy marijuana
        20 kush
        20 zaza
        40 buy lsd
        40 buy mdma
        40 buy percs
        40 buy cocaine
        40 carts for sale
        40 buying edibles
        35 weed cart
        25 delta 8
        40 how to make lean
        35 drink lean
        30 acid trip
        35 tripping on acid
        35 trip on shrooms
        35 smoke a blunt
        30 hit a bong
        40 selling dabs
        30 percocets
        35 xanax bars
        35 pills for sale
        25 fake id
        70 how to pass a drug test
        15 coke
        45 coke for sale
        40 buy coke
        40 selling coke
        35 do coke
        45 snort coke
        40 line of coke
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
        40 comprar hierba
        45 vendo hierba
        35 fumar hierba
        30 un porro
        25 porros
        45 vendo perico
        30 tachas
        45 vendo tachas
        40 vendo cristal
        30 emborracharse
        35 emborracharme
        30 ponerse pedo
        35 ponerme pedo
        40 comprar drogas
        40 vender drogas
        45 vendo drogas
        35 drogarme
        30 metanfetamina
        35 hongos alucinogenos
        20 vapear
        35 esconder el vape
        40 fentanilo
        25 heroina
        30 extasis
        35 fumar marihuana
        40 comprar marihuana
        40 quien vende mota
        35 fumar porro
        35 fumar un porro
        45 vendo porros
        40 conseguir marihuana
        40 conseguir mota
        45 comprar cocaina
        20 perico
        25 quien vende
        45 comprar perico
        45 vende perico
        45 quien vende perico
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
        40 xvideos
        40 xhamster
        40 xnxx
        40 redtube
        40 youporn
        40 brazzers
        35 hentai
        35 rule 34
        35 rule34
        20 nsfw
        25 nude
        35 nude pics
        35 nude photos
        40 nude girls
        50 nude teens
        50 naked teens
        20 boobs
        25 tits
        35 dick pic
        35 dick pics
        35 send me nudes
        35 sexting
        25 sext
        40 blowjob
        40 blow job
        35 milf
        35 camgirl
        35 cam girls
        25 erotica
        40 sex chat
        40 sexchat
        40 sex cam
        30 sexy pics
        50 free porn
        45 porn sites
        45 porn videos
        25 pornography
        50 onlyfans leaks
        45 leaked nudes
        35 dont tell your parents
        30 our little secret
        40 x videos
        35 nude pictures
        35 naked pictures
        35 sex tape
        40 trade nudes
        40 sell nudes
        45 nudes for money
        30 sugar daddy
        35 send me a pic of your
        50 pic of your boobs
        50 pics of your boobs
        45 xxx videos
        """;

    private const string SexualEs = """
        40 porno
        30 desnuda
        30 desnudos
        30 sexo
        35 fotos intimas
        45 videos porno
        25 pornografia
        30 desnudas
        40 fotos desnuda
        40 fotos desnudas
        35 manda nudes
        30 pack hot
        30 fotos hot
        30 videos hot
        40 sexo gratis
        45 videos de sexo
        45 chicas desnudas
        25 tetas
        35 follar
        40 mujeres desnudas
        50 porno gratis
        50 pornografia gratis
        35 mandame nudes
        40 manda fotos sin ropa
        40 fotos sin ropa
        35 video intimo
        35 videos intimos
        25 desnudo
        45 videos xxx
        50 xxx gratis
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
        35 proud boys
        60 join the proud boys
        60 atomwaffen
        45 patriot front
        50 1488
        60 day of the rope
        80 kill all jews
        50 jews control
        50 zionist occupied
        50 white genocide
        40 white pride
        30 white nationalist
        25 white supremacy
        40 ethnostate
        40 race traitor
        50 holocaust didnt happen
        50 holocaust was fake
        50 holocaust hoax
        60 christchurch manifesto
        50 brenton tarrant
        60 saint tarrant
        60 sieg heil
        25 isis
        30 islamic state
        70 join the islamic state
        60 isis recruitment
        25 caliphate
        45 become a martyr
        70 kill the infidels
        70 infidels must die
        45 death to america
        40 replacement theory
        60 they will not replace us
        60 you will not replace us
        70 jews will not replace us
        80 kill all muslims
        60 gas the jews
        25 incel
        60 incel uprising
        60 beta uprising
        40 elliot rodger
        50 supreme gentleman
        40 accelerationist
        50 siege culture
        60 terrorgram
        60 wpww
        60 rahowa
        60 race war now
        40 jewish question
        30 zog
        45 blood and soil
        30 jihadist
        60 join jihad
        55 lone wolf attack
        30 remigration
        60 jews control everything
        """;

    private const string ExtremismEs = """
        50 guerra racial
        50 unirse al estado islamico
        70 supremacia blanca
        40 yihad
        35 estado islamico
        70 unirse a isis
        60 poder blanco
        40 orgullo blanco
        45 gran reemplazo
        40 nos estan reemplazando
        80 muerte a los judios
        70 matar judios
        70 matar musulmanes
        50 genocidio blanco
        30 nacionalsocialismo
        50 hay que matar a los
        """;
}
