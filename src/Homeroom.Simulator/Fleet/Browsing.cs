namespace Homeroom.Simulator.Fleet;

/// <summary>One site a student might visit, with how often, and whether a typical school policy blocks it.</summary>
public sealed record Site(string Url, string Title, double Weight, string? BlockedCategory = null);

/// <summary>The URL distribution virtual students browse from.</summary>
public static class Browsing
{
    public static readonly IReadOnlyList<Site> Sites =
    [
        new("https://classroom.google.com/u/0/h", "Google Classroom", 18),
        new("https://docs.google.com/document/d/1", "Essay draft - Google Docs", 14),
        new("https://www.khanacademy.org/math/algebra", "Algebra | Khan Academy", 9),
        new("https://www.wikipedia.org/wiki/Photosynthesis", "Photosynthesis - Wikipedia", 8),
        new("https://www.youtube.com/watch?v=edu", "Cell biology explained - YouTube", 8),
        new("https://www.desmos.com/calculator", "Desmos | Graphing Calculator", 5),
        new("https://quizlet.com/latest", "Quizlet", 5),
        new("https://www.nasa.gov/", "NASA", 3),
        new("https://www.britannica.com/science", "Britannica", 3),
        new("https://code.org/learn", "Code.org", 3),
        new("https://www.typing.com/student/lessons", "Typing.com", 2),
        new("https://scratch.mit.edu/projects/editor", "Scratch", 3),
        new("https://www.coolmathgames.com/0-run-3", "Run 3 - Cool Math Games", 3, "games"),
        new("https://poki.com/en/g/subway-surfers", "Subway Surfers - Poki", 2, "games"),
        new("https://www.tiktok.com/foryou", "TikTok", 2, "social_networks"),
        new("https://www.instagram.com/", "Instagram", 1.5, "social_networks"),
        new("https://discord.com/channels/@me", "Discord", 1, "chat"),
        new("https://www.roblox.com/home", "Roblox", 1.5, "games"),
        new("https://unblocked-games.example.net/", "Unblocked Games", 0.5, "redirector"),
    ];

    private static readonly double TotalWeight = Sites.Sum(s => s.Weight);

    public static Site Pick(Random random)
    {
        var roll = random.NextDouble() * TotalWeight;
        foreach (var site in Sites)
        {
            roll -= site.Weight;
            if (roll <= 0)
            {
                return site;
            }
        }

        return Sites[^1];
    }

    /// <summary>The site of a URL as a <c>web.usage</c> event names it: its origin only (<c>https://host/</c>).</summary>
    public static string Origin(string url) => new Uri(url).GetLeftPart(UriPartial.Authority) + "/";

    /// <summary>Chrome extensions a school's Chromebooks might have (id, name, version, enabled), for app.inventory snapshots.</summary>
    public static readonly IReadOnlyList<(string Id, string Name, string Version, bool Enabled)> ChromeExtensions =
    [
        ("ghbmnnjooekpmoecnnnilnnbdlolhkhi", "Google Docs Offline", "1.87.1", true),
        ("ecnphlgnajanjnkcmbpancdjoidceilk", "Kami for Google Chrome", "3.1.18", true),
        ("inoeonmfapjbbkmdafoankkfajkcphgd", "Read&Write for Google Chrome", "2.1.437", true),
        ("mmeijimgabbpbgpdklnllpncmdofkcpn", "Screencastify - Screen Video Recorder", "4.8.0", true),
        ("bjfhmglciegochdpefhhlphglcehbmek", "Pocket Dictionary", "1.0.6", false),
        ("dnkkabhdhfcpkmbhdeijpkkpdbdjfieo", "Equatio - Math made digital", "41.1.0", true),
        ("chphlpgkkbolifaimnlloiipkdnihall", "OneTab", "1.83", true),
    ];

    public static readonly IReadOnlyList<(string AppId, string Name)> IPadApps =
    [
        ("com.google.Classroom", "Google Classroom"), ("com.apple.iWork.Pages", "Pages"), ("org.khanacademy.Khan-kids", "Khan Academy Kids"),
        ("com.epic.ebooks", "Epic"), ("com.seesaw.Seesaw", "Seesaw"), ("com.brainpop.jr", "BrainPOP Jr."), ("com.duolingo.DuolingoMobile", "Duolingo"),
    ];
}
