using Homeroom.Rules.Safety;

namespace Homeroom.Bench.Safety;

/// <summary>Generated student text (searches, chat lines, page titles) and a generated lexicon on top of the built-in one.</summary>
internal static class StudentText
{
    private static readonly string[] Subjects = ["algebra", "photosynthesis", "the french revolution", "fractions", "the water cycle", "world war 2", "mitosis", "spanish verbs", "the periodic table", "volcanoes", "the civil war", "poetry", "python loops", "chemical bonds", "the solar system", "ecosystems", "the constitution", "ancient egypt", "long division", "climate change"];
    private static readonly string[] SearchForms = ["how to {0}", "what is {0}", "{0} worksheet", "{0} explained", "{0} for kids", "{0} quizlet", "{0} khan academy", "why is {0} important", "{0} examples", "{0} practice test", "como hacer {0}", "que es {0}", "{0} resumen"];
    private static readonly string[] Fun = ["minecraft servers", "roblox codes", "fortnite skins", "taylor swift songs", "nba scores", "funny cat videos", "best pizza near me", "how to draw anime", "among us", "lego sets", "youtube music", "netflix shows", "soccer highlights", "spotify playlist", "cool math games"];
    private static readonly string[] Chat = ["did u finish the {0} homework", "lol that was so funny", "wanna play after school", "im so bored in class rn", "can you send me the notes for {0}", "whats the answer to number 5", "omg the test was hard", "see you at lunch", "bro thats crazy", "ok ill text you later", "who is in your group for {0}", "this homework is killing me", "i could die of embarrassment", "we killed it at the game", "oye me pasas la tarea de {0}", "jajaja que risa", "nos vemos en el recreo", "me muero de risa con ese video"];
    private static readonly string[] Titles = ["{0} - Wikipedia", "{0} | Khan Academy", "{0} - YouTube", "Google Docs - {0} notes", "{0} | Britannica", "Quizlet: {0} flashcards", "{0} - Google Classroom", "{0} study guide - SparkNotes"];

    // A small share of texts carry something the lexicon knows.
    private static readonly string[] Concerning = ["i want to kill myself", "kys loser", "how to make a bomb", "where to buy xanax", "send nudes", "nobody would miss me", "quiero morir", "te voy a matar", "su1c1de", "k i l l myself tonight"];

    public static string[] Texts(int count, double concerningShare, Random random)
    {
        var texts = new string[count];
        for (var i = 0; i < count; i++)
        {
            var subject = Subjects[random.Next(Subjects.Length)];
            texts[i] = random.NextDouble() < concerningShare
                ? Concerning[random.Next(Concerning.Length)]
                : random.Next(4) switch
                {
                    0 => string.Format(System.Globalization.CultureInfo.InvariantCulture, SearchForms[random.Next(SearchForms.Length)], subject),
                    1 => Fun[random.Next(Fun.Length)],
                    2 => string.Format(System.Globalization.CultureInfo.InvariantCulture, Chat[random.Next(Chat.Length)], subject),
                    _ => string.Format(System.Globalization.CultureInfo.InvariantCulture, Titles[random.Next(Titles.Length)], char.ToUpperInvariant(subject[0]) + subject[1..]),
                };
        }

        return texts;
    }

    private static readonly string[] DrugsEn = ["xanax", "percocet", "oxy", "adderall", "molly", "acid", "shrooms", "ketamine", "codeine", "lean", "weed", "dabs", "coke", "meth", "fentanyl", "pills", "edibles", "carts", "ecstasy", "lsd", "vicodin", "mdma", "crack", "tramadol", "delta 8", "wax", "nitrous", "promethazine"];
    private static readonly string[] DrugVerbsEn = ["buy", "sell", "get", "order", "cheap", "where to buy", "how to get", "plug for", "dealer for", "how much is", "snort", "smoke", "pop", "take", "mix", "selling", "looking for", "anyone got", "dm for"];
    private static readonly string[] DrugsEs = ["mota", "cocaina", "pastillas", "perico", "cristal", "hierba", "porro", "tachas", "piedra", "fentanilo"];
    private static readonly string[] DrugVerbsEs = ["comprar", "vender", "conseguir", "donde comprar", "fumar", "pasame", "quien vende", "precio de", "tomar", "mezclar"];
    private static readonly string[] HarmVerbsEn = ["kill", "hurt", "stab", "shoot", "beat up", "jump", "punch", "choke", "burn", "attack", "destroy", "end"];
    private static readonly string[] HarmTargetsEn = ["him", "her", "them", "you", "everyone", "my teacher", "my dad", "my mom", "the principal", "that kid", "the whole class", "my brother", "my sister", "the coach", "the bus driver", "those girls", "those boys", "my stepdad", "the new kid", "my ex", "my neighbor", "my cousin", "the girls in my class", "the boys in gym", "my science teacher", "the counselor", "my best friend", "the team", "the bully", "the seniors"];
    private static readonly string[] HarmVerbsEs = ["matar", "golpear", "apunalar", "disparar a", "quemar", "atacar", "lastimar", "pegarle a"];
    private static readonly string[] HarmTargetsEs = ["mi maestro", "mi papa", "mi mama", "el director", "ese nino", "toda la clase", "mi hermano", "mi hermana", "el entrenador", "esas chicas", "esos chicos", "mi padrastro", "el nuevo", "mi vecino", "mi primo", "la maestra", "el consejero", "mi mejor amigo", "todo el equipo"];
    private static readonly string[] Insults = ["loser", "freak", "fatso", "weirdo", "idiot", "pig", "whale", "nerd", "trash", "creep", "clown", "reject"];
    private static readonly string[] InsultFormsEn = ["you {0}", "ugly {0}", "stupid {0}", "fat {0}", "everyone thinks ur a {0}", "go away {0}", "nobody likes the {0}", "shut up {0}", "disgusting {0}", "worthless {0}"];
    private static readonly string[] InsultsEs = ["perdedor", "gorda", "feo", "tonto", "idiota", "rara", "inutil", "asqueroso", "payaso", "basura"];
    private static readonly string[] InsultFormsEs = ["eres un {0}", "que {0}", "callate {0}", "nadie quiere al {0}", "vete {0}", "todos dicen que eres {0}"];

