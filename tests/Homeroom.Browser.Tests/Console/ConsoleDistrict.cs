using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Browser.Tests.Infrastructure;
using Homeroom.Server.Data;
using Homeroom.Server.Tests.Infrastructure;
using Homeroom.Simulator.Fleet;
using Microsoft.Playwright;

namespace Homeroom.Browser.Tests.Console;

/// <summary>
/// A small district on a real server for the console tests: one school; Ms. Rivera's Science class
/// (four students, each with a simulated Chromebook) and Mr. Chen's Art class (two students), whose
/// weekly meeting is never now; Chromium to drive the console.
/// </summary>
public sealed class ConsoleDistrict : IAsyncLifetime
{
    public const string TeacherPassword = "a long enough passphrase";

    public HomeroomHost Host { get; private set; } = null!;
    public Fleet Fleet { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public Guid Science { get; private set; }
    public Guid Art { get; private set; }
    public IReadOnlyList<VirtualDevice> ScienceDevices { get; private set; } = [];
    public IReadOnlyList<VirtualDevice> ArtDevices { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Host = await HomeroomHost.StartAsync(DatabaseProvider.Sqlite, "Homeroom:Agents:HeartbeatIntervalSeconds=15", "DetailedErrors=true");

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

        var token = await Host.CreateTokenAsync();
        Fleet = new Fleet(new FleetOptions
        {
            Server = Host.BaseAddress, EnrollToken = token, Devices = 6, Seed = 21, AlwaysOnline = true, SlowAnswerChance = 0,
        });
        Fleet.Start();
        await Poll.UntilAsync(() => Task.FromResult(Fleet.Devices.All(d => d.DeviceId is not null)), TimeSpan.FromSeconds(60));
        (await Fleet.WaitForConnectedAsync(6, TimeSpan.FromSeconds(60))).ShouldBeTrue();

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

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Browsers.LaunchAsync(Playwright);
    }

    private async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task TeacherAsync(string username, string displayName, Guid classId)
    {
        var person = await IdAsync("/api/people", new { kind = "staff", givenName = displayName, familyName = "Teacher" });
        (await Host.PostJsonAsync($"/api/groups/{classId}/members", new { personIds = new[] { person } })).EnsureSuccessStatusCode();
        (await Host.PostJsonAsync("/api/accounts", new { username, displayName, password = TeacherPassword, role = "teacher", personId = person })).EnsureSuccessStatusCode();
    }

    /// <summary>A new browser context (its own cookies) signed in through the console's sign-in page.</summary>
    public Task<IPage> SignInAsync(string username, string password) =>
        ConsoleSignIn.SignInAsync(Browser, Host.BaseAddress, ConsoleErrors, username, password);

    /// <summary>Errors each page's browser console printed, to assert there were none.</summary>
    public Dictionary<IPage, List<string>> ConsoleErrors { get; } = [];

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        Playwright?.Dispose();
        if (Fleet is not null)
        {
            await Fleet.DisposeAsync();
        }

        await Host.DisposeAsync();
    }
}
