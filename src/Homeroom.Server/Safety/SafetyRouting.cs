using System.Globalization;
using Homeroom.Server.Accounts;
using Homeroom.Server.Audit;
using Homeroom.Server.Data;
using Homeroom.Server.Hosting;
using Homeroom.Server.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Options;

namespace Homeroom.Server.Safety;

/// <summary>
/// A school's safety routing: the ordered escalation contacts (one <c>e-mail&lt;TAB&gt;name</c> a line,
/// short and always read whole), the minutes an imminent alert may stay unacknowledged before each
/// next step, and quiet hours in minutes after local midnight with the days they start on.
/// </summary>
public sealed class SafetySettings
{
    public Guid SchoolId { get; set; }
    public string Contacts { get; set; } = string.Empty;
    public int? EscalateAfterMinutes { get; set; }
    public int? QuietStart { get; set; }
    public int? QuietEnd { get; set; }
    /// <summary>Comma-separated lower-case day names (<c>monday</c> ...), the days a quiet period starts on.</summary>
    public string QuietDays { get; set; } = string.Empty;
    public DateTime UpdatedAt { get; set; }
    public required string UpdatedBy { get; set; }
}

internal sealed class SafetySettingsConfiguration : IEntityTypeConfiguration<SafetySettings>
{
    public void Configure(EntityTypeBuilder<SafetySettings> builder)
    {
        builder.ToTable("safety_settings");
        builder.HasKey(s => s.SchoolId);
    }
}

/// <summary>One escalation contact: who, and where the e-mail goes.</summary>
public sealed record SafetyContactDto(string Name, string Email);

/// <summary>Quiet hours: local times (<c>HH:mm</c>) in the school's zone; a period may wrap midnight and belongs to the day it starts on.</summary>
public sealed record SafetyQuietHoursDto(string Start, string End, IReadOnlyList<string> Days);

/// <summary>
/// A school's safety routing as staff read it. <paramref name="EscalateAfterMinutes"/> is the school's own
/// delay (null: the district's, <paramref name="EffectiveEscalateAfterMinutes"/>); the district's contacts
/// are always the chain's last step (<paramref name="DistrictContacts"/> of them).
/// </summary>
public sealed record SafetySettingsDto(
    Guid SchoolId,
    string SchoolName,
    string TimeZone,
    IReadOnlyList<SafetyContactDto> Contacts,
    int? EscalateAfterMinutes,
    int EffectiveEscalateAfterMinutes,
    SafetyQuietHoursDto? QuietHours,
    int DistrictContacts,
    DateTime? UpdatedAt,
    string? UpdatedBy);

/// <summary>One contact in a settings request.</summary>
public sealed record SafetyContactRequest(string? Name, string? Email);

/// <summary>Quiet hours in a settings request: start and end as <c>HH:mm</c>, the days (<c>monday</c> ... <c>sunday</c>) a period starts on.</summary>
public sealed record SafetyQuietHoursRequest(string? Start, string? End, IReadOnlyList<string>? Days);

/// <summary>A school's new safety routing (the whole of it: contacts left out are removed, no quietHours: none).</summary>
public sealed record SafetySettingsRequest(IReadOnlyList<SafetyContactRequest>? Contacts, int? EscalateAfterMinutes, SafetyQuietHoursRequest? QuietHours);

/// <summary>A school the staff member may see safety routing for.</summary>
public sealed record SafetySchoolDto(Guid Id, string Name);

/// <summary>One step of an escalation chain: a school's contact, or the district's contacts together (the last step).</summary>
public sealed record EscalationStep(string Label, IReadOnlyList<string> Addresses);

/// <summary>What the escalation and the quiet hours need of a school: its chain, its delay and its quiet hours.</summary>
public sealed record SafetyRoute(IReadOnlyList<EscalationStep> Chain, TimeSpan EscalateAfter, QuietHours? Quiet);

/// <summary>
/// Quiet hours: from <see cref="Start"/> to <see cref="End"/> (minutes after local midnight) in
/// <see cref="Zone"/>, on the periods that start on one of <see cref="Days"/>. An end before the start
/// wraps midnight: Friday 22:00 to 06:00 is quiet until Saturday 06:00.
/// </summary>
public sealed record QuietHours(int Start, int End, IReadOnlySet<DayOfWeek> Days, TimeZoneInfo Zone)
{
    public bool Contains(DateTime utc)
    {
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), Zone);
        var minute = (int)local.TimeOfDay.TotalMinutes;
        if (Start < End)
        {
            return Days.Contains(local.DayOfWeek) && minute >= Start && minute < End;
        }

        // Wrapping: the evening part belongs to today, the morning part to the period that began yesterday.
        return (minute >= Start && Days.Contains(local.DayOfWeek))
            || (minute < End && Days.Contains(local.AddDays(-1).DayOfWeek));
    }
}