    /// <summary>The built-in lexicon plus realistic generated entries, to <paramref name="total"/> entries in English and Spanish.</summary>
    public static List<LexiconEntry> Lexicon(int total)
    {
        var entries = new List<LexiconEntry>(SafetyLexicon.BuiltIn.Entries);
        var seen = new HashSet<string>(entries.Select(e => SafetyNormalizer.NormalizePhrase(e.Phrase)), StringComparer.Ordinal);
        var enRules = SafetyLexicon.BuiltIn.Entries.First(e => e.Language == "en" && e.Category == SafetyCategory.Violence).Context;
        var esRules = SafetyLexicon.BuiltIn.Entries.First(e => e.Language == "es" && e.Category == SafetyCategory.Violence).Context;
        IEnumerable<LexiconEntry> Generated()
        {
            foreach (var verb in DrugVerbsEn)
            {
                foreach (var drug in DrugsEn)
                {
                    yield return new LexiconEntry($"{verb} {drug}", SafetyCategory.Drugs, 25, "en", []);
                    yield return new LexiconEntry($"{verb} {drug} online", SafetyCategory.Drugs, 30, "en", []);
                    yield return new LexiconEntry($"{verb} {drug} at school", SafetyCategory.Drugs, 35, "en", []);
                }
            }

            foreach (var verb in DrugVerbsEs)
            {
                foreach (var drug in DrugsEs)
                {
                    yield return new LexiconEntry($"{verb} {drug}", SafetyCategory.Drugs, 25, "es", []);
                    yield return new LexiconEntry($"{verb} {drug} en la escuela", SafetyCategory.Drugs, 35, "es", []);
                }
            }

            foreach (var verb in HarmVerbsEn)
            {
                foreach (var target in HarmTargetsEn)
                {
                    foreach (var lead in new[] { "", "i will ", "im going to ", "gonna ", "i want to ", "going to ", "i swear ill ", "i should ", "tomorrow ill ", "i can ", "i could ", "i really want to ", "someone should ", "im about to ", "i wanna ", "i need to ", "i promise ill ", "next week ill ", "tonight ill " })
                    {
                        yield return new LexiconEntry($"{lead}{verb} {target}", SafetyCategory.Violence, 45, "en", enRules);
                    }
                }
            }

            foreach (var verb in HarmVerbsEs)
            {
                foreach (var target in HarmTargetsEs)
                {
                    foreach (var lead in new[] { "", "voy a ", "quiero ", "manana voy a ", "te juro que voy a ", "deberia ", "hoy voy a ", "esta noche voy a ", "necesito " })
                    {
                        yield return new LexiconEntry($"{lead}{verb} a {target}", SafetyCategory.Violence, 45, "es", esRules);
                    }
                }
            }

            foreach (var form in InsultFormsEn)
            {
                foreach (var insult in Insults)
                {
                    yield return new LexiconEntry(string.Format(System.Globalization.CultureInfo.InvariantCulture, form, insult), SafetyCategory.Bullying, 20, "en", []);
                }
            }

            foreach (var form in InsultFormsEs)
            {
                foreach (var insult in InsultsEs)
                {
                    yield return new LexiconEntry(string.Format(System.Globalization.CultureInfo.InvariantCulture, form, insult), SafetyCategory.Bullying, 20, "es", []);
                }
            }
        }

        foreach (var entry in Generated())
        {
            if (entries.Count >= total)
            {
                break;
            }

            if (seen.Add(SafetyNormalizer.NormalizePhrase(entry.Phrase)))
            {
                entries.Add(entry);
            }
        }

        return entries;
    }
}
