using System.Net.Http.Json;
using System.Text.Json;
using Homeroom.Server.Data;
using Homeroom.Server.Locations;
using Homeroom.Server.Safety;
using Homeroom.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Homeroom.Server.Tests.Accounts;

/// <summary>One school's resources, one of each kind, for visiting every endpoint in its own school and another.</summary>
public sealed class SchoolResources
{
    public required string Name { get; init; }
    public Guid School { get; set; }
    public Guid Class { get; set; }
    public Guid Teacher { get; set; }
    public Guid Student { get; set; }
    public Guid Device { get; set; }
    public Guid Token { get; set; }
    public Guid Command { get; set; }
    public Guid Alert { get; set; }
    public Guid Zone { get; set; }
    public Guid Profile { get; set; }
    public Guid Assignment { get; set; }
    public Guid Account { get; set; }
    public Guid SafetyAlert { get; set; }
    public Guid SafetyScreenshot { get; set; }
    public Guid HelpRequest { get; set; }
}

/// <summary>
/// A district of two schools, North (where every test account works) and South (another school),
/// each with a class in session, its teacher and student, the student's device with a command, an
/// alert and a location track, an enrollment token, a zone, a school profile with an assignment and a
/// staff account; and one signed-in account per role, limited to North (the district administrator
/// is district-wide). Built through the API as the bootstrap district administrator; the alert and
/// the track are stored directly, as the location pipeline would.
/// </summary>
public sealed class AccessDistrict
{
    public static readonly string[] Roles = ["districtAdmin", "schoolAdmin", "itTechnician", "teacher", "safetyLead", "readOnly"];

    private AccessDistrict(HomeroomHost host) => Host = host;

    public HomeroomHost Host { get; }

    public SchoolResources North { get; } = new() { Name = "North" };

    public SchoolResources South { get; } = new() { Name = "South" };

    /// <summary>A signed-in console-like client per role (cookie session and anti-forgery header).</summary>
    public Dictionary<string, HttpClient> Clients { get; } = [];

    public static async Task<AccessDistrict> CreateAsync(HomeroomHost host)
    {
        // A school day morning (Wednesday 10:00 UTC), so classes are in session and ad-hoc sessions may start.
        var now = host.Clock.GetUtcNow();
        var wednesday = now.Date.AddDays(((int)DayOfWeek.Wednesday - (int)now.DayOfWeek + 7) % 7).AddHours(10);
        host.Clock.Advance(new DateTimeOffset(wednesday, TimeSpan.Zero) - now);

        var district = new AccessDistrict(host);
        foreach (var school in new[] { district.North, district.South })
        {
            await district.BuildSchoolAsync(school);
        }

        foreach (var role in Roles)
        {
            district.Clients[role] = await host.SignInAsNewAccountAsync(
                $"{role.ToLowerInvariant()}-north", role,
                personId: role == "teacher" ? district.North.Teacher : null,
                schoolId: role == "districtAdmin" ? null : district.North.School);
        }

        return district;
    }

    public async Task<Guid> IdAsync(string path, object body) => (await Host.PostJsonAsync<JsonElement>(path, body)).GetProperty("id").GetGuid();