/// <summary>
/// Reads and changes schools' safety routing (safety leads their school, district-wide staff every
/// school), validated whole, audited; and, for <see cref="SafetyEscalation"/>, <see cref="SafetyIngestion"/>
/// and <see cref="SafetyQuietHours"/>, each school's chain, delay and quiet hours.
/// </summary>
public sealed class SafetySettingsDirectory(
    IDbContextFactory<HomeroomDbContext> dbFactory,
    AuditTrail audit,
    TimeProvider time,
    IOptions<SafetyOptions> options)
{
    public const int MaxContacts = 10;
    public const int MaxContactNameLength = 100;
    public const int MinEscalateAfterMinutes = 1;
    public const int MaxEscalateAfterMinutes = 1440;

    private static readonly string[] DayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

    /// <summary>The day names, Monday first, as the API and the console spell them.</summary>
    public static IReadOnlyList<string> Days { get; } = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

    /// <summary>The schools of the scope, by name (the settings page's choice).</summary>
    public async Task<List<SafetySchoolDto>> SchoolsAsync(StaffScope scope, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadSafety);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await scope.Schools(db).OrderBy(s => s.Name).Select(s => new SafetySchoolDto(s.Id, s.Name)).ToListAsync(cancellationToken);
    }

    /// <summary>A school's routing (the district's defaults when never set); null when the school is not in the scope.</summary>
    public async Task<SafetySettingsDto?> GetAsync(StaffScope scope, Guid schoolId, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ReadSafety);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var school = await scope.Schools(db).Where(s => s.Id == schoolId).Select(s => new { s.Name, s.TimeZone }).FirstOrDefaultAsync(cancellationToken);
        if (school is null)
        {
            return null;
        }

        var settings = await db.Set<SafetySettings>().AsNoTracking().FirstOrDefaultAsync(s => s.SchoolId == schoolId, cancellationToken);
        return ToDto(schoolId, school.Name, school.TimeZone, settings);
    }

    /// <summary>Replaces a school's routing after checking all of it (nothing is saved when one part is wrong). Audited. Null when the school is not in the scope.</summary>
    public async Task<SafetySettingsDto?> UpdateAsync(StaffScope scope, Guid schoolId, SafetySettingsRequest request, CancellationToken cancellationToken = default)
    {
        scope.EnsureCan(Permission.ManageSafety);
        var (contacts, quiet) = Validate(request);

        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var school = await scope.Schools(db).Where(s => s.Id == schoolId).Select(s => new { s.Name, s.TimeZone }).FirstOrDefaultAsync(cancellationToken);
        if (school is null)
        {
            return null;
        }

        var settings = await db.Set<SafetySettings>().FirstOrDefaultAsync(s => s.SchoolId == schoolId, cancellationToken);
        if (settings is null)
        {
            settings = new SafetySettings { SchoolId = schoolId, UpdatedBy = scope.Username };
            db.Add(settings);
        }

        settings.Contacts = string.Join('\n', contacts.Select(c => $"{c.Email}\t{c.Name}"));
        settings.EscalateAfterMinutes = request.EscalateAfterMinutes;
        settings.QuietStart = quiet?.Start;
        settings.QuietEnd = quiet?.End;
        settings.QuietDays = quiet is null ? string.Empty : string.Join(',', quiet.Value.Days);
        settings.UpdatedAt = time.GetUtcNow().UtcDateTime;
        settings.UpdatedBy = scope.Username;

        var details = $"{contacts.Count} escalation contact(s) ({string.Join(", ", contacts.Select(c => c.Email))}); "
            + $"escalate after {(request.EscalateAfterMinutes is { } m ? $"{m} min" : "the district's delay")}; "
            + (quiet is { } q ? $"quiet {Clock(q.Start)}–{Clock(q.End)} on {string.Join(", ", q.Days)}" : "no quiet hours");
        audit.Record(db, "safety.settings.update", "school", schoolId.ToString(), details, schoolId);
        await db.SaveChangesAsync(cancellationToken);
        return ToDto(schoolId, school.Name, school.TimeZone, settings);
    }

    /// <summary>
    /// Where a school's (or a school-less device's) imminent alerts escalate: the school's contacts in
    /// order, then the district's contacts as one last step; its delay; its quiet hours.
    /// </summary>
    internal async Task<SafetyRoute> RouteAsync(HomeroomDbContext db, Guid? schoolId, CancellationToken cancellationToken)
    {
        var district = options.Value.EscalationContacts;
        var delay = options.Value.EscalateAfter;
        var chain = new List<EscalationStep>();
        QuietHours? quiet = null;
        if (schoolId is { } id)
        {
            var row = await db.Set<SafetySettings>().AsNoTracking().Where(s => s.SchoolId == id)
                .Select(s => new { Settings = s, Zone = db.Schools.Where(x => x.Id == s.SchoolId).Select(x => x.TimeZone).FirstOrDefault() })
                .FirstOrDefaultAsync(cancellationToken);
            if (row is not null)
            {
                chain.AddRange(ParseContacts(row.Settings.Contacts).Select(c => new EscalationStep($"{c.Name} <{c.Email}>", [c.Email])));
                if (row.Settings.EscalateAfterMinutes is { } minutes)
                {
                    delay = TimeSpan.FromMinutes(minutes);
                }

                if (row.Settings is { QuietStart: { } start, QuietEnd: { } end })
                {
                    var zone = row.Zone is not null && TimeZoneInfo.TryFindSystemTimeZoneById(row.Zone, out var found) ? found : TimeZoneInfo.Utc;
                    var days = row.Settings.QuietDays.Split(',', StringSplitOptions.RemoveEmptyEntries)
                        .Select(d => (DayOfWeek)Array.IndexOf(DayNames, d)).Where(d => (int)d >= 0).ToHashSet();
                    quiet = new QuietHours(start, end, days, zone);
                }
            }
        }

        if (district.Count > 0)
        {
            chain.Add(new EscalationStep("the district's contacts", district));
        }

        return new SafetyRoute(chain, delay, quiet);
    }

    private SafetySettingsDto ToDto(Guid schoolId, string schoolName, string timeZone, SafetySettings? s) => new(
        schoolId,
        schoolName,
        timeZone,
        ParseContacts(s?.Contacts),
        s?.EscalateAfterMinutes,
        s?.EscalateAfterMinutes ?? (int)options.Value.EscalateAfter.TotalMinutes,
        s is { QuietStart: { } start, QuietEnd: { } end }
            ? new SafetyQuietHoursDto(Clock(start), Clock(end), Days.Where(d => s.QuietDays.Split(',').Contains(d)).ToList())
            : null,
        options.Value.EscalationContacts.Count,
        s?.UpdatedAt,
        s?.UpdatedBy);

    private static List<SafetyContactDto> ParseContacts(string? contacts) => string.IsNullOrEmpty(contacts)
        ? []
        : [.. contacts.Split('\n').Select(line => line.Split('\t', 2)).Select(p => new SafetyContactDto(p.Length > 1 ? p[1] : p[0], p[0]))];

    private static string Clock(int minutes) => $"{minutes / 60:00}:{minutes % 60:00}";

    private static (List<SafetyContactDto> Contacts, (int Start, int End, List<string> Days)? Quiet) Validate(SafetySettingsRequest request)
    {
        var validation = new Validation();
        var contacts = new List<SafetyContactDto>();
        var given = request.Contacts ?? [];
        if (given.Count > MaxContacts)
        {
            validation.Add("contacts", $"At most {MaxContacts} contacts.");
        }
        else
        {
            for (var i = 0; i < given.Count; i++)
            {
                var name = given[i]?.Name?.Trim();
                var email = given[i]?.Email?.Trim();
                if (string.IsNullOrEmpty(name) || name.Length > MaxContactNameLength || name.Any(char.IsControl))
                {
                    validation.Add($"contacts[{i}].name", $"A name of at most {MaxContactNameLength} characters, on one line.");
                }

                if (string.IsNullOrEmpty(email) || !NotificationSettingsDirectory.IsEmailAddress(email))
                {
                    validation.Add($"contacts[{i}].email", $"A valid e-mail address (name@example.org, at most {NotificationSettingsDirectory.MaxEmailAddressLength} characters).");
                }
                else if (contacts.Any(c => string.Equals(c.Email, email, StringComparison.OrdinalIgnoreCase)))
                {
                    validation.Add($"contacts[{i}].email", "This address is already in the chain.");
                }
                else if (!string.IsNullOrEmpty(name))
                {
                    contacts.Add(new SafetyContactDto(name, email));
                }
            }
        }

        validation.Range("escalateAfterMinutes", request.EscalateAfterMinutes, MinEscalateAfterMinutes, MaxEscalateAfterMinutes);

        (int, int, List<string>)? quiet = null;
        if (request.QuietHours is { } hours)
        {
            var start = ParseClock(hours.Start);
            var end = ParseClock(hours.End);
            if (start is null)
            {
                validation.Add("quietHours.start", "A local time such as 21:00 (HH:mm).");
            }

            if (end is null)
            {
                validation.Add("quietHours.end", "A local time such as 07:00 (HH:mm).");
            }
            else if (start == end)
            {
                validation.Add("quietHours.end", "Must differ from the start (an end before the start wraps midnight).");
            }

            var days = (hours.Days ?? []).Select(d => d?.Trim().ToLowerInvariant() ?? string.Empty).Distinct(StringComparer.Ordinal).ToList();
            if (days.Count == 0)
            {
                validation.Add("quietHours.days", "At least one day the quiet hours start on.");
            }
            else if (days.Count > Days.Count || days.FirstOrDefault(d => !Days.Contains(d)) is not null)
            {
                var bad = days.FirstOrDefault(d => !Days.Contains(d)) ?? string.Empty;
                validation.Add("quietHours.days", $"Unknown day '{(bad.Length > 20 ? bad[..20] + "…" : bad)}'; one of {string.Join(", ", Days)}.");
            }

            if (start is { } s && end is { } e)
            {
                quiet = (s, e, Days.Where(days.Contains).ToList());
            }
        }

        if (!validation.IsValid)
        {
            throw new RequestValidationException(validation.Errors);
        }

        return (contacts, quiet);
    }

    private static int? ParseClock(string? value) =>
        value is { Length: 5 } && TimeOnly.TryParseExact(value, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)
            ? t.Hour * 60 + t.Minute
            : null;
}
