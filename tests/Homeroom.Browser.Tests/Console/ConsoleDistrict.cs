using System.Net.Http.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// A small district on a real server for the console tests: one school; Ms. Rivera's Science class
/// (four students, each with a simulated Chromebook) and Mr. Chen's Art class (two students), whose
/// weekly meeting is never now; Chromium to drive the console.
/// </summary>
public sealed class ConsoleDistrict : BrowserDistrict
{
    public const string TeacherPassword = Password;

    public Fleet Fleet { get; private set; } = null!;
    public Guid Science { get; private set; }
    public Guid Art { get; private set; }
    public IReadOnlyList<VirtualDevice> ScienceDevices { get; private set; } = [];
    public IReadOnlyList<VirtualDevice> ArtDevices { get; private set; } = [];

    protected override string[] Settings => ["Homeroom:Agents:HeartbeatIntervalSeconds=15", "DetailedErrors=true"];

    protected override async Task SeedAsync()
    {
        // A school day morning on the server, so teachers may start ad-hoc sessions.
        Host.Clock.MoveToSchoolDayMorning();
        var school = await IdAsync("/api/schools", new { name = "Lincoln Middle", timeZone = "UTC" });
        Science = await IdAsync("/api/groups", new { name = "Science 7", kind = "class", schoolId = school });
        Art = await IdAsync("/api/groups", new { name = "Art 7", kind = "class", schoolId = school });

        // Art meets on one day, at one hour, in a term long past: never in session during the test.
        (await Host.Client.PutAsJsonAsync($"/api/groups/{Art}/schedule", new
        {
            termStart = "2020-01-01", termEnd = "2020-06-30",
            meetings = new[] { new { days = new[] { "monday" }, start = "09:00", end = "10:00" } },
        })).EnsureSuccessStatusCode();

        Fleet = await StartFleetAsync(devices: 6, seed: 21);
        string[] names = ["Ada Lovelace", "Ben Okafor", "Cara Silva", "Dev Patel", "Eli Novak", "Fay Wong"];
        for (var i = 0; i < Fleet.Devices.Count; i++)
        {
            var parts = names[i].Split(' ');
            var student = await IdAsync("/api/people", new { kind = "student", givenName = parts[0], familyName = parts[1], schoolId = school, gradeLevel = 7 });
            (await Host.Client.PatchAsJsonAsync($"/api/devices/{Fleet.Devices[i].DeviceId}", new { assignedPersonId = student, schoolId = school })).EnsureSuccessStatusCode();
            (await Host.PostJsonAsync($"/api/groups/{(i < 4 ? Science : Art)}/members", new { personIds = new[] { student } })).EnsureSuccessStatusCode();
        }

        ScienceDevices = Fleet.Devices.Take(4).ToList();
        ArtDevices = Fleet.Devices.Skip(4).ToList();
        await TeacherAsync("rivera", "Ms. Rivera", Science);
        await TeacherAsync("chen", "Mr. Chen", Art);
    }

    private async Task TeacherAsync(string username, string displayName, Guid classId)
    {
        var person = await IdAsync("/api/people", new { kind = "staff", givenName = displayName, familyName = "Teacher" });
        (await Host.PostJsonAsync($"/api/groups/{classId}/members", new { personIds = new[] { person } })).EnsureSuccessStatusCode();
        await AccountAsync(username, "teacher", personId: person, displayName: displayName);
    }
}
