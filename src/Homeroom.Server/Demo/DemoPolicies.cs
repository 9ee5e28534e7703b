using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Homeroom.Rules.Policies;
using Homeroom.Server.Data;
using Homeroom.Server.Filtering;
using Homeroom.Server.Locations;
using Homeroom.Server.Policies;
using Homeroom.Simulator.Fleet;
using Microsoft.EntityFrameworkCore;

namespace Homeroom.Server.Demo;

/// <summary>
/// The demo district's rules: a campus zone and the district boundary, small category lists for the
/// sites the simulated students visit (real districts import UT1 instead), and the profiles a
/// district would start with: school-day filtering and bounds, gentler rules at home, a night curfew.
/// Everything it creates is named "(demo)" so <see cref="RemoveAsync"/> finds it.
/// </summary>
public static class DemoPolicies
{
    private const string Suffix = " (demo)";

    private static readonly (string Category, string[] Hosts)[] Lists =
    [
        ("games", ["coolmathgames.com", "poki.com", "roblox.com"]),
        ("social_networks", ["tiktok.com", "instagram.com"]),
        ("chat", ["discord.com"]),
        ("redirector", ["unblocked-games.example.net"]),
    ];

    private static readonly string[] SchoolDays = ["monday", "tuesday", "wednesday", "thursday", "friday"];
    private static readonly string[] EveryDay = [.. SchoolDays, "saturday", "sunday"];

    /// <summary>Adds the demo's rules; profiles are saved before the assignments that refer to them.</summary>
    public static async Task SeedAsync(HomeroomDbContext db, GeoPoint campus, DateTime now, CancellationToken cancellationToken)
    {
        var campusZone = Zone("Maple Valley campus", "campus", campus, 400, now);
        var districtZone = Zone("Maple Valley district boundary", "district", campus, 12_000, now);
        db.Zones.AddRange(campusZone, districtZone);

        foreach (var (category, hosts) in Lists)
        {
            using var compressed = new MemoryStream();
            using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                gzip.Write(Encoding.UTF8.GetBytes(string.Join('\n', hosts)));
            }

            db.FilterLists.Add(new FilterListRecord
            {
                Id = Guid.CreateVersion7(), Name = $"Sample list: {category}{Suffix}", Format = FilterListFormats.Plain, Category = category,
                Content = compressed.ToArray(), ContentBytes = hosts.Sum(h => h.Length + 1), Entries = hosts.Length, SkippedLines = 0,
                ReportJson = JsonSerializer.Serialize(new StoredReport([], [])), CreatedAt = now, UpdatedAt = now,
            });
        }

        var home = Profile("Home and weekends", new { webFilter = new { blockedCategories = new[] { "redirector" }, safeSearch = true } }, now);
        var schoolDay = Profile("School day", new
        {
            webFilter = new { blockedCategories = new[] { "games", "social_networks", "chat", "redirector" }, safeSearch = true, youTube = "moderate" },
            restrictions = new { appStore = false },
            location = new { allowedZones = new[] { campusZone.Id.ToString() }, outOfBoundsMessage = "You have left campus during school hours. Please return to school." },
        }, now);
        var curfew = Profile("Night curfew", new { device = new { locked = true, lockMessage = "Devices rest from 22:00 to 06:00. Good night!" } }, now);
        // Safety monitoring as a district that chose it might set it: typed text scanned too, with a
        // screenshot for the evidence, and only on school grounds (safety.atHome stays off), at any hour.
        var safety = Profile("Student safety", new { monitoring = new { safety = true }, safety = new { typedText = true, screenshots = true } }, now);
        db.Profiles.AddRange(home, schoolDay, curfew, safety);
        await db.SaveChangesAsync(cancellationToken);
        db.PolicyAssignments.AddRange(
            Assign(home, null, now),
            Assign(safety, null, now),
            Assign(schoolDay, new ConditionDto([new ScheduleWindowDto(SchoolDays, "08:00", "15:00")], null, null), now),
            Assign(curfew, new ConditionDto([new ScheduleWindowDto(EveryDay, "22:00", "06:00")], null, null), now));
    }

    /// <summary>Deletes the demo's zones, lists, profiles and (with them) assignments.</summary>
    public static async Task<int> RemoveAsync(HomeroomDbContext db, CancellationToken cancellationToken) =>
        await db.Profiles.Where(p => p.Name.EndsWith(Suffix)).ExecuteDeleteAsync(cancellationToken)
        + await db.FilterLists.Where(l => l.Name.EndsWith(Suffix)).ExecuteDeleteAsync(cancellationToken)
        + await db.Zones.Where(z => z.Name.EndsWith(Suffix)).ExecuteDeleteAsync(cancellationToken);

    private static Zone Zone(string name, string kind, GeoPoint center, double radiusMeters, DateTime now) => new()
    {
        Id = Guid.CreateVersion7(), Name = name + Suffix, Kind = kind, CreatedAt = now, UpdatedAt = now,
        GeometryJson = JsonSerializer.Serialize(new
        {
            type = "Feature",
            properties = new { radius = radiusMeters },
            geometry = new { type = "Point", coordinates = new[] { center.Longitude, center.Latitude } },
        }),
    };

    private static Profile Profile(string name, object settings, DateTime now)
    {
        var (parsed, errors) = PolicySettings.Parse(JsonSerializer.SerializeToElement(settings));
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Demo profile '{name}' is invalid: {string.Join("; ", errors)}");
        }

        return new Profile { Id = Guid.CreateVersion7(), Name = name + Suffix, SettingsJson = PolicySettings.ToDocument(parsed).ToJsonString(), CreatedAt = now, UpdatedAt = now };
    }

    private static PolicyAssignmentRecord Assign(Profile profile, ConditionDto? condition, DateTime now) => new()
    {
        Id = Guid.CreateVersion7(), ProfileId = profile.Id, Level = ScopeLevel.District, Priority = 0, CreatedAt = now,
        ConditionJson = condition is null ? null : JsonSerializer.Serialize(condition, PolicyModel.Json),
    };
}
