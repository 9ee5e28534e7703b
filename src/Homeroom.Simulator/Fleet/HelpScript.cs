using Homeroom.Contracts.Enrollment;

namespace Homeroom.Simulator.Fleet;

/// <summary>A help request a virtual student sends at a time of the school day.</summary>
/// <param name="TimeOfDay">Local time of day (the fleet's zone) it is sent at.</param>
/// <param name="Note">What the student wrote.</param>
public sealed record ScriptedHelp(TimeSpan TimeOfDay, string Note);

/// <summary>
/// Which virtual students press the Chrome extension's help button, and when, so the demo's support queue and the
/// classroom's help panel show requests: about one Chromebook student in twelve asks once on each school day, at a
/// time between 8:30 and 14:00 fixed by the seed and the device's index, with a note a student would write (no
/// screenshot: the fleet paints no JPEGs). In class time the request goes to the teacher, otherwise to the IT queue
/// (the server decides). Only Chromebooks: the desktop agent has no help button yet, and iPads and Android tablets none.
/// </summary>
public static class HelpScript
{
    /// <summary>One Chromebook student in this many asks for help each school day.</summary>
    public const int AsksOneIn = 12;

    private static readonly string[] Notes =
    [
        "The Wi-Fi keeps dropping in room 12",
        "I can't sign in to Google Classroom, it says my password is wrong",
        "The math practice site says it is blocked but we need it for homework",
        "My headphones don't work, no sound at all",
        "Some keys on my keyboard don't type",
        "The screen is really dim and won't get brighter",
        "Docs won't open my essay, it just spins",
        "My Chromebook is really slow today",
        "The camera doesn't work for the video assignment",
        "I can't print my worksheet",
    ];

    public static IReadOnlyList<ScriptedHelp> For(int seed, DeviceSpec spec)
    {
        if (spec.IsSpare || spec.Platform != DevicePlatform.ChromeOS)
        {
            return [];
        }

        // Not HashCode.Combine: it is randomised per process, and the script must be the same every run.
        var random = new Random(unchecked((seed * 6_007) + (spec.Index * 50_021) + 29));
        if (random.Next(AsksOneIn) != 0)
        {
            return [];
        }

        var at = TimeSpan.FromHours(8.5) + TimeSpan.FromMinutes(random.Next(330)) + TimeSpan.FromSeconds(random.Next(60));
        return [new ScriptedHelp(at, Notes[random.Next(Notes.Length)])];
    }
}