    private async Task BuildSchoolAsync(SchoolResources s)
    {
        s.School = await IdAsync("/api/schools", new { name = s.Name, timeZone = "UTC" });
        s.Class = await IdAsync("/api/groups", new { name = $"{s.Name} 5A", kind = "class", schoolId = s.School });
        s.Teacher = await IdAsync("/api/people", new { kind = "staff", givenName = "Teacher", familyName = s.Name, schoolId = s.School });
        s.Student = await IdAsync("/api/people", new { kind = "student", givenName = "Student", familyName = s.Name, schoolId = s.School, gradeLevel = 5 });
        s.Token = (await Host.PostJsonAsync<JsonElement>("/api/enrollment-tokens", new { name = $"{s.Name} carts", schoolId = s.School })).GetProperty("id").GetGuid();
        var secret = await Host.CreateTokenAsync(schoolId: s.School);
        s.Device = (await Host.EnrollAsync(secret, $"SN-{s.Name}-{Guid.NewGuid():N}"[..24])).DeviceId;
        (await Host.Client.PatchAsJsonAsync($"/api/devices/{s.Device}", new { assignedPersonId = s.Student })).EnsureSuccessStatusCode();
        (await Host.PostJsonAsync($"/api/groups/{s.Class}/members", new { personIds = new[] { s.Teacher, s.Student } })).EnsureSuccessStatusCode();
        var today = Host.Clock.GetUtcNow().UtcDateTime.Date;
        var schedule = new
        {
            termStart = today.AddDays(-30).ToString("yyyy-MM-dd"),
            termEnd = today.AddDays(60).ToString("yyyy-MM-dd"),
            meetings = new[] { new { days = new[] { "monday", "tuesday", "wednesday", "thursday", "friday" }, start = "08:00", end = "15:00" } },
        };
        (await Host.Client.PutAsJsonAsync($"/api/groups/{s.Class}/schedule", schedule)).EnsureSuccessStatusCode();
        s.Command = (await Host.PostJsonAsync<JsonElement>("/api/commands", new { kind = "locate", deviceIds = new[] { s.Device } })).GetProperty("id").GetGuid();
        s.Zone = await ZoneAsync(s.School, $"{s.Name} campus");
        s.Profile = await IdAsync("/api/profiles", new { name = $"{s.Name} rules", schoolId = s.School, settings = new { } });
        s.Assignment = await IdAsync("/api/assignments", new { profileId = s.Profile, level = "school", scopeId = s.School.ToString() });
        s.Account = await IdAsync("/api/accounts", new { username = $"staff-{s.Name.ToLowerInvariant()}", displayName = "Staff", password = "a long enough passphrase", role = "readOnly", schoolId = s.School });

        var dbFactory = Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
        await using var db = await dbFactory.CreateDbContextAsync();
        var at = Host.Clock.GetUtcNow().UtcDateTime.AddMinutes(-5);
        s.Alert = Guid.CreateVersion7();
        db.Alerts.Add(new Alert { Id = s.Alert, Kind = "outOfBounds", DeviceId = s.Device, RaisedAt = at, Latitude = 45.5, Longitude = -73.5, Details = "left campus" });
        db.DeviceLocations.Add(new DeviceLocation { DeviceId = s.Device, At = at, Latitude = 45.5, Longitude = -73.5, AccuracyMeters = 10 });
        s.SafetyAlert = Guid.CreateVersion7();
        s.SafetyScreenshot = Guid.CreateVersion7();
        var evidence = Guid.CreateVersion7();
        db.Set<SafetyAlert>().Add(new SafetyAlert
        {
            Id = s.SafetyAlert, DeviceId = s.Device, PersonId = s.Student, SchoolId = s.School, Category = "bullying", Phrase = "loser", Severity = "medium",
            SeverityRank = 2, Score = 30, Status = SafetyStatuses.New, Count = 1, FirstSeenAt = at, LastSeenAt = at, UpdatedAt = at,
        });
        db.Set<SafetyEvidence>().Add(new SafetyEvidence
        {
            Id = evidence, AlertId = s.SafetyAlert, OccurredAt = at, ReceivedAt = at, Source = "typed", Excerpt = "what a loser", ExcerptStart = 0,
            Severity = "medium", Score = 30, ExplanationJson = "{}", CaptureId = s.SafetyScreenshot,
        });
        db.Set<SafetyScreenshot>().Add(new SafetyScreenshot { Id = s.SafetyScreenshot, AlertId = s.SafetyAlert, EvidenceId = evidence, CapturedAt = at, ReceivedAt = at, Format = 1, Content = [0xFF, 0xD8, 0xFF] });
        s.HelpRequest = Guid.CreateVersion7();
        db.Set<Homeroom.Server.Support.HelpRequest>().Add(new Homeroom.Server.Support.HelpRequest
        {
            Id = s.HelpRequest, DeviceId = s.Device, ClientId = Guid.NewGuid(), PersonId = s.Student, SchoolId = s.School, GroupId = s.Class,
            Note = "cannot log in", HasScreenshot = true, Status = Homeroom.Contracts.Agents.HelpStatuses.WithTeacher, CreatedAt = at, UpdatedAt = at,
        });
        db.Set<Homeroom.Server.Support.HelpScreenshot>().Add(new Homeroom.Server.Support.HelpScreenshot { RequestId = s.HelpRequest, Content = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0xFF, 0xD9] });
        await db.SaveChangesAsync();
    }

    public async Task<Guid> ZoneAsync(Guid school, string name) => (await Host.PostJsonAsync<JsonElement>("/api/zones", new
    {
        type = "Feature",
        properties = new { name, kind = "campus", schoolId = school.ToString() },
        geometry = new { type = "Point", coordinates = new[] { -73.5, 45.5 } },
    }.WithRadius())).GetProperty("id").GetGuid();

    /// <summary>How many changes the audit log records (sign-ins and reads of personal data left out): a refused write adds none.</summary>
    public async Task<int> ChangeCountAsync()
    {
        var dbFactory = Host.Services.GetRequiredService<IDbContextFactory<HomeroomDbContext>>();
        await using var db = await dbFactory.CreateDbContextAsync();
        return await db.AuditLog.CountAsync(e => !e.Action.StartsWith("auth.") && !e.Action.EndsWith(".read"));
    }
}

internal static class ZoneBodies
{
    /// <summary>A circle zone: a Point with a radius property.</summary>
    public static object WithRadius(this object feature)
    {
        var node = JsonSerializer.SerializeToNode(feature)!;
        node["properties"]!["radius"] = 300;
        return node;
    }
}
